# The diagnosis rules are pure functions of gathered facts: here each rule gets facts built by hand
# (or read from the corpus) and must produce its catalog id, with its evidence, or pass.
BeforeAll {
    $modulePath = if ($env:MPTCPTOOLS_MODULE) { $env:MPTCPTOOLS_MODULE } else { "$PSScriptRoot/../output/MptcpTools" }
    Import-Module $modulePath -Force
    $corpusDir = Join-Path $PSScriptRoot 'Fixtures/corpus/tcpdump'

    function New-Sysctls([hashtable] $Extra = @{}) {
        $d = [Collections.Generic.Dictionary[string, string]]::new()
        @{ 'net.mptcp.enabled' = '1'; 'net.mptcp.pm_type' = '0'; 'net.mptcp.path_manager' = 'kernel'; 'net.mptcp.blackhole_timeout' = '3600' }.GetEnumerator() | ForEach-Object { $d[$_.Key] = $_.Value }
        foreach ($k in $Extra.Keys) { $d[$k] = $Extra[$k] }
        return , $d
    }
    function New-Kernel([hashtable] $Sysctls = @{}, [bool] $Present = $true, $Persistent = @(), [uint32] $Subflows = 2, [uint32] $Accepted = 2) {
        $s = if ($Present) { New-Sysctls $Sysctls } else { [Collections.Generic.Dictionary[string, string]]::new() }
        [MptcpTools.Kernel.MptcpKernelState]::Create('6.18.0', $Present, $null, $s, [MptcpTools.Kernel.MptcpLimit]::new($Subflows, $Accepted), 1,
            [MptcpTools.Kernel.PersistentSysctlSetting[]]@($Persistent), [string[]]@())
    }
    function New-Endpoint([string] $Address, [string] $Flags = 'Subflow', [string] $Dev = 'eth1') {
        [MptcpTools.Kernel.MptcpEndpoint]::new(1, [ipaddress]$Address, 0, [uint32][MptcpTools.Kernel.MptcpEndpointFlags]$Flags, 3, $Dev)
    }
    function Invoke-Rules([hashtable] $Facts) {
        if (-not $Facts.ContainsKey('Kernel')) { $Facts.Kernel = New-Kernel }
        if (-not $Facts.ContainsKey('Endpoints')) { $Facts.Endpoints = [MptcpTools.Kernel.MptcpEndpoint[]]@(New-Endpoint '198.51.100.2') }
        [MptcpTools.Diagnosis.DiagnosisRules]::Evaluate([MptcpTools.Diagnosis.HostFacts]$Facts)
    }
    function Get-Id($Findings, [string] $Id) { @($Findings | Where-Object { $_.Id -eq $Id -and "$($_.Severity)" -ne 'Passed' }) }
}

Describe 'The finding catalog' {
    It 'holds every id the issue named' {
        $required = 'MptcpUnsupported', 'MptcpDisabled', 'ObsoleteSysctlKey', 'SysctlNotPersistent', 'NoSubflowEndpoints', 'SubflowLimitZero',
        'AddAddrAcceptedZero', 'EndpointAddressMissing', 'EndpointsExceedLimit', 'UserspacePmWithoutDaemon', 'DaemonNotRunning', 'DaemonConfigInvalid',
        'DaemonPluginMissing', 'NetworkManagerMptcpDisabled', 'FirewallDropsMptcpOption', 'FirewallStripsMptcpOption', 'FirewallBlocksSubflowPath',
        'StrictReversePathFilter', 'MissingSourceRoute', 'ApplicationNotUsingMptcp', 'PeerNotMptcpCapable', 'MptcpSynDropped', 'JoinNotAnswered',
        'JoinRejected', 'PlainTcpOnly'
        $catalog = [MptcpTools.Diagnosis.DiagnosisRules]::Catalog
        foreach ($id in $required) { $catalog | Should -Contain $id }
    }

    It 'is the set of FindingIds, each declared by a rule, each documented in about_MptcpTools, and nothing else documented' {
        $catalog = @([MptcpTools.Diagnosis.DiagnosisRules]::Catalog | Sort-Object)
        $ids = @([MptcpTools.Diagnosis.FindingIds]::All | Sort-Object)
        $catalog | Should -Be $ids -Because 'every id constant has a rule that declares it, and every declared id is a constant'
        $about = Get-Content -Raw (Join-Path $modulePath 'en-US/about_MptcpTools.help.txt')
        $findings = ($about -split '(?m)^FINDINGS\r?$')[1] -split '(?m)^HEALTH CHECKS'
        $documented = @([regex]::Matches($findings[0], '(?m)^    ([A-Za-z]+)\r?\n        Cause:') | ForEach-Object { $_.Groups[1].Value } | Sort-Object)
        $documented | Should -Be $ids -Because 'about_MptcpTools documents exactly the ids the rules can emit'
        foreach ($id in $catalog) {
            $about | Should -Match "(?m)^    $id\r?\n        Cause: .+\r?\n(.+\r?\n)*?        Evidence: .+\r?\n(.+\r?\n)*?        Fix: " -Because "$id must be documented with cause, evidence and fix"
        }
    }

    It 'refuses a finding whose id its rule did not declare' {
        $bad = [MptcpTools.Diagnosis.DiagnosisRules]::All | ForEach-Object { $_.Ids } | Where-Object { $_ -notin [MptcpTools.Diagnosis.FindingIds]::All }
        $bad | Should -BeNullOrEmpty
        foreach ($rule in [MptcpTools.Diagnosis.DiagnosisRules]::All) {
            $rule.Ids.Count | Should -BeGreaterThan 0
            ($rule.GetType().GetMethod('Finding', [Reflection.BindingFlags]'NonPublic,Instance')) | Should -Not -BeNullOrEmpty
        }
    }

    It 'orders findings by severity and passes only what it checked' {
        $f = Invoke-Rules @{ Kernel = (New-Kernel @{ 'net.mptcp.enabled' = '0' } -Accepted 0) }
        $order = @($f | ForEach-Object { [int]$_.Severity })
        ($order | Sort-Object) | Should -Be $order
        (Get-Id $f 'MptcpDisabled').Count | Should -Be 1
        @($f | Where-Object { $_.Id -eq 'MptcpUnsupported' -and "$($_.Severity)" -eq 'Passed' }).Count | Should -Be 1
        $f.Id | Should -Not -Contain 'PeerNotMptcpCapable'   # no probe was asked for
    }
}

Describe 'Kernel and sysctl rules' {
    It 'MptcpUnsupported: a kernel without MPTCP, and nothing else about MPTCP' {
        $f = Invoke-Rules @{ Kernel = (New-Kernel -Present $false) }
        (Get-Id $f 'MptcpUnsupported')[0].Severity | Should -Be 'Error'
        (Get-Id $f 'MptcpDisabled').Count | Should -Be 0
    }

    It 'MptcpDisabled: net.mptcp.enabled=0, repairable' {
        $m = (Get-Id (Invoke-Rules @{ Kernel = (New-Kernel @{ 'net.mptcp.enabled' = '0' }) }) 'MptcpDisabled')[0]
        $m.Severity | Should -Be 'Error'
        $m.Remediation | Should -Match 'sysctl -w net.mptcp.enabled=1'
        $m.Repair.Count | Should -Be 1
        $m.Repair[0].Kind | Should -Be 'SetSysctl'
        $m.Repair[0].Name | Should -Be 'net.mptcp.enabled'
        $m.Repair[0].Value | Should -Be '1'
        $m.Repair[0].Persistent | Should -BeTrue
        $m.SafeToRepair | Should -BeTrue
        $m.Remediation | Should -Be $m.Repair[0].Command
        $m.Evidence[0].Enabled | Should -BeFalse
    }

    It 'ObsoleteSysctlKey and SysctlNotPersistent from the persistent files, with file and line' {
        $old = [MptcpTools.Kernel.PersistentSysctlSetting]::new('net.mptcp.mptcp_enabled', '1', '/etc/sysctl.conf', 12, $false, 1)
        $off = [MptcpTools.Kernel.PersistentSysctlSetting]::new('net.mptcp.enabled', '0', '/etc/sysctl.d/99-local.conf', 3, $false, 0)
        $k = [MptcpTools.Kernel.MptcpKernelState]::Create('6.18.0', $true, $null, (New-Sysctls), $null, $null, [MptcpTools.Kernel.PersistentSysctlSetting[]]@($off, $old), [string[]]@())
        # Create marks ExistsInKernel; Effective is what SysctlPersistence.Read sets: the last one of each key wins.
        $k.Persistent | ForEach-Object { $_.GetType().GetProperty('Effective').SetValue($_, $true) }
        $f = Invoke-Rules @{ Kernel = $k }
        $o = Get-Id $f 'ObsoleteSysctlKey'
        $o.Count | Should -Be 1
        $o[0].Summary | Should -Match '/etc/sysctl.conf:12 sets net.mptcp.mptcp_enabled'
        $o[0].Remediation | Should -Match 'net.mptcp.enabled = 1'
        $p = Get-Id $f 'SysctlNotPersistent'
        $p[0].Summary | Should -Match '99-local.conf:3'
    }

    It 'MptcpBlackholeDetected from the Blackhole counter' {
        $c = [Collections.Generic.Dictionary[string, long]]::new(); $c['Blackhole'] = 2
        (Get-Id (Invoke-Rules @{ Counters = $c }) 'MptcpBlackholeDetected').Count | Should -Be 1
    }
}

