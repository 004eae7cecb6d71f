# The diagnosis against the real kernel: a healthy two-path lab yields no error and no warning; each
# fault, injected through the real mechanism (sysctls, endpoints and limits, nft and iptables rules,
# routing, a broken mptcpd configuration, plain-TCP programs), makes its catalog id appear with the right
# evidence (systemd and NetworkManager: Containers.Lab.Tests.ps1). Then Repair-MptcpConfiguration, the shipped
# health-check suite, and the seed's iperf3 scenario end to end.
BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'Lab/MptcpLab.psm1') -Force
    $labSkip = [bool](Get-LabSkipReason)
    # Id, what injects it, the diagnosis parameters, and what its evidence must show.
    $scenarios = @(
        @{ Id = 'MptcpDisabled'; Inject = { param($lab) Invoke-InNamespace $lab.Client sysctl '-qw', 'net.mptcp.enabled=0' }; Check = { param($f) $f.Evidence[0].Enabled | Should -BeFalse } }
        @{ Id = 'ObsoleteSysctlKey'; Bind = "net.mptcp.mptcp_enabled = 1"; Check = { param($f) $f.Evidence[0].Key | Should -Be 'net.mptcp.mptcp_enabled'; $f.Evidence[0].Line | Should -Be 1 } }
        @{ Id = 'SysctlNotPersistent'; Bind = "net.mptcp.enabled = 0"; Check = { param($f) $f.Evidence[0].Value | Should -Be '0'; $f.Evidence[0].File | Should -Be '/etc/sysctl.d/50-mptcp.conf' } }
        @{ Id = 'NoSubflowEndpoints'; Inject = { param($lab) Invoke-InNamespace $lab.Client ip 'mptcp', 'endpoint', 'flush' }; Check = { param($f) @($f.Evidence).Count | Should -Be 0 } }
        @{ Id = 'SubflowLimitZero'; Inject = { param($lab) Invoke-InNamespace $lab.Client ip 'mptcp', 'limits', 'set', 'subflows', '0' }; Check = { param($f) $f.Evidence[0].Subflows | Should -Be 0 } }
        @{ Id = 'AddAddrAcceptedZero'; Inject = { param($lab) Invoke-InNamespace $lab.Client ip 'mptcp', 'limits', 'set', 'add_addr_accepted', '0' }; Check = { param($f) $f.Evidence[0].AddAddrAccepted | Should -Be 0 } }
        @{ Id = 'EndpointAddressMissing'; Inject = { param($lab) Invoke-InNamespace $lab.Client ip '-6', 'addr', 'del', '2001:db8:2::2/64', 'dev', 'c1' }; Check = { param($f) $f.Evidence[0].Address | Should -Be '2001:db8:2::2' } }
        @{ Id = 'EndpointsExceedLimit'; Inject = { param($lab) Invoke-InNamespace $lab.Client ip 'mptcp', 'limits', 'set', 'subflows', '1' }; Check = { param($f) $f.Evidence[0].Subflows | Should -Be 1 } }
        @{ Id = 'UserspacePmWithoutDaemon'; Inject = { param($lab) Invoke-InNamespace $lab.Client sysctl '-qw', 'net.mptcp.pm_type=1' }; Check = { param($f) $f.Evidence[0].Running | Should -BeFalse; $f.Evidence[0].KernelPathManager | Should -Be 'userspace' } }
        @{ Id = 'DaemonConfigInvalid'; Conf = "[core]`nlog=stderr`npath_manager=addr_adv"; Check = { param($f) $f.Evidence[0].Kind | Should -Be 'UnknownKey'; $f.Evidence[0].Line | Should -Be 3 } }
        @{ Id = 'DaemonPluginMissing'; Conf = "[core]`nlog=stderr`nplugin-dir=PLUGINS`npath-manager=nosuch"; Check = { param($f) $f.Evidence[0].Kind | Should -Be 'PluginMissing'; $f.Evidence[0].Line | Should -Be 4 } }
        @{ Id = 'FirewallDropsMptcpOption'; Nft = "table inet mptl {`n chain output_filter {`n  type filter hook output priority 0;`n  tcp option mptcp exists drop`n }`n}"; Check = { param($f) $f.Evidence[0].Rule | Should -Be 'tcp option mptcp exists drop' } }
        @{ Id = 'FirewallStripsMptcpOption'; Inject = { param($lab) Invoke-InNamespace $lab.Client iptables '-t', 'mangle', '-A', 'OUTPUT', '-p', 'tcp', '-j', 'TCPOPTSTRIP', '--strip-options', '30' }; Check = { param($f) $f.Evidence[0].Source | Should -Be 'iptables'; $f.Evidence[0].Chain | Should -Be 'OUTPUT' } }
        @{ Id = 'FirewallBlocksSubflowPath'; Port = 5201; Nft = "table inet mptl {`n chain input_filter {`n  type filter hook input priority 0; policy drop;`n  ct state established,related accept`n  iifname `"c0`" tcp dport 5201 accept`n }`n}"; Check = { param($f) $f.Evidence[0].Detail | Should -Match 'arrive on c1' } }
        @{ Id = 'StrictReversePathFilter'; Inject = { param($lab) Invoke-InNamespace $lab.Client sysctl '-qw', 'net.ipv4.conf.c1.rp_filter=1' }; Check = { param($f) $f.Evidence[0].Rule | Should -Match 'c1.rp_filter = 1' } }
        @{ Id = 'MissingSourceRoute'; Inject = { param($lab) Invoke-InNamespace $lab.Client ip 'rule', 'del', 'from', '198.51.100.2', 'table', '100' }; Check = { param($f) $f.Evidence[0].OutputInterface | Should -Be 'c0' } }
        @{ Id = 'PeerNotMptcpCapable'; Probe = 5202; Check = { param($f) $f.Evidence[0].FallbackReason | Should -Be 'PeerNotMptcpCapable' } }
        @{ Id = 'MptcpSynDropped'; Probe = 5201; ServerNft = "table inet mptl {`n chain input_filter {`n  type filter hook input priority 0;`n  tcp option mptcp exists drop`n }`n}"; Check = { param($f) $f.Evidence[0].CounterDeltas['MPCapableSYNTXDrop'] | Should -BeGreaterThan 0 } }
        @{ Id = 'JoinNotAnswered'; Probe = 5201; Capture = 3; RouterNft = "table inet mptl {`n chain forward_filter {`n  type filter hook forward priority 0;`n  ip saddr 198.51.100.2 tcp flags & (syn|ack) == syn drop`n }`n}"; Check = { param($f) @($f.Evidence[0].Subflows | Where-Object { -not $_.Initial -and "$($_.Outcome)" -eq 'SynUnanswered' }).Count | Should -BeGreaterThan 0 } }
        @{ Id = 'JoinRejected'; Probe = 5201; Capture = 3; ServerInject = { param($lab) Invoke-InNamespace $lab.Server ip 'mptcp', 'limits', 'set', 'subflows', '0', 'add_addr_accepted', '0' }; Check = { param($f) "$($f.Evidence[1].Outcome)" | Should -BeIn 'JoinRefused', 'Reset'; $f.Evidence[1].PayloadBytesFromClient | Should -Be 0 } }
    )
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'Lab/MptcpLab.psm1') -Force
    $work = Join-Path ([IO.Path]::GetTempPath()) "mptl-$PID-diag"
    New-Item -ItemType Directory -Path $work -Force | Out-Null
    $pluginDir = (Get-ChildItem /usr/lib/*/mptcpd -Directory -ErrorAction Ignore | Select-Object -First 1).FullName
    $noBus = "unix:path=$work/no-bus"
    # Runs the diagnosis in a namespace; returns its findings (enums by name) and errors.
    function Invoke-LabDiagnosis([string] $Namespace, [hashtable] $Parameters = @{}, [hashtable] $BindMount = @{}) {
        if (-not $Parameters.ContainsKey('BusAddress')) { $Parameters.BusAddress = $noBus }
        Invoke-LabCmdlet $Namespace { param($p) Invoke-MptcpDiagnosis @p -IncludePassed } -ArgumentList $Parameters -BindMount $BindMount
    }
}
AfterAll { Remove-Item $work -Recurse -Force -ErrorAction Ignore }

Describe 'A healthy two-path lab' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
        # A D-Bus without systemd or NetworkManager on it, as on a host without them: every check can run.
        $bus = (Start-LabDBus $lab).Address
        $r = Invoke-LabDiagnosis $lab.Client @{ ComputerName = '203.0.113.2'; Port = 5201; CaptureSeconds = 2; BusAddress = $bus }
        $quiet = Invoke-LabCmdlet $lab.Client { param($b) Invoke-MptcpDiagnosis -Quiet -BusAddress $b } -ArgumentList $bus
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'yields no error and no warning' {
        $r.Errors | Should -BeNullOrEmpty
        @($r.Output | Where-Object { $_.Severity -in 'Error', 'Warning' }) | ForEach-Object { "$($_.Id): $($_.Summary)" } | Should -BeNullOrEmpty
    }

    It 'says yes to a script that asks with -Quiet' {
        $quiet.Errors | Should -BeNullOrEmpty
        $quiet.Output | Should -Be @($true)
    }

    It 'passes the checks that matter, with their evidence' {
        $passed = @($r.Output | Where-Object Severity -eq 'Passed')
        foreach ($id in 'MptcpDisabled', 'NoSubflowEndpoints', 'SubflowLimitZero', 'MissingSourceRoute', 'PeerNotMptcpCapable', 'PlainTcpOnly', 'FirewallDropsMptcpOption') {
            $passed.Id | Should -Contain $id
        }
        ($passed | Where-Object Id -eq 'PeerNotMptcpCapable').Evidence[0].SubflowCount | Should -Be 2
    }
}

Describe 'Each fault, injected for real, gives its finding: <Id>' -Tag Lab -Skip:$labSkip -ForEach $scenarios {
    BeforeAll {
        $lab = New-MptcpLab
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5202', '--plain' | Out-Null
        $params = @{}
        $binds = @{}
        if ($Inject) { & $Inject $lab | Out-Null }
        if ($ServerInject) { & $ServerInject $lab | Out-Null }
        if ($Nft) { Add-LabNftRules $lab.Client $Nft }
        if ($ServerNft) { Add-LabNftRules $lab.Server $ServerNft }
        if ($RouterNft) { Add-LabNftRules $lab.Router $RouterNft }
        if ($Bind) {
            $dir = Join-Path $work "sysctl-$Id"; New-Item -ItemType Directory $dir -Force | Out-Null
            Set-Content (Join-Path $dir '50-mptcp.conf') $Bind
            $binds['/etc/sysctl.d'] = $dir
        }
        if ($Conf) { $c = Join-Path $work "$Id.conf"; Set-Content $c $Conf.Replace('PLUGINS', $pluginDir); $params.DaemonConfigPath = $c }
        if ($Port) { $params.Port = $Port }
        if ($Probe) { $params.ComputerName = '203.0.113.2'; $params.Port = $Probe }
        if ($Capture) { $params.CaptureSeconds = $Capture }
        $r = Invoke-LabDiagnosis $lab.Client $params $binds
        $hits = @($r.Output | Where-Object { $_.Id -eq $Id -and $_.Severity -ne 'Passed' })
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'appears, with its remediation' {
        $r.Errors | Should -BeNullOrEmpty
        $hits.Count | Should -BeGreaterOrEqual 1 -Because (($r.Output | Where-Object Severity -ne 'Passed' | ForEach-Object { "$($_.Id)" }) -join ', ')
        $hits[0].Remediation | Should -Not -BeNullOrEmpty
        $hits[0].HelpUri | Should -BeLike "https://*/en-US/about_MptcpTools.help.txt#:~:text=$Id"
        ([uri]$hits[0].HelpUri).IsAbsoluteUri | Should -BeTrue
    }

    It 'carries the right evidence' {
        & $Check $hits[0]
    }
}

