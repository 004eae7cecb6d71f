# The diagnosis finds the cause unaided, with each cause injected by its real mechanism: a plain-TCP iperf3 found
# from the port alone (and from its bulk data with no argument at all), a server that drops MPTCP SYNs on a kernel
# with and without the SYN-drop fallback (emulated with syn_retrans_before_tcp_fallback high and blackhole_timeout
# 0), the blackhole that follows, endpoints in the wrong role, where strict reverse-path filtering comes from,
# and processes of other namespaces. NetworkManager beside mptcpd is judged in booted containers (Containers.Lab.Tests.ps1).
BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'Lab/MptcpLab.psm1') -Force
    $labSkip = [bool](Get-LabSkipReason)
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'Lab/MptcpLab.psm1') -Force
    $work = Join-Path ([IO.Path]::GetTempPath()) "mptl-$PID-causes"
    New-Item -ItemType Directory -Path $work -Force | Out-Null
    $noBus = "unix:path=$work/no-bus"
    function Invoke-LabDiagnosis([string] $Namespace, [hashtable] $Parameters = @{}, [hashtable] $BindMount = @{}) {
        if (-not $Parameters.ContainsKey('BusAddress')) { $Parameters.BusAddress = $noBus }
        Invoke-LabCmdlet $Namespace { param($p) Invoke-MptcpDiagnosis @p -IncludePassed } -ArgumentList $Parameters -BindMount $BindMount
    }
    function Get-Problem($Result, [string] $Id) { @($Result.Output | Where-Object { $_.Id -eq $Id -and $_.Severity -ne 'Passed' }) }
    $dropMpCapable = "table inet mptl {`n chain input_filter {`n  type filter hook input priority 0;`n  tcp option mptcp exists drop`n }`n}"
}
AfterAll { Remove-Item $work -Recurse -Force -ErrorAction Ignore }

Describe 'iperf3 without MPTCP, found without being named' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        Start-LabProcess $lab $lab.Server iperf3 '-s', '-p', '5201' | Out-Null
        Start-Sleep -Milliseconds 700
        $client = Start-LabProcess $lab $lab.Client iperf3 '-c', '203.0.113.2', '-p', '5201', '-t', '60', '-b', '4M'
        # More than a mebibyte has gone once the transfer has run a few seconds.
        $deadline = [DateTime]::UtcNow.AddSeconds(20)
        do { Start-Sleep -Milliseconds 500; $ss = (Invoke-InNamespace $lab.Client ss '-tni', 'dport = :5201') -join ' ' }
        until (([regex]::Match($ss, 'bytes_acked:(\d+)').Groups[1].Value -as [long]) -gt 1.5MB -or [DateTime]::UtcNow -gt $deadline)
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'from -Port alone: ApplicationNotUsingMptcp names iperf3, its connection and its fix (Error)' {
        $r = Invoke-LabDiagnosis $lab.Client @{ Port = 5201 }
        $r.Errors | Should -BeNullOrEmpty
        $hit = Get-Problem $r 'ApplicationNotUsingMptcp'
        $hit.Count | Should -Be 1
        $hit[0].Severity | Should -Be 'Error'
        # iperf3 opens a control connection and a data connection.
        $hit[0].Summary | Should -Match "^iperf3 \($($client.Id)\) uses plain TCP \(to 203\.0\.113\.2:5201, 2 connections\)"
        $hasSwitch = [bool]((& iperf3 --help 2>&1) -match '--mptcp')
        if ($hasSwitch) { $hit[0].Remediation | Should -Match 'iperf3 --mptcp' } else { $hit[0].Remediation | Should -Match 'mptcpize run iperf3 -c 203.0.113.2 -p 5201' }
        $hit[0].Evidence[1].Socket.RemotePort | Should -Be 5201
    }

    It 'on the server, -Port names the plain-TCP listener' {
        $r = Invoke-LabDiagnosis $lab.Server @{ Port = 5201 }
        $hit = Get-Problem $r 'ApplicationNotUsingMptcp'
        $hit[0].Summary | Should -Match '^iperf3 \(\d+\) uses plain TCP \(listening on port 5201'
    }

    It 'with no argument at all: the bulk transfer names iperf3 (a Warning, since this host has subflow endpoints)' {
        $r = Invoke-LabDiagnosis $lab.Client
        $hit = Get-Problem $r 'ApplicationNotUsingMptcp'
        $hit.Count | Should -Be 1
        $hit[0].Severity | Should -Be 'Warning'
        $hit[0].Summary | Should -Match "^iperf3 \($($client.Id)\) uses plain TCP \([\d.]+ MiB to 203\.0\.113\.2:5201\)"
    }

    It 'with a capture: PlainTcpOnly names iperf3 and gives its fix' {
        $r = Invoke-LabDiagnosis $lab.Client @{ CaptureSeconds = 1.5 }
        $hit = Get-Problem $r 'PlainTcpOnly'
        $hit.Count | Should -Be 1
        $hit[0].Detail | Should -Match "Here: iperf3 \($($client.Id)\)"
        $hit[0].Remediation | Should -Match "^iperf3 \($($client.Id)\): "
    }
}