Describe 'Path-manager rules' {
    It '<Id>' -ForEach @(
        @{ Id = 'NoSubflowEndpoints'; Facts = { @{ Endpoints = [MptcpTools.Kernel.MptcpEndpoint[]]@() } } }
        @{ Id = 'NoSubflowEndpoints'; Facts = { @{ Endpoints = [MptcpTools.Kernel.MptcpEndpoint[]]@(New-Endpoint '203.0.113.2' 'Signal') } } }
        @{ Id = 'SubflowLimitZero'; Facts = { @{ Kernel = (New-Kernel -Subflows 0) } } }
        @{ Id = 'AddAddrAcceptedZero'; Facts = { @{ Kernel = (New-Kernel -Accepted 0) } } }
        @{ Id = 'EndpointsExceedLimit'; Facts = { @{ Kernel = (New-Kernel -Subflows 1); Endpoints = [MptcpTools.Kernel.MptcpEndpoint[]]@((New-Endpoint '198.51.100.2'), (New-Endpoint '2001:db8:2::2')) } } }
    ) {
        $f = Invoke-Rules (& $Facts)
        (Get-Id $f $Id).Count | Should -Be 1
        @($f | Where-Object { "$($_.Severity)" -ne 'Passed' }).Id | Should -Be @($Id) -Because 'only this fault was injected'
    }

    It 'says nothing about endpoints and limits under a userspace path manager' {
        $f = Invoke-Rules @{ Kernel = (New-Kernel @{ 'net.mptcp.path_manager' = 'userspace'; 'net.mptcp.pm_type' = '1' } -Subflows 0); Endpoints = [MptcpTools.Kernel.MptcpEndpoint[]]@() }
        @(Get-Id $f 'NoSubflowEndpoints').Count + @(Get-Id $f 'SubflowLimitZero').Count | Should -Be 0
    }
}

Describe 'Daemon, NetworkManager, firewall and routing rules' {
    BeforeAll {
        function New-Daemon([hashtable] $H) {
            $base = @{ Installed = $true; Running = $false; Source = 'systemd'; UnitName = 'mptcp.service'; ActiveState = 'inactive'; SubState = 'dead'; UnitFileState = 'disabled' }
            foreach ($k in $H.Keys) { $base[$k] = $H[$k] }
            [MptcpTools.Host.MptcpDaemonStatus]$base
        }
        function New-Problem([string] $Kind, [int] $Line) { [MptcpTools.Host.MptcpdConfigProblem]::new($Kind, '/etc/mptcpd/mptcpd.conf', $Line, 'x') }
        function New-Rule([hashtable] $H) {
            $base = @{ Source = 'nftables'; Family = 'inet'; Table = 't'; Chain = 'input'; Handle = 4; Position = 1; Text = 'x' }
            foreach ($k in $H.Keys) { $base[$k] = $H[$k] }
            [MptcpTools.Host.FirewallRule]$base
        }
        function New-Ruleset($Rules = @(), $Chains = @(), $ReversePath = @()) {
            $set = [MptcpTools.Host.FirewallRuleset]::new()
            foreach ($r in $Rules) { $set.Rules.Add($r) }
            foreach ($c in $Chains) { $set.Chains.Add($c) }
            foreach ($p in $ReversePath) { $set.ReversePathFilters.Add($p) }
            $set
        }
        function New-Routes([string] $Dev) {
            $route = [MptcpTools.Kernel.RouteLookup]::new([ipaddress]'203.0.113.2', [ipaddress]'198.51.100.2', 3, $Dev, [ipaddress]'198.51.100.1', $null, 100)
            [MptcpTools.Diagnosis.RoutingFacts]@{ Routes = [MptcpTools.Diagnosis.EndpointRoute[]]@([MptcpTools.Diagnosis.EndpointRoute]::new(1, [ipaddress]'198.51.100.2', [ipaddress]'203.0.113.2', $route)) }
        }
        $onEth1 = [MptcpTools.Kernel.InterfaceAddress[]]@([MptcpTools.Kernel.InterfaceAddress]::new([ipaddress]'198.51.100.2', 24, 3, 'eth1'))
        $userspace = New-Kernel @{ 'net.mptcp.path_manager' = 'userspace'; 'net.mptcp.pm_type' = '1' }
        $inputDrop = [MptcpTools.Host.FirewallChain]::new('nftables', 'inet', 't', 'input', 'input', 'drop')
    }

    It '<Id>' -ForEach @(
        @{ Id = 'UserspacePmWithoutDaemon'; Facts = { @{ Kernel = $userspace; Daemon = (New-Daemon @{}) } } }
        @{ Id = 'DaemonWithKernelPm'; Facts = { @{ Daemon = (New-Daemon @{ Running = $true; ActiveState = 'active'; SubState = 'running'; PathManagerPlugin = 'sspi' }) } } }
        @{ Id = 'DaemonNotRunning'; Facts = { @{ Daemon = (New-Daemon @{ UnitFileState = 'enabled'; ActiveState = 'failed'; LastExitStatus = 1 }) } } }
        @{ Id = 'DaemonConfigInvalid'; Facts = { @{ Daemon = (New-Daemon @{ Problems = [MptcpTools.Host.MptcpdConfigProblem[]]@(New-Problem 'UnknownKey' 5) }) } } }
        @{ Id = 'DaemonPluginMissing'; Facts = { @{ Daemon = (New-Daemon @{ Problems = [MptcpTools.Host.MptcpdConfigProblem[]]@(New-Problem 'PluginMissing' 4) }) } } }
        @{ Id = 'NetworkManagerMptcpDisabled'; Facts = { @{ NetworkManager = [MptcpTools.Host.NetworkManagerMptcpSetting[]]@([MptcpTools.Host.NetworkManagerMptcpSetting]@{ Connection = 'up2'; Devices = [string[]]@('eth1'); RawFlags = 1 }) } } }
        @{ Id = 'NetworkManagerManagesEndpoints'; Facts = { @{ NetworkManager = [MptcpTools.Host.NetworkManagerMptcpSetting[]]@([MptcpTools.Host.NetworkManagerMptcpSetting]@{ Connection = 'up2'; Devices = [string[]]@('eth1'); RawFlags = 0 }) } } }
        @{ Id = 'FirewallDropsMptcpOption'; Facts = { @{ Firewall = (New-Ruleset @(New-Rule @{ Text = 'tcp option mptcp exists drop'; Verdict = 'drop'; MatchesMptcpOption = $true })) } } }
        @{ Id = 'FirewallStripsMptcpOption'; Facts = { @{ Firewall = (New-Ruleset @(New-Rule @{ Source = 'iptables'; Family = 'ip'; Table = 'mangle'; Chain = 'OUTPUT'; Handle = $null; Line = 3; Text = '-A OUTPUT -p tcp -j TCPOPTSTRIP --strip-options 30'; Arguments = [string[]]@('-p', 'tcp', '-j', 'TCPOPTSTRIP', '--strip-options', '30'); Verdict = 'tcpoptstrip'; StripsMptcpOption = $true })) } } }
        @{ Id = 'FirewallBlocksSubflowPath'; Facts = { @{ Request = [MptcpTools.Diagnosis.DiagnosisRequest]@{ Port = 5201 }; Firewall = (New-Ruleset @(New-Rule @{ Text = 'iifname eth0 tcp dport 5201 accept'; Verdict = 'accept'; InputInterface = 'eth0'; DestinationPorts = [MptcpTools.Host.PortRange[]]@([MptcpTools.Host.PortRange]::new(5201, 5201)) }) @($inputDrop)) } } }
        @{ Id = 'StrictReversePathFilter'; Facts = { @{ Firewall = (New-Ruleset -ReversePath @([MptcpTools.Host.ReversePathFilterSetting]::new('all', 0), [MptcpTools.Host.ReversePathFilterSetting]::new('eth1', 1))) } } }
        @{ Id = 'FirewallRuleUnjudged'; Facts = { @{ Firewall = (New-Ruleset @(New-Rule @{ Source = 'iptables'; Text = '-A INPUT -m u32 --u32 x -j DROP'; Verdict = 'drop'; OpaqueMatch = 'u32' })) } } }
        @{ Id = 'MissingSourceRoute'; Facts = { @{ Routing = (New-Routes 'eth0'); Addresses = $onEth1 } } }
        @{ Id = 'EndpointAddressMissing'; Facts = { @{ Routing = (New-Routes 'eth1'); Addresses = [MptcpTools.Kernel.InterfaceAddress[]]@() } } }
    ) {
        $f = Invoke-Rules (& $Facts)
        $hit = Get-Id $f $Id
        $hit.Count | Should -Be 1
        $hit[0].Evidence.Count | Should -BeGreaterThan 0
        $hit[0].Remediation | Should -Not -BeNullOrEmpty
        @($f | Where-Object { "$($_.Severity)" -ne 'Passed' }).Id | Should -Be @($Id) -Because 'only this fault was injected'
    }

    It 'judges the daemon against the kernel''s path manager, and shows it in the evidence' {
        $hit = Get-Id (Invoke-Rules @{ Kernel = $userspace; Daemon = (New-Daemon @{}) }) 'UserspacePmWithoutDaemon'
        $hit[0].Evidence[0].KernelPathManager | Should -Be 'userspace'
        $hit[0].Evidence[0].Agreement | Should -Be 'UserspacePmWithoutDaemon'
        $hit[0].Repair[0].Kind | Should -Be 'StartUnit'
        $hit[0].Repair[0].Unit | Should -Be 'mptcp.service'
    }

    It 'carries firewall deletions as records: nft by handle, iptables by its exact arguments, neither safe to automate' {
        $prev = New-Rule @{ Handle = 2; Position = 1; Text = 'ct state established accept'; Verdict = 'accept' }
        $json = '{"family": "inet", "table": "t", "chain": "input", "handle": 7, "comment": "no \"mptcp\"", "expr": [{"match": {"op": "==", "left": {"tcp option": {"name": "mptcp"}}, "right": true}}, {"drop": null}]}'
        $drop = New-Rule @{ Handle = 7; Position = 2; Text = 'tcp option mptcp exists drop comment "no "mptcp""'; Verdict = 'drop'; MatchesMptcpOption = $true; Json = $json }
        $after = New-Rule @{ Handle = 9; Position = 3; Text = 'udp dport 9 drop'; Verdict = 'drop' }
        $nft = (Get-Id (Invoke-Rules @{ Firewall = (New-Ruleset @($prev, $drop, $after)) }) 'FirewallDropsMptcpOption')[0].Repair[0]
        $nft.Kind | Should -Be 'DeleteNftablesRule'
        $nft.Handle | Should -Be 7
        $nft.SafeToAutomate | Should -BeFalse
        $nft.Command | Should -Be 'nft delete rule inet t input handle 7'
        # Undo puts the rule back from nft's own JSON (its text form does not read back with such a comment), at its place.
        $nft.Undo -match '^echo ''(.+)'' \| nft -j -f -$' | Should -BeTrue
        $restore = ($Matches[1] | ConvertFrom-Json).nftables[0].insert.rule
        $restore.index | Should -Be 1
        $restore.comment | Should -Be 'no "mptcp"'
        $restore.expr[0].match.left.'tcp option'.name | Should -Be 'mptcp'
        @($restore.PSObject.Properties.Name) | Should -Not -Contain 'handle'
        $spec = [string[]]@('-p', 'tcp', '-m', 'comment', '--comment', 'allow "mptcp" it''s', '-m', 'tcp', '--tcp-option', '30', '-j', 'DROP')
        $ipt = New-Rule @{ Source = 'iptables'; Family = 'ip'; Table = 'filter'; Chain = 'OUTPUT'; Handle = $null; Position = 3; Arguments = $spec; Verdict = 'drop'; MatchesMptcpOption = $true }
        $r = (Get-Id (Invoke-Rules @{ Firewall = (New-Ruleset @($ipt)) }) 'FirewallDropsMptcpOption')[0].Repair[0]
        $r.Arguments | Should -Be $spec
        $r.Command | Should -BeLike 'iptables-nft -t filter -D OUTPUT -p tcp -m comment --comment *'
        $r.Undo | Should -BeLike 'iptables-nft -t filter -I OUTPUT 3 -p tcp *'
        # The rendered command, read by a shell, gives back exactly the arguments of the record.
        $echoed = & sh -c ('printf ''%s\n'' ' + ($r.Command -replace '^iptables-nft -t filter -D OUTPUT ', ''))
        $echoed | Should -Be $spec
    }
}