Describe 'Repair-MptcpConfiguration' -Tag Lab -Skip:$labSkip {
    BeforeEach { $lab = New-MptcpLab }
    AfterEach { Remove-MptcpLab $lab }

    It 'changes nothing under -WhatIf' {
        Invoke-InNamespace $lab.Client sysctl '-qw', 'net.mptcp.enabled=0' | Out-Null
        Invoke-InNamespace $lab.Client ip 'mptcp', 'limits', 'set', 'subflows', '0' | Out-Null
        $file = Join-Path $work "whatif-$PID.conf"
        $r = Invoke-LabCmdlet $lab.Client { param($bus, $file) Invoke-MptcpDiagnosis -BusAddress $bus | Repair-MptcpConfiguration -SysctlFile $file -WhatIf } -ArgumentList $noBus, $file
        @($r.Output | Where-Object Applied).Count | Should -Be 0
        (Invoke-InNamespace $lab.Client sysctl '-n', 'net.mptcp.enabled') | Should -Be '0'
        $file | Should -Not -Exist
    }

    It 'enables MPTCP now and persistently, raises the limits and adds the missing endpoint, each with before and after' {
        Invoke-InNamespace $lab.Client sysctl '-qw', 'net.mptcp.enabled=0' | Out-Null
        Invoke-InNamespace $lab.Client ip 'mptcp', 'limits', 'set', 'subflows', '0', 'add_addr_accepted', '0' | Out-Null
        Invoke-InNamespace $lab.Client ip 'mptcp', 'endpoint', 'flush' | Out-Null
        $file = Join-Path $work "repair-$PID.conf"
        $r = Invoke-LabCmdlet $lab.Client { param($bus, $file) Invoke-MptcpDiagnosis -BusAddress $bus | Repair-MptcpConfiguration -SysctlFile $file -Confirm:$false } -ArgumentList $noBus, $file
        $r.Errors | Should -BeNullOrEmpty
        $enable = $r.Output | Where-Object Action -eq 'Set sysctl'
        $enable.Before | Should -Match '^0;'
        $enable.After | Should -Match '^1;'
        (Invoke-InNamespace $lab.Client sysctl '-n', 'net.mptcp.enabled') | Should -Be '1'
        Get-Content $file | Should -Contain 'net.mptcp.enabled = 1'
        ($r.Output | Where-Object Action -eq 'Set limits').After | Should -Be 'subflows 2 add_addr_accepted 2'
        (Invoke-InNamespace $lab.Client ip 'mptcp', 'limits') -join ' ' | Should -Match 'subflows 2'
        $added = @($r.Output | Where-Object Action -eq 'Add endpoint')
        $added.Target | Should -Contain '198.51.100.2 dev c1'
        (Invoke-InNamespace $lab.Client ip 'mptcp', 'endpoint', 'show') -join ' ' | Should -Match '198.51.100.2 id \d+ subflow dev c1'
        $added[0].Undo | Should -Match 'Remove-MptcpEndpoint -Id \d+'
        Remove-Item $file -ErrorAction Ignore
    }

    It 'only describes the riskier fixes without -Force, and applies them with it' {
        Invoke-InNamespace $lab.Client sysctl '-qw', 'net.ipv4.conf.c1.rp_filter=1' | Out-Null
        $r = Invoke-LabCmdlet $lab.Client { param($bus) Invoke-MptcpDiagnosis -BusAddress $bus | Repair-MptcpConfiguration -Confirm:$false } -ArgumentList $noBus
        $rp = $r.Output | Where-Object FindingId -eq 'StrictReversePathFilter'
        $rp.Applied | Should -BeFalse
        $rp.Note | Should -Match '-Force'
        (Invoke-InNamespace $lab.Client sysctl '-n', 'net.ipv4.conf.c1.rp_filter') | Should -Be '1'
        $r = Invoke-LabCmdlet $lab.Client { param($bus) Invoke-MptcpDiagnosis -BusAddress $bus | Repair-MptcpConfiguration -Force -Confirm:$false } -ArgumentList $noBus
        ($r.Output | Where-Object FindingId -eq 'StrictReversePathFilter').After | Should -Be '2'
        (Invoke-InNamespace $lab.Client sysctl '-n', 'net.ipv4.conf.c1.rp_filter') | Should -Be '2'
    }

    It 'deletes a firewall rule that drops option 30 only with -Force, with the exact command' {
        Add-LabNftRules $lab.Client "table inet mptl {`n chain output_filter {`n  type filter hook output priority 0;`n  tcp option mptcp exists drop`n }`n}"
        $r = Invoke-LabCmdlet $lab.Client { param($bus) Invoke-MptcpDiagnosis -BusAddress $bus | Repair-MptcpConfiguration -Confirm:$false } -ArgumentList $noBus
        ($r.Output | Where-Object FindingId -eq 'FirewallDropsMptcpOption').Applied | Should -BeFalse
        (Invoke-InNamespace $lab.Client nft 'list', 'ruleset') -join ' ' | Should -Match 'tcp option mptcp exists drop'
        $r = Invoke-LabCmdlet $lab.Client { param($bus) Invoke-MptcpDiagnosis -BusAddress $bus | Repair-MptcpConfiguration -Force -Confirm:$false } -ArgumentList $noBus
        $del = $r.Output | Where-Object FindingId -eq 'FirewallDropsMptcpOption'
        $del.Applied | Should -BeTrue
        $del.Command | Should -Match '^nft delete rule inet mptl output_filter handle \d+$'
        (Invoke-InNamespace $lab.Client nft 'list', 'ruleset') -join ' ' | Should -Not -Match 'mptcp exists drop'
    }
}

