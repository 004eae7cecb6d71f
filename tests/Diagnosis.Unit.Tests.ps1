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
    It 'holds every id the issue named, and each is documented in about_MptcpTools with cause, evidence and fix' {
        $required = 'MptcpUnsupported', 'MptcpDisabled', 'ObsoleteSysctlKey', 'SysctlNotPersistent', 'NoSubflowEndpoints', 'SubflowLimitZero',
        'AddAddrAcceptedZero', 'EndpointAddressMissing', 'EndpointsExceedLimit', 'UserspacePmWithoutDaemon', 'DaemonNotRunning', 'DaemonConfigInvalid',
        'DaemonPluginMissing', 'NetworkManagerMptcpDisabled', 'FirewallDropsMptcpOption', 'FirewallStripsMptcpOption', 'FirewallBlocksSubflowPath',
        'StrictReversePathFilter', 'MissingSourceRoute', 'ApplicationNotUsingMptcp', 'PeerNotMptcpCapable', 'MptcpSynDropped', 'JoinNotAnswered',
        'JoinRejected', 'PlainTcpOnly'
        $catalog = [MptcpTools.Diagnosis.DiagnosisRules]::Catalog
        foreach ($id in $required) { $catalog | Should -Contain $id }
        $about = Get-Content -Raw (Join-Path $modulePath 'en-US/about_MptcpTools.help.txt')
        foreach ($id in $catalog) {
            $about | Should -Match "(?m)^    $id\r?\n        Cause: .+\r?\n(.+\r?\n)*?        Evidence: .+\r?\n(.+\r?\n)*?        Fix: " -Because "$id must be documented"
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
        $m.Repair | Should -Be 'EnableMptcp'
        $m.Evidence[0].Enabled | Should -BeFalse
    }

    It 'ObsoleteSysctlKey and SysctlNotPersistent from the persistent files, with file and line' {
        $old = [MptcpTools.Kernel.PersistentSysctlSetting]::new('net.mptcp.mptcp_enabled', '1', '/etc/sysctl.conf', 12, $false, 1)
        $off = [MptcpTools.Kernel.PersistentSysctlSetting]::new('net.mptcp.enabled', '0', '/etc/sysctl.d/99-local.conf', 3, $false, 0)
        $persistent = [MptcpTools.Kernel.SysctlPersistence]::new
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
            $base = @{ Installed = $true; Running = $false; Source = 'systemd'; UnitName = 'mptcp.service'; ActiveState = 'inactive'; SubState = 'dead'; UnitFileState = 'disabled'; Agreement = 'Agree'; AgreementDetail = 'ok' }
            foreach ($k in $H.Keys) { $base[$k] = $H[$k] }
            [MptcpTools.Host.MptcpDaemonStatus]$base
        }
        function New-Problem([string] $Kind, [int] $Line) { [MptcpTools.Host.MptcpdConfigProblem]::new($Kind, '/etc/mptcpd/mptcpd.conf', $Line, 'x') }
    }

    It '<Id>' -ForEach @(
        @{ Id = 'UserspacePmWithoutDaemon'; Facts = { @{ Daemon = (New-Daemon @{ Agreement = 'UserspacePmWithoutDaemon' }) } } }
        @{ Id = 'DaemonWithKernelPm'; Facts = { @{ Daemon = (New-Daemon @{ Agreement = 'DaemonWithKernelPm'; Running = $true }) } } }
        @{ Id = 'DaemonNotRunning'; Facts = { @{ Daemon = (New-Daemon @{ UnitFileState = 'enabled'; ActiveState = 'failed'; LastExitStatus = 1 }) } } }
        @{ Id = 'DaemonConfigInvalid'; Facts = { @{ Daemon = (New-Daemon @{ Problems = [MptcpTools.Host.MptcpdConfigProblem[]]@(New-Problem 'UnknownKey' 5) }) } } }
        @{ Id = 'DaemonPluginMissing'; Facts = { @{ Daemon = (New-Daemon @{ Problems = [MptcpTools.Host.MptcpdConfigProblem[]]@(New-Problem 'PluginMissing' 4) }) } } }
        @{ Id = 'NetworkManagerMptcpDisabled'; Facts = { @{ NetworkManager = [MptcpTools.Host.NetworkManagerMptcpSetting[]]@([MptcpTools.Host.NetworkManagerMptcpSetting]@{ Connection = 'up2'; Devices = [string[]]@('eth1'); RawFlags = 1 }) } } }
        @{ Id = 'NetworkManagerManagesEndpoints'; Facts = { @{ NetworkManager = [MptcpTools.Host.NetworkManagerMptcpSetting[]]@([MptcpTools.Host.NetworkManagerMptcpSetting]@{ Connection = 'up2'; Devices = [string[]]@('eth1'); RawFlags = 0; ManagesEndpoints = $true }) } } }
        @{ Id = 'FirewallDropsMptcpOption'; Facts = { @{ Firewall = [MptcpTools.Host.FirewallRuleFinding[]]@([MptcpTools.Host.FirewallRuleFinding]@{ Source = 'nftables'; Rule = 'tcp option mptcp exists drop'; Effect = 'DropsMptcpOption'; Remediation = 'Delete the rule: nft delete rule inet t input handle 4' }) } } }
        @{ Id = 'FirewallStripsMptcpOption'; Facts = { @{ Firewall = [MptcpTools.Host.FirewallRuleFinding[]]@([MptcpTools.Host.FirewallRuleFinding]@{ Source = 'iptables'; Rule = '-j TCPOPTSTRIP'; Effect = 'StripsMptcpOption'; Remediation = 'x' }) } } }
        @{ Id = 'FirewallBlocksSubflowPath'; Facts = { @{ Firewall = [MptcpTools.Host.FirewallRuleFinding[]]@([MptcpTools.Host.FirewallRuleFinding]@{ Source = 'nftables'; Rule = 'iifname eth0 tcp dport 5201 accept'; Effect = 'BlocksSubflowPath'; Remediation = 'x' }) } } }
        @{ Id = 'StrictReversePathFilter'; Facts = { @{ Firewall = [MptcpTools.Host.FirewallRuleFinding[]]@([MptcpTools.Host.FirewallRuleFinding]@{ Source = 'sysctl'; Rule = 'net.ipv4.conf.eth1.rp_filter = 1 (all = 0)'; Effect = 'StrictReversePath'; Remediation = 'x' }) } } }
        @{ Id = 'FirewallRuleUnjudged'; Facts = { @{ Firewall = [MptcpTools.Host.FirewallRuleFinding[]]@([MptcpTools.Host.FirewallRuleFinding]@{ Source = 'iptables'; Rule = '-m u32'; Effect = 'Unjudged'; Remediation = 'x' }) } } }
        @{ Id = 'MissingSourceRoute'; Facts = { @{ Routing = [MptcpTools.Diagnosis.MptcpRoutingResult[]]@([MptcpTools.Diagnosis.MptcpRoutingResult]@{ EndpointId = 1; Status = 'MissingSourceRoute'; OutputInterface = 'eth0'; Interface = 'eth1'; Remediation = 'ip rule add' }) } } }
        @{ Id = 'EndpointAddressMissing'; Facts = { @{ Routing = [MptcpTools.Diagnosis.MptcpRoutingResult[]]@([MptcpTools.Diagnosis.MptcpRoutingResult]@{ EndpointId = 1; Status = 'AddressMissing'; Remediation = 'Remove-MptcpEndpoint -Id 1' }) } } }
    ) {
        $f = Invoke-Rules (& $Facts)
        $hit = Get-Id $f $Id
        $hit.Count | Should -Be 1
        $hit[0].Evidence.Count | Should -BeGreaterThan 0
        $hit[0].Remediation | Should -Not -BeNullOrEmpty
        @($f | Where-Object { "$($_.Severity)" -ne 'Passed' }).Id | Should -Be @($Id) -Because 'only this fault was injected'
    }
}