Describe 'Application, probe and capture rules' {
    BeforeAll {
        function New-Outcome([hashtable] $Counters = @{}, [int] $ConnectErrno = 0, [bool] $IsMptcp = $false, [hashtable] $Socket = @{}) {
            $d = [Collections.Generic.Dictionary[string, long]]::new()
            foreach ($k in $Counters.Keys) { $d[$k] = $Counters[$k] }
            $o = @{ RemoteAddress = [ipaddress]'203.0.113.2'; Port = 5201; ConnectErrno = $ConnectErrno; IsMptcp = $IsMptcp; CounterDeltas = $d } + $Socket
            [MptcpTools.Diagnosis.PeerProbe]::new('203.0.113.2', [MptcpTools.Kernel.ProbeOutcome]$o)
        }
    }

    It 'ApplicationNotUsingMptcp carries the application''s own remediation' {
        $p = [MptcpTools.Kernel.ProcessFacts]@{ ProcessId = 7; Name = 'iperf3'; CommandLine = 'iperf3 -c x'; TcpSockets = 2 }
        $hit = Get-Id (Invoke-Rules @{ Processes = [MptcpTools.Kernel.ProcessFacts[]]@($p) }) 'ApplicationNotUsingMptcp'
        $hit[0].Remediation | Should -Be 'This iperf3 has no MPTCP switch (iperf3 has --mptcp from 3.19, and this build does not contain it): run it under mptcpize (package mptcpize): mptcpize run iperf3 -c x'
        "$($hit[0].Evidence[0].Remedy)" | Should -Be 'MptcpizeRun'
        $hit[0].Evidence[0].ProcessId | Should -Be 7
    }

    It '<Id> from a probe whose own socket says <Reason>' -ForEach @(
        @{ Id = 'PeerNotMptcpCapable'; Reason = 'fallback at the SYN-ACK'; Counters = @{ MPCapableSYNTX = 1; MPCapableFallbackSYNACK = 1 }; Errno = 0; Socket = @{ HandshakeRetransmits = 0; SynRetransBeforeFallback = 2 } }
        @{ Id = 'MptcpSynDropped'; Reason = 'SYNs retransmitted up to the fallback'; Counters = @{ MPCapableSYNTX = 3; MPCapableSYNTXDrop = 2 }; Errno = 0; Socket = @{ HandshakeRetransmits = 2; SynRetransBeforeFallback = 2 } }
        @{ Id = 'PeerUnreachable'; Reason = 'connection refused'; Counters = @{}; Errno = 111; Socket = @{} }
        @{ Id = 'FallbackAfterHandshake'; Reason = 'MPTCP at connect, TCP later'; Counters = @{ MPCapableSYNACKRX = 1; DSSCorruptionFallback = 1 }; Errno = 0; Socket = @{ MptcpAtConnect = $true } }
    ) {
        $f = Invoke-Rules @{ Probe = (New-Outcome $Counters $Errno -Socket $Socket) }
        (Get-Id $f $Id).Count | Should -Be 1
        (Get-Id $f $Id)[0].Evidence[0].FallbackReason | Should -Not -Be 'None'
    }

    It 'JoinNotAnswered from a probe whose joins got no SYN-ACK' {
        $probe = New-Outcome @{ MPCapableSYNTX = 1; MPJoinSynTx = 2; MPJoinSynAckRx = 0 } 0 $true
        $hit = Get-Id (Invoke-Rules @{ Probe = $probe }) 'JoinNotAnswered'
        $hit[0].Summary | Should -Match '2 of 2'
        $hit[0].Component | Should -Be 'Capture'
    }

    It 'PlainTcpOnly from a capture whose connections never offered MPTCP (corpus: mptcp-dss-oobr)' {
        $capture = [MptcpTools.Packets.MptcpConnectionSummary[]]@(Read-MptcpCapture -LiteralPath (Join-Path $corpusDir 'mptcp-dss-oobr.pcap') -Summary)
        (Get-Id (Invoke-Rules @{ Capture = $capture }) 'PlainTcpOnly').Count | Should -Be 1
        $mptcp = [MptcpTools.Packets.MptcpConnectionSummary[]]@(Read-MptcpCapture -LiteralPath (Join-Path $corpusDir 'mptcp-v1.pcap') -Summary)
        (Get-Id (Invoke-Rules @{ Capture = $mptcp }) 'PlainTcpOnly').Count | Should -Be 0
    }

    It 'CheckUnavailable for each check that could not run, with the reason and the component' {
        $u = [MptcpTools.Diagnosis.UnavailableCheck[]]@([MptcpTools.Diagnosis.UnavailableCheck]::new('Firewall', 'firewall (nftables)', 'Operation not permitted'))
        $hit = Get-Id (Invoke-Rules @{ Unavailable = $u }) 'CheckUnavailable'
        $hit[0].Component | Should -Be 'Firewall'
        $hit[0].Summary | Should -Be 'The firewall (nftables) check could not run.'
        $hit[0].Detail | Should -Be 'Operation not permitted'
        $hit[0].Remediation | Should -Be 'Run the diagnosis as root.'
    }
}