Describe 'The shipped Pester health checks' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
        $pester = (Get-ChildItem (Join-Path $PSScriptRoot '../output/tools/packages/pester') -Filter Pester.psd1 -Recurse | Select-Object -First 1).FullName
        $runSuite = {
            param($Pester, $Data)
            Import-Module $Pester
            # As the recipe in about_MptcpTools: the module imported by path (it is not on PSModulePath here), and
            # the suite finds the module it was shipped with by itself.
            $suite = Join-Path (Get-Module MptcpTools).ModuleBase 'HealthChecks/MptcpHealth.Tests.ps1'
            $result = Invoke-Pester -Container (New-PesterContainer -Path $suite -Data $Data) -PassThru -Output None
            $result.Tests | ForEach-Object { [pscustomobject]@{ Name = $_.ExpandedName; Result = "$($_.Result)" } }
        }
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'pass on the healthy lab client, with a peer and the expected endpoints' {
        $bus = (Start-LabDBus $lab).Address
        $r = Invoke-LabCmdlet $lab.Client $runSuite -ArgumentList $pester, @{ ExpectedEndpoints = @('198.51.100.2', '2001:db8:2::2'); Peer = '203.0.113.2'; Port = 5201; BusAddress = $bus }
        $r.Errors | Should -BeNullOrEmpty
        @($r.Output | Where-Object Result -ne 'Passed' | Where-Object Result -ne 'Skipped').Name | Should -BeNullOrEmpty
        ($r.Output | Where-Object Name -eq 'the peer negotiates MPTCP').Result | Should -Be 'Passed'
        ($r.Output | Where-Object Name -eq 'MPTCP is enabled and persistent').Result | Should -Be 'Passed'
        ($r.Output | Where-Object Name -eq 'every check of the diagnosis could run').Result | Should -Be 'Passed'
    }

    It 'fail the completeness item where the D-Bus cannot be reached, and say so' {
        $r = Invoke-LabCmdlet $lab.Client $runSuite -ArgumentList $pester, @{ BusAddress = "unix:path=$work/no-bus" }
        ($r.Output | Where-Object Name -eq 'every check of the diagnosis could run').Result | Should -Be 'Failed'
        ($r.Output | Where-Object Name -eq 'the kernel has MPTCP').Result | Should -Be 'Passed'
    }

    It 'fail the checklist item that matches an injected fault' {
        Invoke-InNamespace $lab.Client ip 'mptcp', 'limits', 'set', 'subflows', '0' | Out-Null
        $r = Invoke-LabCmdlet $lab.Client $runSuite -ArgumentList $pester, @{ ExpectedEndpoints = @('192.0.2.99') }
        ($r.Output | Where-Object Name -eq 'connections may open extra subflows').Result | Should -Be 'Failed'
        ($r.Output | Where-Object Name -eq 'the expected endpoints exist: 192.0.2.99').Result | Should -Be 'Failed'
        ($r.Output | Where-Object Name -eq 'the kernel has MPTCP').Result | Should -Be 'Passed'
    }
}