Describe 'A server that drops MPTCP SYNs' -Tag Lab -Skip:$labSkip {
    BeforeEach {
        $lab = New-MptcpLab
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
        Add-LabNftRules $lab.Server $dropMpCapable
    }
    AfterEach { Remove-MptcpLab $lab }

    It 'on a kernel without the SYN-drop fallback (emulated): MptcpSynDropped from the plain-TCP control connection, not PeerUnreachable' {
        Invoke-InNamespace $lab.Client sysctl '-qw', 'net.mptcp.syn_retrans_before_tcp_fallback=100', 'net.mptcp.blackhole_timeout=0' | Out-Null
        $t = (Invoke-LabCmdlet $lab.Client { Test-MptcpConnectivity 203.0.113.2 5201 -Timeout 3 }).Output[0]
        $t.FallbackReason | Should -Be 'SynDropped'
        $t.Connected | Should -BeFalse
        $t.PlainTcpConnected | Should -BeTrue
        $r = Invoke-LabDiagnosis $lab.Client @{ ComputerName = '203.0.113.2'; Port = 5201 }
        (Get-Problem $r 'MptcpSynDropped')[0].Detail | Should -Match 'plain TCP connection to the same port got through'
        (Get-Problem $r 'PeerUnreachable').Count | Should -Be 0
    }

    It 'on this kernel: MptcpSynDropped from the kernel''s own fallback, then the blackhole, an Error with its counters and until when' {
        $t = (Invoke-LabCmdlet $lab.Client { Test-MptcpConnectivity 203.0.113.2 5201 -Timeout 10 }).Output[0]
        $t.FallbackReason | Should -Be 'SynDropped'
        $t.PlainTcpConnected | Should -BeNullOrEmpty   # the kernel fell back itself: no control connection was needed
        $r = Invoke-LabDiagnosis $lab.Client
        $hit = Get-Problem $r 'MptcpBlackholeDetected'
        $hit[0].Severity | Should -Be 'Error'
        $hit[0].Evidence[0].Blackholes | Should -BeGreaterOrEqual 1
        $hit[0].Evidence[0].SynDrops | Should -BeGreaterOrEqual 1
        $hit[0].Evidence[0].ActiveOpensDisabled | Should -BeTrue
        ([datetime]$hit[0].Evidence[0].DisabledUntilAtMost - [datetime]::UtcNow).TotalMinutes | Should -BeGreaterThan 50
        $hit[0].Detail | Should -Match 'MPCapableSYNTXDrop = \d+'
        # Once the detection is off, MPTCP is back: a Warning about the past, not an Error.
        Invoke-InNamespace $lab.Client sysctl '-qw', 'net.mptcp.blackhole_timeout=0' | Out-Null
        (Get-Problem (Invoke-LabDiagnosis $lab.Client) 'MptcpBlackholeDetected')[0].Severity | Should -Be 'Warning'
    }
}