Describe 'Capture rules from facts read back from JSON' {
    It 'JoinRejected and JoinNotAnswered from joins the capture saw refused and unanswered' {
        $json = @{
            Capture = @(@{
                Id = 0; Outcome = 'Mptcp'; Version = 1; ClientAddress = '192.0.2.2'; ClientPort = 40000; ServerAddress = '203.0.113.2'; ServerPort = 5201
                Subflows = @(
                    @{ Initial = $true; ClientAddress = '192.0.2.2'; ClientPort = 40000; ServerAddress = '203.0.113.2'; ServerPort = 5201; Outcome = 'Established'; Established = $true }
                    @{ Initial = $false; ClientAddress = '198.51.100.2'; ClientPort = 40001; ServerAddress = '203.0.113.2'; ServerPort = 5201; Outcome = 'JoinRefused'; ResetReason = 'AdministrativelyProhibited' }
                    @{ Initial = $false; ClientAddress = '198.51.100.2'; ClientPort = 40002; ServerAddress = '203.0.113.2'; ServerPort = 5201; Outcome = 'SynUnanswered' })
            })
        } | ConvertTo-Json -Depth 6
        $facts = [MptcpTools.Diagnosis.HostFacts]::FromJson($json)
        $facts.Capture[0].Subflows[1].Outcome | Should -Be 'JoinRefused'
        $f = Invoke-Rules @{ Kernel = (New-Kernel); Capture = $facts.Capture }
        (Get-Id $f 'JoinRejected')[0].Summary | Should -Be 'The peer refused the join from 198.51.100.2 to 203.0.113.2:5201 (AdministrativelyProhibited).'
        (Get-Id $f 'JoinNotAnswered')[0].Summary | Should -Match '198.51.100.2:40002'
        (Get-Id $f 'PlainTcpOnly').Count | Should -Be 0
    }
}