Describe 'The seed: mptcpd running, sysctl set, iperf3 sending without MPTCP' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        $conf = Join-Path $work 'seed.conf'
        Set-Content $conf "[core]`nlog=stderr`nplugin-dir=$pluginDir`npath-manager=addr_adv"
        Start-LabProcess $lab $lab.Client unshare '-m', 'sh', '-c', "mount --bind '$conf' /etc/mptcpd/mptcpd.conf && exec /usr/libexec/mptcpd" | Out-Null
        Invoke-InNamespace $lab.Client sysctl '-qw', 'net.mptcp.enabled=1' | Out-Null
        Start-LabProcess $lab $lab.Server iperf3 '-s', '-p', '5301' | Out-Null
        Start-LabProcess $lab $lab.Server mptcpize 'run', 'iperf3', '-s', '-p', '5302' | Out-Null
        Start-Sleep -Milliseconds 700
        Start-LabProcess $lab $lab.Client iperf3 '-c', '203.0.113.2', '-p', '5301', '-t', '30', '-b', '2M' | Out-Null
        Start-Sleep -Milliseconds 800
        $r = Invoke-LabDiagnosis $lab.Client @{ ProcessName = 'iperf3'; CaptureSeconds = 2; Port = 5301 }
        $problems = @($r.Output | Where-Object { $_.Severity -in 'Error', 'Warning' })
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'names the cause: iperf3 never asked for MPTCP, and the wire shows plain TCP only' {
        $r.Errors | Should -BeNullOrEmpty
        $problems.Id | Should -Contain 'ApplicationNotUsingMptcp'
        $problems.Id | Should -Contain 'PlainTcpOnly'
        ($r.Output | Where-Object Id -eq 'DaemonNotRunning').Severity | Should -Be 'Passed'  # mptcpd runs
        ($r.Output | Where-Object Id -eq 'MptcpDisabled').Severity | Should -Be 'Passed'
    }

    It 'gives the fix the installed iperf3 needs' {
        $app = $problems | Where-Object Id -eq 'ApplicationNotUsingMptcp'
        $hasSwitch = [bool]((& iperf3 --help 2>&1) -match '--mptcp')
        if ($hasSwitch) { $app.Remediation | Should -Match 'iperf3 --mptcp' } else { $app.Remediation | Should -Match 'mptcpize run iperf3 -c 203.0.113.2 -p 5301' }
    }

    It 'after following the fix, the capture shows MP_CAPABLE' {
        $r2 = Invoke-LabCmdlet $lab.Client {
            # The fixed command starts once the capture runs, so the handshake is on it.
            $psi = [Diagnostics.ProcessStartInfo]::new('sh'); $psi.ArgumentList.Add('-c')
            $psi.ArgumentList.Add('sleep 1.5; exec mptcpize run iperf3 -c 203.0.113.2 -p 5302 -t 2 -b 1M > /dev/null')
            [Diagnostics.Process]::Start($psi) | Out-Null
            Watch-MptcpPackets -Port 5302 -Duration 5 -Summary
        }
        $r2.Errors | Should -BeNullOrEmpty
        @($r2.Output | Where-Object Outcome -eq 'Mptcp').Count | Should -BeGreaterThan 0
    }
}