Describe 'Application, probe and capture rules' {
    It 'ApplicationNotUsingMptcp carries the application''s own remediation' {
        $app = [MptcpTools.Diagnosis.MptcpApplicationReport]@{ ProcessId = 7; Name = 'iperf3'; TcpSockets = 2; UsesMptcp = $false; Remediation = 'mptcpize run iperf3 -c x' }
        $hit = Get-Id (Invoke-Rules @{ Applications = [MptcpTools.Diagnosis.MptcpApplicationReport[]]@($app) }) 'ApplicationNotUsingMptcp'
        $hit[0].Remediation | Should -Be 'mptcpize run iperf3 -c x'
    }

    It '<Id> from a probe that ended <Reason>' -ForEach @(
        @{ Id = 'PeerNotMptcpCapable'; Reason = 'PeerNotMptcpCapable' }
        @{ Id = 'MptcpSynDropped'; Reason = 'SynDropped' }
        @{ Id = 'PeerUnreachable'; Reason = 'ConnectFailed' }
    ) {
        $probe = [MptcpTools.Diagnosis.MptcpConnectivityResult]@{ ComputerName = '203.0.113.2'; Port = 5201; FallbackReason = $Reason }
        (Get-Id (Invoke-Rules @{ Probe = $probe }) $Id).Count | Should -Be 1
    }

    It 'JoinNotAnswered from a probe whose joins got no SYN-ACK' {
        $d = [Collections.Generic.Dictionary[string, long]]::new(); $d['MPJoinSynTx'] = 2; $d['MPJoinSynAckRx'] = 0
        $probe = [MptcpTools.Diagnosis.MptcpConnectivityResult]@{ ComputerName = 'p'; Port = 1; MptcpNegotiated = $true; FallbackReason = 'None'; CounterDeltas = $d }
        (Get-Id (Invoke-Rules @{ Probe = $probe }) 'JoinNotAnswered')[0].Summary | Should -Match '2 of 2'
    }

    It 'PlainTcpOnly from a capture whose connections never offered MPTCP (corpus: mptcp-dss-oobr)' {
        $capture = [MptcpTools.Packets.MptcpConnectionSummary[]]@(Read-MptcpCapture -LiteralPath (Join-Path $corpusDir 'mptcp-dss-oobr.pcap') -Summary)
        (Get-Id (Invoke-Rules @{ Capture = $capture }) 'PlainTcpOnly').Count | Should -Be 1
        $mptcp = [MptcpTools.Packets.MptcpConnectionSummary[]]@(Read-MptcpCapture -LiteralPath (Join-Path $corpusDir 'mptcp-v1.pcap') -Summary)
        (Get-Id (Invoke-Rules @{ Capture = $mptcp }) 'PlainTcpOnly').Count | Should -Be 0
    }

    It 'CheckUnavailable for each check that could not run, with the reason' {
        $u = [System.ValueTuple[string, string][]]@([System.ValueTuple[string, string]]::new('firewall (nftables)', 'Operation not permitted'))
        $hit = Get-Id (Invoke-Rules @{ Unavailable = $u }) 'CheckUnavailable'
        $hit[0].Component | Should -Be 'firewall (nftables)'
        $hit[0].Detail | Should -Be 'Operation not permitted'
    }
}