Describe 'Repair records' {
    BeforeAll {
        function Get-Properties($Object) { $h = @{}; foreach ($p in $Object.PSObject.Properties) { $h[$p.Name] = $p.Value }; $h }
        function Restore([hashtable] $H) { [MptcpTools.Diagnosis.MptcpRepair]::FromProperties([Func[string, object]] { param($n) $H[$n] }.GetNewClosure()) }
        $records = @(
            [MptcpTools.Diagnosis.SysctlRepair]@{ FindingId = 'MptcpDisabled'; Name = 'net.mptcp.enabled'; Value = '1'; Persistent = $true; Before = '0' }
            [MptcpTools.Diagnosis.LimitRepair]@{ FindingId = 'SubflowLimitZero'; Subflows = 2; AddAddrAccepted = 2; Before = 'subflows 0 add_addr_accepted 0' }
            [MptcpTools.Diagnosis.EndpointRepair]@{ FindingId = 'NoSubflowEndpoints'; Address = '198.51.100.2'; Interface = 'eth1'; Flags = 'Subflow' }
            [MptcpTools.Diagnosis.UnitRepair]@{ FindingId = 'DaemonNotRunning'; Unit = 'mptcp.service' }
            [MptcpTools.Diagnosis.ReversePathFilterRepair]@{ FindingId = 'StrictReversePathFilter'; Interface = 'eth0.100'; Value = 2; Before = 1 }
            [MptcpTools.Diagnosis.NftablesRuleRepair]@{ FindingId = 'FirewallDropsMptcpOption'; Family = 'inet'; Table = 'f w'; Chain = 'out'; Handle = 12; Rule = 'tcp option mptcp exists drop'; Index = 3; RuleJson = '{"expr": [{"drop": null}]}' }
            [MptcpTools.Diagnosis.IptablesRuleRepair]@{ FindingId = 'FirewallStripsMptcpOption'; Source = 'ip6tables-legacy'; Table = 'mangle'; Chain = 'FORWARD'; Arguments = [string[]]@('-m', 'comment', '--comment', 'a "b"', '-j', 'TCPOPTSTRIP', '--strip-options', '30'); Position = 2 }
            [MptcpTools.Diagnosis.NetworkManagerFlagsRepair]@{ FindingId = 'NoSubflowEndpoints'; Uuid = '5c829c64-cfc0-427a-8bc5-efb625c4f037'; Connection = "it's up"; Flags = 0x2a; Before = 0 }
            [MptcpTools.Diagnosis.MptcpdAddressFlagsRepair]@{ FindingId = 'NoSubflowEndpoints'; Unit = 'mptcp.service'; AddressFlags = 'backup,subflow'; NotifyFlags = 'existing'; BeforeAddressFlags = 'backup' }
        )
    }

    It '<_.Kind> is rebuilt from its properties alone, with the same command and undo' -ForEach $records {
        $copy = Restore (Get-Properties $_)
        $copy.GetType() | Should -Be $_.GetType()
        $copy.Command | Should -Be $_.Command
        $copy.Undo | Should -Be $_.Undo
        $copy.Identity | Should -Be $_.Identity
        $copy.FindingId | Should -Be $_.FindingId
    }

    It 'survives Export-Clixml and Import-Clixml inside a finding' {
        $finding = [MptcpTools.Diagnosis.MptcpFinding]@{ Id = 'FirewallStripsMptcpOption'; Severity = 'Error'; Component = 'Firewall'; Repair = [MptcpTools.Diagnosis.MptcpRepair[]]@($records) }
        $file = Join-Path $TestDrive 'finding.xml'
        $finding | Export-Clixml $file
        $back = Import-Clixml $file
        $back.PSObject.TypeNames[0] | Should -Be 'Deserialized.MptcpTools.Diagnosis.MptcpFinding'
        $restored = @($back.Repair | ForEach-Object { Restore (Get-Properties $_) })
        $restored.Count | Should -Be $records.Count
        for ($i = 0; $i -lt $records.Count; $i++) { $restored[$i].Command | Should -Be $records[$i].Command }
        $restored[6].Arguments | Should -Be $records[6].Arguments
    }

    It 'is safe to automate by its kind, whatever its properties say' {
        $h = Get-Properties $records[5]; $h.SafeToAutomate = $true
        (Restore $h).SafeToAutomate | Should -BeFalse
        ($records | Where-Object SafeToAutomate).Kind | Should -Be @('SetSysctl', 'SetLimits', 'AddEndpoint', 'StartUnit')
        ($records | Where-Object Irreversible).Kind | Should -Be @('DeleteNftablesRule', 'DeleteIptablesRule')
    }

    It 'refuses <Case>' -ForEach @(
        @{ Case = 'an unknown kind'; H = @{ Kind = 'RunCommand'; Command = 'nft -f /tmp/x.nft' } }
        @{ Case = 'a kind number that no kind has'; H = @{ Kind = '99'; Name = 'x'; Value = '1' } }
        @{ Case = 'no kind'; H = @{ Command = 'nft -f /tmp/x.nft' } }
        @{ Case = 'a handle that is not a number'; H = @{ Kind = 'DeleteNftablesRule'; Family = 'inet'; Table = 't'; Chain = 'c'; Handle = '4; nft -f /tmp/x' } }
        @{ Case = 'an iptables rule without arguments'; H = @{ Kind = 'DeleteIptablesRule'; Source = 'iptables'; Table = 'filter'; Chain = 'INPUT'; Position = 1 } }
    ) {
        $e = { Restore $H } | Should -Throw -PassThru
        $e.Exception.InnerException | Should -BeOfType ([MptcpTools.Diagnosis.InvalidRepairException])
    }

    It 'renders a VLAN interface''s rp_filter in the slash form sysctl reads' {
        $records[4].SysctlName | Should -Be 'net/ipv4/conf/eth0.100/rp_filter'
        $records[4].Command | Should -Be 'sysctl -w net/ipv4/conf/eth0.100/rp_filter=2'
        $records[4].Undo | Should -Be 'sysctl -w net/ipv4/conf/eth0.100/rp_filter=1'
        [MptcpTools.Kernel.ProcFiles]::SysctlPath('net/ipv4/conf/eth0.100/rp_filter') | Should -Be '/proc/sys/net/ipv4/conf/eth0.100/rp_filter'
        [MptcpTools.Kernel.ProcFiles]::SysctlPath('net.ipv4.conf.eth1.rp_filter') | Should -Be '/proc/sys/net/ipv4/conf/eth1/rp_filter'
    }

    It 'quotes for the shell what the shell would change' {
        # A table name nft's command line would not read as it is goes through JSON.
        $records[5].Command | Should -Be ('echo ' + [MptcpTools.Diagnosis.ShellText]::Quote('{"nftables":[{"delete":{"rule":{"family":"inet","table":"f w","chain":"out","handle":12}}}]}') + ' | nft -j -f -')
        [MptcpTools.Diagnosis.ShellText]::Quote('it''s') | Should -Be '''it''\''''s'''
        [MptcpTools.Diagnosis.ShellText]::Quote('8,30') | Should -Be '8,30'
    }

    It 'shares one change between findings that need the same one (limits, MPTCP on)' {
        $f = Invoke-Rules @{ Kernel = (New-Kernel @{ 'net.mptcp.enabled' = '0' } -Subflows 0 -Accepted 0) }
        $limits = @($f | ForEach-Object { $_.Repair } | Where-Object Kind -eq 'SetLimits')
        $limits.Count | Should -Be 2
        @($limits.Identity | Select-Object -Unique).Count | Should -Be 1
        $limits[0].Subflows | Should -Be 2
        $limits[0].AddAddrAccepted | Should -Be 2
    }

    It 'offers an endpoint only for an address routed out of its own interface' {
        $candidates = [MptcpTools.Diagnosis.EndpointCandidate[]]@(
            [MptcpTools.Diagnosis.EndpointCandidate]::new([ipaddress]'198.51.100.2', 'eth1', 'eth0', 'eth1')
            [MptcpTools.Diagnosis.EndpointCandidate]::new([ipaddress]'2001:db8:2::2', 'eth1', 'eth0', 'eth0'))
        $hit = Get-Id (Invoke-Rules @{ Endpoints = [MptcpTools.Kernel.MptcpEndpoint[]]@(); EndpointCandidates = $candidates }) 'NoSubflowEndpoints'
        $hit[0].Repair.Count | Should -Be 1
        $hit[0].Repair[0].Address | Should -Be '198.51.100.2'
        $hit[0].Repair[0].Command | Should -Be 'ip mptcp endpoint add 198.51.100.2 dev eth1 subflow'
        $hit[0].Remediation | Should -Match 'ip mptcp endpoint add 198.51.100.2 dev eth1 subflow'
    }

    It 'offers no hand-made endpoint on a device NetworkManager configures: its connection''s mptcp-flags instead' {
        $candidates = [MptcpTools.Diagnosis.EndpointCandidate[]]@(
            [MptcpTools.Diagnosis.EndpointCandidate]::new([ipaddress]'198.51.100.2', 'eth1', 'eth0', 'eth1')
            [MptcpTools.Diagnosis.EndpointCandidate]::new([ipaddress]'203.0.113.9', 'eth2', 'eth0', 'eth2')
            [MptcpTools.Diagnosis.EndpointCandidate]::new([ipaddress]'192.0.2.9', 'eth3', 'eth0', 'eth3'))
        $uplink = [MptcpTools.Host.NetworkManagerMptcpSetting]@{ Connection = 'uplink 2'; Uuid = '5c829c64-cfc0-427a-8bc5-efb625c4f037'; Devices = [string[]]@('eth1'); RawFlags = 0x40
            Addresses = [MptcpTools.Host.NetworkManagerAddress[]]@([MptcpTools.Host.NetworkManagerAddress]@{ Device = 'eth1'; Address = [ipaddress]'198.51.100.2'; PrefixLength = 24 }) }
        $off = [MptcpTools.Host.NetworkManagerMptcpSetting]@{ Connection = 'off'; Uuid = 'e03f32f1-20b9-410a-bca6-0b74a394d8fd'; Devices = [string[]]@('eth2'); RawFlags = 1 }
        $external = [MptcpTools.Host.NetworkManagerMptcpSetting]@{ Connection = 'eth3'; Uuid = '1e5a074c-ce75-47ad-ae8c-41c72705eb62'; Devices = [string[]]@('eth3'); External = $true }
        $hit = Get-Id (Invoke-Rules @{ Endpoints = [MptcpTools.Kernel.MptcpEndpoint[]]@(); EndpointCandidates = $candidates
                NetworkManager = [MptcpTools.Host.NetworkManagerMptcpSetting[]]@($uplink, $off, $external) }) 'NoSubflowEndpoints'
        $hit[0].Repair.Kind | Should -Be @('SetNetworkManagerMptcpFlags', 'AddEndpoint')
        $nm = $hit[0].Repair[0]
        $nm.Uuid | Should -Be $uplink.Uuid
        $nm.Flags | Should -Be 0x6a   # backup kept; enabled, subflow, also-without-default-route (eth1 has no default route)
        $nm.Before | Should -Be 0x40
        $nm.Command | Should -Be "nmcli connection modify $($uplink.Uuid) connection.mptcp-flags enabled,also-without-default-route,subflow,backup; nmcli connection up $($uplink.Uuid)"
        $nm.Undo | Should -Be "nmcli connection modify $($uplink.Uuid) connection.mptcp-flags backup; nmcli connection up $($uplink.Uuid)"
        $nm.SafeToAutomate | Should -BeFalse
        $hit[0].Repair[1].Address | Should -Be '192.0.2.9' -Because 'an external connection is not NetworkManager''s to configure; a disabled one is left to NetworkManagerMptcpDisabled'
    }

    It 'proposes mptcpd''s addr-flags where mptcpd (under systemd, in-kernel path manager) makes the endpoints, not hand-made ones' {
        $candidates = [MptcpTools.Diagnosis.EndpointCandidate[]]@([MptcpTools.Diagnosis.EndpointCandidate]::new([ipaddress]'198.51.100.2', 'eth1', 'eth0', 'eth1'))
        $d = [MptcpTools.Host.MptcpDaemonStatus]@{ Installed = $true; Running = $true; Source = 'systemd'; UnitName = 'mptcp.service'; ActiveState = 'active'; SubState = 'running'
            PathManagerPlugin = 'addr_adv'; AddressFlags = [string[]]@('fullmesh', 'signal'); NotifyFlags = [string[]]@('skip_loopback') }
        $hit = Get-Id (Invoke-Rules @{ Endpoints = [MptcpTools.Kernel.MptcpEndpoint[]]@(New-Endpoint '198.51.100.2' 'None'); EndpointCandidates = $candidates; Daemon = $d }) 'NoSubflowEndpoints'
        @($hit[0].Repair.Kind) | Should -Be @('SetMptcpdAddressFlags')
        $hit[0].Repair[0].AddressFlags | Should -Be 'signal,subflow' -Because 'fullmesh and signal exclude each other'
        $hit[0].Repair[0].NotifyFlags | Should -Be 'skip_loopback,existing,skip_link_local'
        $hit[0].Repair[0].Unit | Should -Be 'mptcp.service'
        $hit[0].Repair[0].SafeToAutomate | Should -BeFalse
        $plain = [MptcpTools.Host.MptcpDaemonStatus]@{ Installed = $true; Running = $true; Source = 'process table'; PathManagerPlugin = 'addr_adv' }
        @((Get-Id (Invoke-Rules @{ Endpoints = [MptcpTools.Kernel.MptcpEndpoint[]]@(); EndpointCandidates = $candidates; Daemon = $plain }) 'NoSubflowEndpoints')[0].Repair.Kind) |
            Should -Be @('AddEndpoint') -Because 'without systemd there is no unit to restart'
    }

    It 'enables a connection whose mptcp-flags disable MPTCP through NetworkManager, and only an active one' {
        $on = [MptcpTools.Host.NetworkManagerMptcpSetting]@{ Connection = 'up2'; Uuid = '5c829c64-cfc0-427a-8bc5-efb625c4f037'; Devices = [string[]]@('eth1'); RawFlags = 1 }
        $inactive = [MptcpTools.Host.NetworkManagerMptcpSetting]@{ Connection = 'spare'; Uuid = 'e03f32f1-20b9-410a-bca6-0b74a394d8fd'; Active = $false; RawFlags = 1 }
        $hit = Get-Id (Invoke-Rules @{ NetworkManager = [MptcpTools.Host.NetworkManagerMptcpSetting[]]@($on, $inactive) }) 'NetworkManagerMptcpDisabled'
        $hit.Count | Should -Be 1
        $hit[0].Repair[0].Kind | Should -Be 'SetNetworkManagerMptcpFlags'
        $hit[0].Repair[0].Flags | Should -Be 0x22
        $hit[0].Remediation | Should -Be $hit[0].Repair[0].Command
    }

    It 'puts the unit''s last journal lines in DaemonNotRunning''s detail' {
        $journal = [MptcpTools.Host.JournalEntry[]]@(
            [MptcpTools.Host.JournalEntry]@{ Message = 'Unable to load path manager plugins.' }
            [MptcpTools.Host.JournalEntry]@{ Message = 'mptcp.service: Main process exited, code=exited, status=1/FAILURE' })
        $d = [MptcpTools.Host.MptcpDaemonStatus]@{ Installed = $true; Source = 'systemd'; UnitName = 'mptcp.service'; UnitFileState = 'enabled'; ActiveState = 'failed'; LastExitStatus = 1; Journal = $journal }
        $hit = Get-Id (Invoke-Rules @{ Daemon = $d }) 'DaemonNotRunning'
        $hit[0].Summary | Should -Match 'exit status 1'
        $hit[0].Detail | Should -Match 'Its journal ends: Unable to load path manager plugins\. \| mptcp\.service: Main process exited'
    }
}

Describe 'Facts as JSON, judged elsewhere' {
    It 'reads back every part the rules judge, and the judgment is the same' {
        $k = [MptcpTools.Kernel.MptcpKernelState]::Create('6.18.0', $true, $null, (New-Sysctls @{ 'net.mptcp.enabled' = '0' }), [MptcpTools.Kernel.MptcpLimit]::new(0, 0), 1,
            [MptcpTools.Kernel.PersistentSysctlSetting[]]@([MptcpTools.Kernel.PersistentSysctlSetting]::new('net.mptcp.mptcp_enabled', '1', '/etc/sysctl.conf', 12, $false, 1)), [string[]]@('note'))
        $rules = [MptcpTools.Host.FirewallRuleset]::new()
        $rules.Rules.Add([MptcpTools.Host.FirewallRule]@{ Source = 'iptables'; Family = 'ip'; Table = 'filter'; Chain = 'OUTPUT'; Position = 1; Text = '-A OUTPUT x'; Arguments = [string[]]@('-m', 'comment', '--comment', 'a b'); Verdict = 'drop'; MatchesMptcpOption = $true; DestinationPorts = [MptcpTools.Host.PortRange[]]@([MptcpTools.Host.PortRange]::new(1, 2)) })
        $rules.ReversePathFilters.Add([MptcpTools.Host.ReversePathFilterSetting]::new('eth1', 1))
        $capture = [MptcpTools.Packets.MptcpConnectionSummary[]]@(Read-MptcpCapture -LiteralPath (Join-Path $corpusDir 'mptcp-v1.pcap') -Summary)
        $facts = [MptcpTools.Diagnosis.HostFacts]@{
            Request = [MptcpTools.Diagnosis.DiagnosisRequest]@{ Port = 5201; ProcessNames = [string[]]@('iperf*') }
            Kernel = $k; Endpoints = [MptcpTools.Kernel.MptcpEndpoint[]]@(New-Endpoint '198.51.100.2')
            Addresses = [MptcpTools.Kernel.InterfaceAddress[]]@([MptcpTools.Kernel.InterfaceAddress]::new([ipaddress]'2001:db8:2::2', 64, 3, 'eth1'))
            Daemon = [MptcpTools.Host.MptcpDaemonStatus]@{ Installed = $true; Source = 'systemd'; UnitName = 'mptcp.service'; UnitFileState = 'enabled'; ActiveState = 'failed'; Problems = [MptcpTools.Host.MptcpdConfigProblem[]]@([MptcpTools.Host.MptcpdConfigProblem]::new('UnknownKey', '/etc/mptcpd/mptcpd.conf', 3, 'x')) }
            NetworkManager = [MptcpTools.Host.NetworkManagerMptcpSetting[]]@([MptcpTools.Host.NetworkManagerMptcpSetting]@{ Connection = 'a b'; Devices = [string[]]@('eth1'); RawFlags = 1 })
            Firewall = $rules
            Processes = [MptcpTools.Kernel.ProcessFacts[]]@([MptcpTools.Kernel.ProcessFacts]@{ ProcessId = 9; Name = 'iperf3'; TcpSockets = 1; CommandLine = 'iperf3 -c x' })
            Capture = $capture
            Unavailable = [MptcpTools.Diagnosis.UnavailableCheck[]]@([MptcpTools.Diagnosis.UnavailableCheck]::new('Daemon', 'mptcpd', 'no bus'))
        }
        $json = $facts.ToJson()
        $back = [MptcpTools.Diagnosis.HostFacts]::FromJson($json)
        $back.ToJson() | Should -Be $json
        $back.Kernel.Limits.Subflows | Should -Be 0
        $back.Kernel.Persistent[0].File | Should -Be '/etc/sysctl.conf'
        $back.Capture[0].Subflows.Count | Should -Be $capture[0].Subflows.Count
        $back.Capture[0].ClientAddress | Should -Be $capture[0].ClientAddress
        $back.Firewall.Rules[0].Arguments | Should -Be @('-m', 'comment', '--comment', 'a b')
        $direct = [MptcpTools.Diagnosis.DiagnosisRules]::Evaluate($facts) | ForEach-Object { "$($_.Severity) $($_.Id) $($_.Summary) $($_.Repair.Command)" }
        $judged = [MptcpTools.Diagnosis.DiagnosisRules]::Evaluate($back) | ForEach-Object { "$($_.Severity) $($_.Id) $($_.Summary) $($_.Repair.Command)" }
        $judged | Should -Be $direct
        @($direct | Where-Object { $_ -notlike 'Passed*' }).Count | Should -BeGreaterThan 8
    }
}

Describe 'Repairs that need more than one finding''s facts' {
    It 'raises the subflow limit to cover the endpoints the repair adds as well' {
        $candidates = [MptcpTools.Diagnosis.EndpointCandidate[]]@(
            [MptcpTools.Diagnosis.EndpointCandidate]::new([ipaddress]'198.51.100.2', 'eth1', 'eth0', 'eth1')
            [MptcpTools.Diagnosis.EndpointCandidate]::new([ipaddress]'198.51.100.3', 'eth2', 'eth0', 'eth2')
            [MptcpTools.Diagnosis.EndpointCandidate]::new([ipaddress]'198.51.100.4', 'eth3', 'eth0', 'eth3'))
        $f = Invoke-Rules @{ Kernel = (New-Kernel -Subflows 0); Endpoints = [MptcpTools.Kernel.MptcpEndpoint[]]@(); EndpointCandidates = $candidates }
        (Get-Id $f 'NoSubflowEndpoints')[0].Repair.Count | Should -Be 3
        (Get-Id $f 'SubflowLimitZero')[0].Repair[0].Subflows | Should -Be 3
    }

    It 'describes a source route it does not automate, as a record that is never run' {
        $route = [MptcpTools.Kernel.RouteLookup]::new([ipaddress]'203.0.113.2', [ipaddress]'198.51.100.2', 3, 'eth0', [ipaddress]'192.0.2.1', $null, 254)
        $routing = [MptcpTools.Diagnosis.RoutingFacts]@{ Routes = [MptcpTools.Diagnosis.EndpointRoute[]]@([MptcpTools.Diagnosis.EndpointRoute]::new(1, [ipaddress]'198.51.100.2', [ipaddress]'203.0.113.2', $route)) }
        $addresses = [MptcpTools.Kernel.InterfaceAddress[]]@([MptcpTools.Kernel.InterfaceAddress]::new([ipaddress]'198.51.100.2', 24, 3, 'eth1'))
        $hit = (Get-Id (Invoke-Rules @{ Routing = $routing; Addresses = $addresses }) 'MissingSourceRoute')[0]
        $hit.Repair[0].Kind | Should -Be 'Manual'
        $hit.Repair[0].SafeToAutomate | Should -BeFalse
        $hit.Repair[0].Command | Should -Be $hit.Remediation
        $hit.SafeToRepair | Should -BeFalse
    }
}

Describe 'Facts from JSON that lacks parts' {
    It 'judges {} as a host it knows nothing about, without failing' {
        $facts = [MptcpTools.Diagnosis.HostFacts]::FromJson('{}')
        $facts.Unavailable.Count | Should -Be 0
        @([MptcpTools.Diagnosis.DiagnosisRules]::Evaluate($facts) | Where-Object Severity -ne 'Passed').Count | Should -Be 0
        $set = [MptcpTools.Diagnosis.HostFacts]::FromJson('{"Firewall": {}}').Firewall
        $set.Rules.Count | Should -Be 0
        @([MptcpTools.Diagnosis.DiagnosisRules]::Evaluate([MptcpTools.Diagnosis.HostFacts]::FromJson('{"Firewall": {}}')) | Where-Object Severity -ne 'Passed').Count | Should -Be 0
    }
}

Describe 'Repair-MptcpConfiguration parameters' {
    It 'refuses a -SysctlFile that is not a file system path, before anything changes' {
        { [pscustomobject]@{ Repair = @() } | Repair-MptcpConfiguration -SysctlFile 'Variable:\x' -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArgument,*'
    }
}

Describe 'The causes people hit (issue 12)' {
    BeforeAll {
        function New-Socket([string] $State, [string] $Local, [int] $LocalPort, [string] $Remote = '0.0.0.0', [int] $RemotePort = 0) {
            [MptcpTools.Kernel.MptcpConnection]@{ State = $State; LocalAddress = [ipaddress]$Local; LocalPort = $LocalPort; RemoteAddress = [ipaddress]$Remote; RemotePort = $RemotePort }
        }
        function Get-Any($Findings, [string] $Id) { @($Findings | Where-Object { $_.Id -eq $Id -and "$($_.Severity)" -ne 'Passed' }) }
    }

    It 'EndpointRoleMismatch: subflow endpoints on a host that only accepts connections' {
        $sockets = [MptcpTools.Kernel.MptcpConnection[]]@((New-Socket Listen '0.0.0.0' 5201), (New-Socket Established '203.0.113.2' 5201 '192.0.2.2' 40000))
        $hit = Get-Any (Invoke-Rules @{ MptcpSockets = $sockets; Endpoints = [MptcpTools.Kernel.MptcpEndpoint[]]@(New-Endpoint '203.0.113.3' 'Subflow' 's0') }) 'EndpointRoleMismatch'
        $hit.Count | Should -Be 1
        $hit[0].Summary | Should -Match 'accepts MPTCP connections \(port 5201\) and opens none'
        $hit[0].Remediation | Should -Match 'ip mptcp endpoint add 203.0.113.3 dev s0 signal'
    }

    It 'EndpointRoleMismatch: signal endpoints on a host that only connects' {
        $sockets = [MptcpTools.Kernel.MptcpConnection[]]@(New-Socket Established '192.0.2.2' 40000 '203.0.113.2' 5201)
        $hit = Get-Any (Invoke-Rules @{ MptcpSockets = $sockets; Endpoints = [MptcpTools.Kernel.MptcpEndpoint[]]@(New-Endpoint '198.51.100.2' 'Signal') }) 'EndpointRoleMismatch'
        $hit[0].Summary | Should -Match 'only opens MPTCP connections'
        $hit[0].Remediation | Should -Match 'subflow'
    }

    It 'EndpointRoleMismatch: a signal endpoint without a port, where the listener is bound to another address' {
        $sockets = [MptcpTools.Kernel.MptcpConnection[]]@(New-Socket Listen '203.0.113.2' 5201)
        $ep = [MptcpTools.Kernel.MptcpEndpoint]::new(2, [ipaddress]'203.0.113.3', 0, 1, 3, 's0')
        $hit = Get-Any (Invoke-Rules @{ MptcpSockets = $sockets; Endpoints = [MptcpTools.Kernel.MptcpEndpoint[]]@((New-Endpoint '203.0.113.2' 'Subflow' 's0'), $ep) }) 'EndpointRoleMismatch'
        $hit.Count | Should -Be 1
        $hit[0].Remediation | Should -Match 'signal port 5201'
        # A listener on the wildcard address accepts the joins: no finding.
        $wild = [MptcpTools.Kernel.MptcpConnection[]]@(New-Socket Listen '0.0.0.0' 5201)
        (Get-Any (Invoke-Rules @{ MptcpSockets = $wild; Endpoints = [MptcpTools.Kernel.MptcpEndpoint[]]@($ep) }) 'EndpointRoleMismatch').Count | Should -Be 0
    }

    It 'ApplicationNotUsingMptcp for the owner of plain TCP on the port (Error), or of bulk data (Warning where subflow endpoints exist)' {
        $owner = [MptcpTools.Kernel.ProcessFacts]@{ ProcessId = 77; Name = 'iperf3'; CommandLine = 'iperf3 -c 203.0.113.2 -p 5201'; TcpSockets = 2 }
        $sock = [MptcpTools.Kernel.PlainTcpSocket]@{ LocalAddress = [ipaddress]'192.0.2.2'; LocalPort = 40000; RemoteAddress = [ipaddress]'203.0.113.2'; RemotePort = 5201; State = 'Established'; BytesAcked = 5MB }
        $onPort = [MptcpTools.Diagnosis.PlainTcpUse[]]@([MptcpTools.Diagnosis.PlainTcpUse]::new($sock, 'OnPort', $owner))
        $hit = (Get-Any (Invoke-Rules @{ PlainTcp = $onPort; Request = [MptcpTools.Diagnosis.DiagnosisRequest]@{ Port = 5201 } }) 'ApplicationNotUsingMptcp')[0]
        $hit.Severity | Should -Be 'Error'
        $hit.Summary | Should -Be 'iperf3 (77) uses plain TCP (to 203.0.113.2:5201): it never asked for an MPTCP socket.'
        $hit.Remediation | Should -Match 'mptcpize run iperf3 -c 203.0.113.2 -p 5201'
        $bulk = [MptcpTools.Diagnosis.PlainTcpUse[]]@([MptcpTools.Diagnosis.PlainTcpUse]::new($sock, 'Bulk', $owner))
        (Get-Any (Invoke-Rules @{ PlainTcp = $bulk }) 'ApplicationNotUsingMptcp')[0].Severity | Should -Be 'Warning'
        (Get-Any (Invoke-Rules @{ PlainTcp = $bulk }) 'ApplicationNotUsingMptcp')[0].Summary | Should -Match '5 MiB to 203.0.113.2:5201'
        (Get-Any (Invoke-Rules @{ PlainTcp = $bulk; Endpoints = [MptcpTools.Kernel.MptcpEndpoint[]]@() }) 'ApplicationNotUsingMptcp')[0].Severity | Should -Be 'Information'
    }

    It 'OtherNetworkNamespace, not ApplicationNotUsingMptcp, for a process of another namespace' {
        $p = [MptcpTools.Kernel.ProcessFacts]@{ ProcessId = 9; Name = 'iperf3'; NetworkNamespace = 4026532999; NetworkNamespaceName = 'ns1'; InOtherNetworkNamespace = $true }
        $f = Invoke-Rules @{ Processes = [MptcpTools.Kernel.ProcessFacts[]]@($p); Request = [MptcpTools.Diagnosis.DiagnosisRequest]@{ ProcessIds = [int[]]@(9) } }
        $hit = (Get-Any $f 'OtherNetworkNamespace')[0]
        $hit.Summary | Should -Be 'iperf3 (9) runs in network namespace ''ns1'', not in this one.'
        $hit.Remediation | Should -Match '^Diagnose it where it runs: ip netns exec ns1 pwsh'
        (Get-Any $f 'ApplicationNotUsingMptcp').Count | Should -Be 0
        $report = [MptcpTools.Diagnosis.ApplicationJudge]::Judge([MptcpTools.Kernel.ProcessFacts]@{ ProcessId = 9; Name = 'x'; NetworkNamespace = 5; InOtherNetworkNamespace = $true })
        $report.Remediation | Should -Match 'nsenter --net=/proc/9/ns/net pwsh'
        $hit.Severity | Should -Be 'Warning'
    }

    It 'OtherNetworkNamespace: one finding per namespace, Information when processes of that name run here too' {
        $here = [MptcpTools.Kernel.ProcessFacts]@{ ProcessId = 7; Name = 'iperf3'; TcpSockets = 1 }
        $a = [MptcpTools.Kernel.ProcessFacts]@{ ProcessId = 9; Name = 'iperf3'; NetworkNamespace = 4026532999; NetworkNamespaceName = 'ns1'; InOtherNetworkNamespace = $true }
        $b = [MptcpTools.Kernel.ProcessFacts]@{ ProcessId = 10; Name = 'iperf3'; NetworkNamespace = 4026532999; NetworkNamespaceName = 'ns1'; InOtherNetworkNamespace = $true }
        $hits = @(Get-Any (Invoke-Rules @{ Processes = [MptcpTools.Kernel.ProcessFacts[]]@($here, $a, $b) }) 'OtherNetworkNamespace')
        $hits.Count | Should -Be 1
        $hits[0].Severity | Should -Be 'Information'
        $hits[0].Summary | Should -Be 'iperf3 (9, 10) run in network namespace ''ns1'', not in this one.'
        $hits[0].Remediation | Should -Match 'Invoke-MptcpDiagnosis -ProcessId 9, 10'
        $hits[0].Evidence.Count | Should -Be 2
        (Get-Any (Invoke-Rules @{ Processes = [MptcpTools.Kernel.ProcessFacts[]]@($a, $b) }) 'OtherNetworkNamespace')[0].Severity | Should -Be 'Warning'
    }

    It 'MptcpBlackholeDetected is an Error while active opens are off, with the counters and until when' {
        $c = [Collections.Generic.Dictionary[string, long]]::new(); $c['Blackhole'] = 2; $c['MPCapableSYNTXDrop'] = 6; $c['MPCapableSYNTXDisabled'] = 3
        $at = [datetime]::new(2026, 11, 26, 12, 0, 0, [DateTimeKind]::Utc)
        $hit = (Get-Any (Invoke-Rules @{ Counters = $c; ActiveMptcpDisabled = $true; GatheredAt = $at }) 'MptcpBlackholeDetected')[0]
        $hit.Severity | Should -Be 'Error'
        $hit.Evidence[0].SynDrops | Should -Be 6
        $hit.Evidence[0].DisabledUntilAtMost | Should -Be $at.AddHours(2)   # blackhole_timeout 3600 s, doubled once for the second detection
        $hit.Summary | Should -Match '2026-11-26 14:00:00Z'
        (Get-Any (Invoke-Rules @{ Counters = $c; ActiveMptcpDisabled = $false; GatheredAt = $at }) 'MptcpBlackholeDetected')[0].Severity | Should -Be 'Warning'
    }

    It 'MptcpSynDropped when the MPTCP connect times out and a plain TCP one gets through (kernels before 6.12)' {
        $o = [MptcpTools.Kernel.ProbeOutcome]@{ RemoteAddress = [ipaddress]'203.0.113.2'; Port = 5201; ConnectErrno = 110; ControlConnectErrno = 0 }
        $f = Invoke-Rules @{ Probe = [MptcpTools.Diagnosis.PeerProbe]::new('203.0.113.2', $o) }
        (Get-Any $f 'MptcpSynDropped')[0].Evidence[0].PlainTcpConnected | Should -BeTrue
        (Get-Any $f 'PeerUnreachable').Count | Should -Be 0
        $both = [MptcpTools.Kernel.ProbeOutcome]@{ RemoteAddress = [ipaddress]'203.0.113.2'; Port = 5201; ConnectErrno = 110; ControlConnectErrno = 110 }
        (Get-Any (Invoke-Rules @{ Probe = [MptcpTools.Diagnosis.PeerProbe]::new('203.0.113.2', $both) }) 'PeerUnreachable')[0].Detail | Should -Match 'plain TCP connection failed as well'
    }

    It 'StrictReversePathFilter names the file that sets it at boot, and ufw''s when ufw is enabled' {
        $set = [MptcpTools.Host.FirewallRuleset]::new()
        $set.ReversePathFilters.Add([MptcpTools.Host.ReversePathFilterSetting]::new('all', 1)); $set.ReversePathFilters.Add([MptcpTools.Host.ReversePathFilterSetting]::new('eth1', 0))
        $boot = [MptcpTools.Kernel.PersistentSysctlSetting]::new('net.ipv4.conf.all.rp_filter', '1', '/etc/sysctl.d/10-secure.conf', 4, $false, 0)
        $boot.GetType().GetProperty('Effective').SetValue($boot, $true)
        $hit = (Get-Any (Invoke-Rules @{ Firewall = $set; ReversePathSettings = [MptcpTools.Kernel.PersistentSysctlSetting[]]@($boot) }) 'StrictReversePathFilter')[0]
        $hit.Detail | Should -Match '/etc/sysctl.d/10-secure.conf:4 sets net.ipv4.conf.all.rp_filter = 1 at boot'
        $hit.Repair[0].Command | Should -Be 'sysctl -w net.ipv4.conf.eth1.rp_filter=2'
        $ufw = [MptcpTools.Kernel.PersistentSysctlSetting]::new('net/ipv4/conf/all/rp_filter', '1', '/etc/ufw/sysctl.conf', 12, $false, 0)
        $ufw = [MptcpTools.Host.SysctlPersistence]::ReadFile((New-Item (Join-Path $TestDrive 'ufw-sysctl.conf') -Value "# ufw`nnet/ipv4/conf/all/rp_filter=1`n").FullName)
        $hit = (Get-Any (Invoke-Rules @{ Firewall = $set; ReversePathSettings = [MptcpTools.Kernel.PersistentSysctlSetting[]]@($boot); UfwSysctls = $ufw }) 'StrictReversePathFilter')[0]
        $hit.Detail | Should -Match 'ufw, which is enabled, applies .*ufw-sysctl.conf:2 \(net.ipv4.conf.all.rp_filter = 1\)'
    }

    It 'StrictReversePathFilter for a strict reverse-path rule (nft fib saddr . iif), with firewalld''s setting when firewalld made it' {
        $set = [MptcpTools.Host.FirewallRuleset]@{ FirewalldIpv6RpFilter = 'yes' }
        $set.Rules.Add([MptcpTools.Host.FirewallRule]@{ Source = 'nftables'; Family = 'inet'; Table = 'firewalld'; Chain = 'filter_PREROUTING'; Handle = 5; Position = 1; Text = 'meta nfproto ipv6 fib saddr . mark . iif oif missing drop'; Verdict = 'drop'; ReversePathCheck = 'strict' })
        $set.Rules.Add([MptcpTools.Host.FirewallRule]@{ Source = 'nftables'; Family = 'inet'; Table = 't'; Chain = 'p'; Handle = 6; Position = 1; Text = 'fib saddr oif missing drop'; Verdict = 'drop'; ReversePathCheck = 'loose' })
        $hits = Get-Any (Invoke-Rules @{ Firewall = $set }) 'StrictReversePathFilter'
        $hits.Count | Should -Be 1
        $hits[0].Remediation | Should -Match 'IPv6_rpfilter=loose'
        $hits[0].Repair.Count | Should -Be 0   # an anti-spoofing rule is never deleted by the module
    }

    It 'NetworkManagerSkipsAddress: no IPv6 default route (Warning), a temporary address (Information)' {
        $nm = [MptcpTools.Host.NetworkManagerMptcpSetting[]]@([MptcpTools.Host.NetworkManagerMptcpSetting]@{ Connection = 'wired'; Devices = [string[]]@('eth1'); RawFlags = 0 })
        $addresses = [MptcpTools.Kernel.InterfaceAddress[]]@(
            [MptcpTools.Kernel.InterfaceAddress]::new([ipaddress]'198.51.100.2', 24, 3, 'eth1')
            [MptcpTools.Kernel.InterfaceAddress]::new([ipaddress]'2001:db8:2::2', 64, 3, 'eth1')
            [MptcpTools.Kernel.InterfaceAddress]::new([ipaddress]'2001:db8:2::99', 64, 3, 'eth1', 1))
        $f = Invoke-Rules @{ NetworkManager = $nm; Addresses = $addresses; DefaultRoutes = [MptcpTools.Diagnosis.DefaultRoutes]::new($true, $false) }
        $hits = Get-Any $f 'NetworkManagerSkipsAddress'
        $hits.Count | Should -Be 2
        ($hits | Where-Object { $_.Evidence[1].Address -eq '2001:db8:2::2' }).Severity | Should -Be 'Warning'
        ($hits | Where-Object { $_.Evidence[1].Address -eq '2001:db8:2::2' }).Remediation | Should -Match 'also-without-default-route'
        ($hits | Where-Object { $_.Evidence[1].Address -eq '2001:db8:2::99' }).Severity | Should -Be 'Information'
        $nm2 = [MptcpTools.Host.NetworkManagerMptcpSetting[]]@([MptcpTools.Host.NetworkManagerMptcpSetting]@{ Connection = 'wired'; Devices = [string[]]@('eth1'); RawFlags = 0x2a })
        (Get-Any (Invoke-Rules @{ NetworkManager = $nm2; Addresses = $addresses; DefaultRoutes = [MptcpTools.Diagnosis.DefaultRoutes]::new($true, $false) }) 'NetworkManagerSkipsAddress').Count | Should -Be 1
    }

    It 'EndpointManagersConflict: NetworkManager and mptcpd''s addr_adv both manage endpoints' {
        $nm = [MptcpTools.Host.NetworkManagerMptcpSetting[]]@([MptcpTools.Host.NetworkManagerMptcpSetting]@{ Connection = 'wired'; Devices = [string[]]@('eth1'); RawFlags = 0 })
        $d = [MptcpTools.Host.MptcpDaemonStatus]@{ Installed = $true; Running = $true; Source = 'systemd'; UnitName = 'mptcp.service'; ActiveState = 'active'; SubState = 'running'; PathManagerPlugin = 'addr_adv' }
        $hit = (Get-Any (Invoke-Rules @{ NetworkManager = $nm; Daemon = $d }) 'EndpointManagersConflict')[0]
        $hit.Severity | Should -Be 'Information'   # nothing shows the race was lost yet
        $hit.Remediation | Should -Match 'systemctl disable --now mptcp.service'
        $hit.Remediation | Should -Match 'nmcli connection modify wired connection.mptcp-flags disabled'
        $sspi = [MptcpTools.Host.MptcpDaemonStatus]@{ Installed = $true; Running = $true; Source = 'systemd'; PathManagerPlugin = 'sspi' }
        (Get-Any (Invoke-Rules @{ NetworkManager = $nm; Daemon = $sspi }) 'EndpointManagersConflict').Count | Should -Be 0
    }

    It 'EndpointManagersConflict is a Warning when an address on NetworkManager''s device has an endpoint it did not make' {
        $address = [MptcpTools.Host.NetworkManagerAddress]@{ Device = 'eth1'; Address = [ipaddress]'198.51.100.2'; DefaultRoute = $true }
        $nm = [MptcpTools.Host.NetworkManagerMptcpSetting[]]@([MptcpTools.Host.NetworkManagerMptcpSetting]@{ Connection = 'wired'; Devices = [string[]]@('eth1'); RawFlags = 0x22; Addresses = @($address) })
        $d = [MptcpTools.Host.MptcpDaemonStatus]@{ Installed = $true; Running = $true; Source = 'systemd'; UnitName = 'mptcp.service'; ActiveState = 'active'; SubState = 'running'; PathManagerPlugin = 'addr_adv' }
        (Get-Any (Invoke-Rules @{ NetworkManager = $nm; Daemon = $d }) 'EndpointManagersConflict')[0].Severity | Should -Be 'Information'
        $mptcpds = [MptcpTools.Kernel.MptcpEndpoint[]]@(New-Endpoint '198.51.100.2' 'None')
        $hit = (Get-Any (Invoke-Rules @{ NetworkManager = $nm; Daemon = $d; Endpoints = $mptcpds }) 'EndpointManagersConflict')[0]
        $hit.Severity | Should -Be 'Warning'
        $hit.Summary | Should -Match '198\.51\.100\.2 on eth1 has an endpoint NetworkManager did not make'
    }
}