Describe 'Endpoints in the wrong role' -Tag Lab -Skip:$labSkip {
    BeforeEach { $lab = New-MptcpLab }
    AfterEach { Remove-MptcpLab $lab }

    It 'a server with a subflow endpoint and no signal one' {
        Invoke-InNamespace $lab.Server ip 'addr', 'add', '203.0.113.3/24', 'dev', 's0' | Out-Null
        Invoke-InNamespace $lab.Server ip 'mptcp', 'endpoint', 'add', '203.0.113.3', 'dev', 's0', 'subflow' | Out-Null
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
        $hit = Get-Problem (Invoke-LabDiagnosis $lab.Server) 'EndpointRoleMismatch'
        $hit.Count | Should -Be 1
        $hit[0].Summary | Should -Match 'accepts MPTCP connections \(port 5201\) and opens none'
        $hit[0].Remediation | Should -Match 'ip mptcp endpoint add 203.0.113.3 dev s0 signal'
    }

    It 'a client with a signal endpoint and no subflow one, while it holds a connection' {
        Invoke-InNamespace $lab.Client ip 'mptcp', 'endpoint', 'flush' | Out-Null
        Invoke-InNamespace $lab.Client ip 'mptcp', 'endpoint', 'add', '198.51.100.2', 'dev', 'c1', 'signal' | Out-Null
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
        Start-LabPeer $lab $lab.Client 'send', '--to', '203.0.113.2', '--port', '5201', '--bytes', '1000', '--hold', '60' | Out-Null
        $hit = Get-Problem (Invoke-LabDiagnosis $lab.Client) 'EndpointRoleMismatch'
        $hit[0].Summary | Should -Match 'only opens MPTCP connections'
    }

    It 'a signal endpoint without a port, where the application listens on one address only' {
        Invoke-InNamespace $lab.Server ip 'addr', 'add', '203.0.113.3/24', 'dev', 's0' | Out-Null
        Invoke-InNamespace $lab.Server ip 'mptcp', 'endpoint', 'add', '203.0.113.3', 'dev', 's0', 'signal' | Out-Null
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5201', '--bind', '203.0.113.2' | Out-Null
        $hit = Get-Problem (Invoke-LabDiagnosis $lab.Server) 'EndpointRoleMismatch'
        $hit[0].Summary | Should -Match 'announces 203.0.113.3 without a port'
        $hit[0].Remediation | Should -Match 'signal port 5201'
    }
}

Describe 'Where strict reverse-path filtering comes from' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        $sysctlDir = Join-Path $work 'sysctl.d'; New-Item -ItemType Directory $sysctlDir -Force | Out-Null
        Set-Content (Join-Path $sysctlDir '10-hardening.conf') "# hardening guide`nnet.ipv4.conf.all.rp_filter = 1"
        $ufwDir = Join-Path $work 'ufw'; New-Item -ItemType Directory $ufwDir -Force | Out-Null
        Set-Content (Join-Path $ufwDir 'ufw.conf') "ENABLED=yes`nLOGLEVEL=low"
        Set-Content (Join-Path $ufwDir 'sysctl.conf') "# ufw`nnet/ipv4/conf/default/rp_filter=1`nnet/ipv4/conf/all/rp_filter=1"
        Invoke-InNamespace $lab.Client sysctl '-qw', 'net.ipv4.conf.all.rp_filter=1' | Out-Null
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'names the sysctl.d file and line' {
        $r = Invoke-LabDiagnosis $lab.Client @{} @{ '/etc/sysctl.d' = $sysctlDir }
        $hit = Get-Problem $r 'StrictReversePathFilter'
        $hit[0].Detail | Should -Match '/etc/sysctl.d/10-hardening.conf:2 sets net.ipv4.conf.all.rp_filter = 1 at boot'
        $hit[0].Repair[0].Interface | Should -Be 'c1'
    }

    It 'names ufw''s own sysctl file when ufw is enabled' {
        $r = Invoke-LabDiagnosis $lab.Client @{} @{ '/etc/sysctl.d' = $sysctlDir; '/etc/ufw' = $ufwDir }
        (Get-Problem $r 'StrictReversePathFilter')[0].Detail | Should -Match 'ufw, which is enabled, applies /etc/ufw/sysctl.conf:3 \(net.ipv4.conf.all.rp_filter = 1\)'
    }

    It 'finds a strict IPv6 reverse-path rule in nftables, and not its loose form' {
        Invoke-InNamespace $lab.Client sysctl '-qw', 'net.ipv4.conf.all.rp_filter=0' | Out-Null
        Add-LabNftRules $lab.Client "table inet rpf {`n chain pre {`n  type filter hook prerouting priority -150;`n  meta nfproto ipv6 fib saddr . iif oif missing drop`n }`n chain pre2 {`n  type filter hook prerouting priority -140;`n  meta nfproto ipv6 fib saddr oif missing drop`n }`n}"
        $hits = Get-Problem (Invoke-LabDiagnosis $lab.Client) 'StrictReversePathFilter'
        $hits.Count | Should -Be 1
        $hits[0].Evidence[0].Source | Should -Be 'nftables'
        $hits[0].Evidence[0].Chain | Should -Be 'pre'
        $hits[0].Remediation | Should -Match "fib saddr oif missing drop \(without '. iif'\)"
    }

    It 'finds ip6tables -m rpfilter without --loose' {
        Invoke-InNamespace $lab.Client nft 'delete', 'table', 'inet', 'rpf' | Out-Null
        Invoke-InNamespace $lab.Client ip6tables '-t', 'raw', '-A', 'PREROUTING', '-m', 'rpfilter', '--invert', '-j', 'DROP' | Out-Null
        $hits = Get-Problem (Invoke-LabDiagnosis $lab.Client) 'StrictReversePathFilter'
        $hits.Count | Should -Be 1
        $hits[0].Evidence[0].Source | Should -Be 'ip6tables'
        $hits[0].Remediation | Should -Match '--loose'
    }
}

Describe 'Processes and daemons of other network namespaces' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        $elsewhere = Start-LabProcess $lab $lab.Server sleep '300'
        Start-Sleep -Milliseconds 300
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'names the namespace and says to run the check there (the diagnosis)' {
        $r = Invoke-LabDiagnosis $lab.Client @{ ProcessId = @($elsewhere.Id) }
        $hit = Get-Problem $r 'OtherNetworkNamespace'
        $hit[0].Summary | Should -Be "sleep ($($elsewhere.Id)) runs in network namespace '$($lab.Server)', not in this one."
        $hit[0].Remediation | Should -Match "ip netns exec $($lab.Server) pwsh"
        (Get-Problem $r 'ApplicationNotUsingMptcp').Count | Should -Be 0
    }

    It 'Test-MptcpApplication says the same instead of "no socket open"' {
        $a = (Invoke-LabCmdlet $lab.Client { Test-MptcpApplication -ProcessId $args[0] } -ArgumentList $elsewhere.Id).Output[0]
        $a.OtherNetworkNamespace | Should -Be "'$($lab.Server)'"
        $a.Verdict | Should -Match 'Runs in network namespace'
        $a.Remediation | Should -Match "ip netns exec $($lab.Server) pwsh"
        "$($a.Remedy)" | Should -Be 'CheckOtherNamespace'
    }
}

Describe 'Probes judged from their own socket, with other traffic about' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5202', '--plain' | Out-Null
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'twenty probes at once to a plain server all say PeerNotMptcpCapable, and ten to an MPTCP one all say None' {
        $r = Invoke-LabCmdlet $lab.Client {
            param($module)
            $plain = 1..20 | ForEach-Object -ThrottleLimit 30 -AsJob -Parallel { Import-Module $using:module; Test-MptcpConnectivity 203.0.113.2 5202 }
            $mptcp = 1..10 | ForEach-Object -ThrottleLimit 30 -AsJob -Parallel { Import-Module $using:module; Test-MptcpConnectivity 203.0.113.2 5201 -Duration 1 }
            [pscustomobject]@{ Plain = @($plain | Receive-Job -Wait -AutoRemoveJob | ForEach-Object { "$($_.FallbackReason)" }); Mptcp = @($mptcp | Receive-Job -Wait -AutoRemoveJob | ForEach-Object { "$($_.FallbackReason)" }) }
        } -ArgumentList (Get-LabModulePath)
        $r.Errors | Should -BeNullOrEmpty
        $r.Output[0].Plain.Count | Should -Be 20
        $r.Output[0].Plain | Sort-Object -Unique | Should -Be 'PeerNotMptcpCapable'
        $r.Output[0].Mptcp.Count | Should -Be 10
        $r.Output[0].Mptcp | Sort-Object -Unique | Should -Be 'None'
    }
}
