# Live connections and applications in the lab: Get-MptcpConnection against ss, Test-MptcpConnectivity
# against real servers (MPTCP, plain TCP, option 30 dropped), Test-MptcpApplication on iperf3 with and
# without mptcpize, Watch-MptcpEvent on a lab connection, and 10,000 concurrent connections.
BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'Lab/MptcpLab.psm1') -Force
    $labSkip = [bool](Get-LabSkipReason)
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'Lab/MptcpLab.psm1') -Force
    # `ss -Mni` / `ss -tni` blocks: the socket line and its detail line, keyed by "local peer".
    function Get-SsSocket([string] $Namespace, [string[]] $Arguments) {
        $lines = @(Invoke-InNamespace $Namespace ss $Arguments)
        $result = @{}
        for ($i = 1; $i -lt $lines.Count - 1; $i++) {
            if ($lines[$i] -match '^\S+\s+\d+\s+\d+\s+(\S+)\s+(\S+)') {
                $key = "$($Matches[1] -replace '%\w+', '') $($Matches[2])"
                $result[$key] = $lines[$i + 1]
            }
        }
        $result
    }
    function Get-SsField([string] $Text, [string] $Name) { if ($Text -match "(?:^|\s)${Name}:(\S+)") { $Matches[1] } }
}

Describe 'Get-MptcpConnection agrees with ss on a two-path transfer' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
        # Held long enough for every test below, also on a loaded machine where each pwsh takes seconds to start.
        $sender = Start-LabPeer $lab $lab.Client 'send', '--to', $lab.Addresses.ServerAddress, '--port', '5201', '--bytes', '20000000', '--hold', '300'
        Start-Sleep -Milliseconds 800
        $r = Invoke-LabCmdlet $lab.Client { Get-MptcpConnection }
        $mptcp = Get-SsSocket $lab.Client '-Mni'
        $tcp = Get-SsSocket $lab.Client '-tni'
        $c = @($r.Output)
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'lists the connection with its owner and two subflows' {
        $r.Errors | Should -BeNullOrEmpty
        $c.Count | Should -Be 1
        $c[0].State | Should -Be 'Established'
        $c[0].SubflowCount | Should -Be 2
        $c[0].Subflows.Count | Should -Be 2
        $c[0].ProcessId | Should -Be $sender.Pid
        $c[0].ProcessName | Should -Be 'MptcpPeer'
        $c[0].Fallback | Should -BeFalse
    }

    It 'has the token and mptcp_info figures ss -Mni prints' {
        $line = $mptcp["$($c[0].LocalAddress):$($c[0].LocalPort) $($c[0].RemoteAddress):$($c[0].RemotePort)"]
        $line | Should -Not -BeNullOrEmpty
        $c[0].Token | Should -Be ([Convert]::ToUInt32((Get-SsField $line 'token'), 16))
        $c[0].ExtraSubflows | Should -Be ([int](Get-SsField $line 'subflows'))
        $c[0].SubflowsMax | Should -Be ([int](Get-SsField $line 'subflows_max'))
        $c[0].AddAddrAcceptedMax | Should -Be ([int](Get-SsField $line 'add_addr_accepted_max'))
        $line | Should -Match 'remote_key'
        $c[0].RemoteKeyReceived | Should -BeTrue
    }

    It 'has, for each subflow, the addresses, ids and byte counts ss -tni prints' {
        foreach ($s in $c[0].Subflows) {
            $line = $tcp["$($s.LocalAddress):$($s.LocalPort) $($s.RemoteAddress):$($s.RemotePort)"]
            $line | Should -Match 'tcp-ulp-mptcp'
            $s.BytesSent | Should -Be ([uint64](Get-SsField $line 'bytes_sent'))
            $s.BytesAcked | Should -Be ([uint64](Get-SsField $line 'bytes_acked'))
            # ss: "token:REMOTE(id:REMOTE_ID)/LOCAL(id:LOCAL_ID)"
            $line -match "token:[0-9a-f]+\(id:$($s.RemoteId)\)/([0-9a-f]+)\(id:$($s.LocalId)\)" | Should -BeTrue -Because $line
            [Convert]::ToUInt32($Matches[1], 16) | Should -Be $s.LocalToken
        }
        ($c[0].Subflows | Where-Object LocalId -eq 1).LocalAddress | Should -Be $lab.Addresses.ClientPath2
        ($c[0].Subflows | Measure-Object BytesSent -Sum).Sum | Should -BeGreaterOrEqual 20000000
    }

    It 'filters by port, address and process, and lists the server''s listener with -Listening' {
        (Invoke-LabCmdlet $lab.Client { Get-MptcpConnection -RemotePort 5201 -RemoteAddress 203.0.113.2 -ProcessId $args[0] } -ArgumentList $sender.Pid).Output.Count | Should -Be 1
        (Invoke-LabCmdlet $lab.Client { Get-MptcpConnection -RemotePort 9 }).Output.Count | Should -Be 0
        $server = (Invoke-LabCmdlet $lab.Server { Get-MptcpConnection -Listening }).Output
        ($server | Where-Object State -eq 'Listen').LocalPort | Should -Be 5201
        ($server | Where-Object State -eq 'Established').RemoteAddress | Should -Be '::ffff:192.0.2.2'
    }

    It 'without CAP_NET_ADMIN still lists the connection and its subflows, and says what the kernel withheld' {
        # Observed on 6.18: the tokens still come, the mapping sequence numbers do not.
        $r2 = Invoke-LabCmdlet $lab.Client { Get-MptcpConnection } -DropCapability net_admin
        $r2.Output[0].Token | Should -Be $c[0].Token
        $r2.Output[0].Subflows.Count | Should -Be 2
        @($r2.Output[0].Subflows | Where-Object { $null -ne $_.MapSequence }).Count | Should -Be 0
        @($c[0].Subflows | Where-Object { $null -ne $_.MapSequence }).Count | Should -Be 2
        $r2.Output[0].Note | Should -Match 'CAP_NET_ADMIN'
    }
}

Describe 'Get-MptcpConnection finds owners beyond this namespace''s processes' -Tag Lab -Skip:$labSkip {
    # The scan reads this namespace's processes first, and the others only for sockets still without an owner:
    # a process that connected here and then moved to the router's namespace must still be found, as ss -p finds it.
    BeforeAll {
        $lab = New-MptcpLab
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
        $moved = Start-LabPeer $lab $lab.Client 'send', '--to', $lab.Addresses.ServerAddress, '--port', '5201', '--then-netns', $lab.Router, '--hold', '120'
        $stay = Start-LabPeer $lab $lab.Client 'send', '--to', $lab.Addresses.ServerAddress, '--port', '5201', '--hold', '120'
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'names the owner that moved to another namespace, and the one that stayed' {
        (Get-Item "/proc/$($moved.Pid)/ns/net").LinkTarget | Should -Be (Get-Item "/run/netns/$($lab.Router)" | ForEach-Object { "net:[$((& stat -L -c %i $_.FullName))]" })
        $r = Invoke-LabCmdlet $lab.Client { Get-MptcpConnection -RemotePort 5201 }
        $r.Errors | Should -BeNullOrEmpty
        $byPort = @{}; foreach ($c in $r.Output) { $byPort[[int]$c.LocalPort] = $c }
        $byPort[[int]$moved.Result.localPort].ProcessId | Should -Be $moved.Pid
        $byPort[[int]$stay.Result.localPort].ProcessId | Should -Be $stay.Pid
        $byPort[[int]$moved.Result.localPort].ProcessName | Should -Be 'MptcpPeer'
        # ss -p agrees on both.
        $ss = (Invoke-InNamespace $lab.Client ss '-Mnp') -join "`n"
        $ss | Should -Match "pid=$($moved.Pid),"
        $ss | Should -Match "pid=$($stay.Pid),"
    }
}

Describe 'Test-MptcpConnectivity against real servers' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5202', '--plain' | Out-Null
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'negotiates MPTCP with a healthy server, and brings up two subflows over <Family>' -ForEach @(
        @{ Family = 'IPv4'; Server = '203.0.113.2'; Path2 = '198.51.100.2' }
        @{ Family = 'IPv6'; Server = '2001:db8:3::2'; Path2 = '2001:db8:2::2' }
    ) {
        $r = Invoke-LabCmdlet $lab.Client { Test-MptcpConnectivity $args[0] 5201 -Duration 1 } -ArgumentList $Server
        $r.Errors | Should -BeNullOrEmpty
        $r.Output[0].MptcpNegotiated | Should -BeTrue
        $r.Output[0].FallbackReason | Should -Be 'None'
        $r.Output[0].SubflowCount | Should -Be 2
        @($r.Output[0].SubflowLocalAddresses | ForEach-Object { ($_ -split ':\d+$')[0].Trim('[', ']') }) | Should -Contain $Path2
        $r.Output[0].BytesSent | Should -BeGreaterThan 0
    }

    It 'says a plain TCP server did not answer MP_CAPABLE' {
        $r = Invoke-LabCmdlet $lab.Client { Test-MptcpConnectivity 203.0.113.2 5202 }
        $r.Output[0].Connected | Should -BeTrue
        $r.Output[0].MptcpNegotiated | Should -BeFalse
        $r.Output[0].FallbackReason | Should -Be 'PeerNotMptcpCapable'
        $r.Output[0].CounterDeltas['MPCapableFallbackSYNACK'] | Should -Be 1
    }

    It 'says the MPTCP SYNs were dropped when the server''s nftables drops option 30' {
        Add-LabNftRules $lab.Server "table inet mptl {`n chain input {`n  type filter hook input priority 0;`n  tcp option mptcp exists drop`n }`n}"
        try {
            $r = Invoke-LabCmdlet $lab.Client { Test-MptcpConnectivity 203.0.113.2 5201 -Timeout 15 }
            $r.Output[0].Connected | Should -BeTrue
            $r.Output[0].FallbackReason | Should -Be 'SynDropped'
            $r.Output[0].Detail | Should -Match 'MPCapableSYNTXDrop'
        }
        finally { Invoke-InNamespace $lab.Server nft 'delete', 'table', 'inet', 'mptl' | Out-Null }
    }

    It 'reports a refused connection and a disabled MPTCP as results, not errors' {
        $r = Invoke-LabCmdlet $lab.Client { Test-MptcpConnectivity 203.0.113.2 5999 }
        $r.Errors | Should -BeNullOrEmpty
        $r.Output[0].FallbackReason | Should -Be 'ConnectFailed'
        $r.Output[0].Detail | Should -Match 'refused'
        Invoke-InNamespace $lab.Client sysctl '-qw', 'net.mptcp.enabled=0' | Out-Null
        try {
            $r = Invoke-LabCmdlet $lab.Client { Test-MptcpConnectivity 203.0.113.2 5201 }
            $r.Errors | Should -BeNullOrEmpty
            $r.Output[0].FallbackReason | Should -Be 'MptcpDisabledLocally'
            $r.Output[0].Detail | Should -Match 'net.mptcp.enabled'
        }
        finally { Invoke-InNamespace $lab.Client sysctl '-qw', 'net.mptcp.enabled=1' | Out-Null }
    }
}

Describe 'Test-MptcpApplication on iperf3, plain and under mptcpize' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        Start-LabProcess $lab $lab.Server iperf3 '-s', '-p', '5301' | Out-Null
        Start-LabProcess $lab $lab.Server mptcpize 'run', 'iperf3', '-s', '-p', '5302' | Out-Null
        Start-Sleep -Milliseconds 700
        $plain = Start-LabProcess $lab $lab.Client iperf3 '-c', $lab.Addresses.ServerAddress, '-p', '5301', '-t', '20', '-b', '1M'
        $wrapped = Start-LabProcess $lab $lab.Client mptcpize 'run', 'iperf3', '-c', $lab.Addresses.ServerAddress, '-p', '5302', '-t', '20', '-b', '1M'
        Start-Sleep -Milliseconds 1500
        $r = Invoke-LabCmdlet $lab.Client { Test-MptcpApplication -Name iperf3 }
        $byPid = @{}; foreach ($o in $r.Output) { $byPid[[int]$o.ProcessId] = $o }
        $expectedVersion = (& dpkg-query -W -f='${Version}' iperf3)
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'finds both iperf3 clients' {
        $r.Errors | Should -BeNullOrEmpty
        $byPid.Keys | Should -Contain $plain.Id
        $byPid.Keys | Should -Contain $wrapped.Id
    }

    It 'says plain iperf3 does not use MPTCP, and how to fix it for the installed version' {
        $p = $byPid[$plain.Id]
        $p.UsesMptcp | Should -BeFalse
        $p.TcpSockets | Should -BeGreaterThan 0
        $p.UnderMptcpize | Should -BeFalse
        $p.Version | Should -Be $expectedVersion
        $p.Package | Should -Be 'iperf3'
        $helpHasMptcp = [bool]((& iperf3 --help 2>&1) -match '--mptcp')
        if ($helpHasMptcp) { $p.Remediation | Should -Match 'iperf3 --mptcp'; "$($p.Remedy)" | Should -Be 'OwnSwitch' }
        else {
            $p.Remediation | Should -Match 'has no MPTCP switch \(iperf3 has --mptcp from 3\.19\): run it under mptcpize \(package mptcpize\): mptcpize run iperf3 -c'
            "$($p.Remedy)" | Should -Be 'MptcpizeRun'
        }
        $p.IsStaticallyLinked | Should -BeFalse
        $p.IsGoBinary | Should -BeFalse
    }

    It 'says iperf3 under mptcpize uses MPTCP' {
        $w = $byPid[$wrapped.Id]
        $w.UsesMptcp | Should -BeTrue
        $w.UnderMptcpize | Should -BeTrue
        $w.MptcpSockets | Should -BeGreaterThan 0
        $w.Remediation | Should -BeNullOrEmpty
    }

    It 'reports a process that is gone and still reports the others' {
        $r2 = Invoke-LabCmdlet $lab.Client { Test-MptcpApplication -ProcessId 999999999, $args[0] } -ArgumentList $plain.Id
        $r2.Errors.Count | Should -Be 1
        $r2.Errors[0].FullyQualifiedErrorId | Should -BeLike 'ProcessNotFound,*'
        $r2.Output.Count | Should -Be 1
    }

    It 'takes Get-MptcpConnection''s objects from the pipeline' {
        $r3 = Invoke-LabCmdlet $lab.Client { Get-MptcpConnection | Test-MptcpApplication }
        $r3.Output.ProcessId | Should -Contain $wrapped.Id
        $r3.Output.ProcessId | Should -Not -Contain $plain.Id
    }
}

Describe 'Test-MptcpApplication on a Go program, a static one and a socket-activated one' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $goProbe = (Resolve-Path (Join-Path $PSScriptRoot '../output/tools/GoProbe/goprobe') -ErrorAction Ignore).Path
        if (-not $goProbe) { throw 'output/tools/GoProbe/goprobe is missing: build.ps1 -Task Test builds it with golang-go (a test prerequisite).' }
        $lab = New-MptcpLab
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5401' | Out-Null
        # A Go program, busybox-static's nc alone and under mptcpize, and a program systemd's own activator hands a socket.
        $go = Start-LabProcess $lab $lab.Client $goProbe 'dial', "$($lab.Addresses.ServerAddress):5401"
        $static = Start-LabProcess $lab $lab.Client /bin/busybox 'nc', $lab.Addresses.ServerAddress, '5401' -KeepInputOpen
        $wrapped = Start-LabProcess $lab $lab.Client mptcpize 'run', '/bin/busybox', 'nc', $lab.Addresses.ServerAddress, '5401' -KeepInputOpen
        $activated = Start-LabProcess $lab $lab.Client systemd-socket-activate '-l', '127.0.0.1:5402', '--fdname=lab-web.socket', 'sleep', '60'
        # systemd-socket-activate execs its program at the first connection: make one from the same namespace.
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        do {
            Start-Sleep -Milliseconds 200
            $null = Invoke-InNamespace $lab.Client bash '-c', 'exec 3<>/dev/tcp/127.0.0.1/5402' -AllowFailure
        } until ($LASTEXITCODE -eq 0 -or [DateTime]::UtcNow -gt $deadline)
        # ss is the reference: which of these processes hold TCP sockets, and which MPTCP ones.
        function Get-SocketOwners([string] $Kind) {
            @(Invoke-InNamespace $lab.Client ss "-H$($Kind)anp" | ForEach-Object { [regex]::Matches($_, 'pid=(\d+)') | ForEach-Object { [int]$_.Groups[1].Value } }) | Sort-Object -Unique
        }
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        do { Start-Sleep -Milliseconds 300; $tcpOwners = Get-SocketOwners 't' }
        until ((@($go.Id, $static.Id, $wrapped.Id, $activated.Id) | Where-Object { $_ -notin $tcpOwners }).Count -eq 0 -or [DateTime]::UtcNow -gt $deadline)
        $mptcpOwners = Get-SocketOwners 'M'
        $r = Invoke-LabCmdlet $lab.Client { Test-MptcpApplication -ProcessId $args } -ArgumentList $go.Id, $static.Id, $wrapped.Id, $activated.Id
        $byPid = @{}; foreach ($o in $r.Output) { $byPid[[int]$o.ProcessId] = $o }
        $goVersion = (& go version $goProbe) -replace '^.*: ', ''
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'reports all four, each with plain TCP sockets as ss shows them' {
        $r.Errors | Should -BeNullOrEmpty
        foreach ($p in $go, $static, $wrapped, $activated) {
            $tcpOwners | Should -Contain $p.Id
            $mptcpOwners | Should -Not -Contain $p.Id
            $byPid[$p.Id].UsesMptcp | Should -BeFalse
            $byPid[$p.Id].TcpSockets | Should -BeGreaterThan 0
        }
    }

    It 'says the Go program is Go, of the release go version reads, and that only Go can make it use MPTCP' {
        $g = $byPid[$go.Id]
        $g.IsGoBinary | Should -BeTrue
        $g.GoVersion | Should -Be $goVersion
        $g.IsStaticallyLinked | Should -BeTrue
        $minor = [int]([regex]::Match($goVersion, 'go1\.(\d+)').Groups[1].Value)
        if ($minor -lt 21) {
            "$($g.Remedy)" | Should -Be 'GoRebuild'
            $g.Remediation | Should -Match "built with $([regex]::Escape($goVersion)), which has no MPTCP: rebuild it with Go 1\.21"
        }
        else {
            "$($g.Remedy)" | Should -Be 'GoDebug'
            $g.Remediation | Should -Match 'GODEBUG=multipathtcp=1'
        }
        $g.Remediation | Should -Match 'mptcpize cannot convert it'
    }

    It 'says plainly that mptcpize cannot convert busybox-static, and shows it failing to' {
        $s = $byPid[$static.Id]
        $s.IsStaticallyLinked | Should -BeTrue
        $s.IsGoBinary | Should -BeFalse
        "$($s.Remedy)" | Should -Be 'CannotConvert'
        $s.Remediation | Should -Match '^It is statically linked: mptcpize cannot convert it'
        $w = $byPid[$wrapped.Id]
        $w.UnderMptcpize | Should -BeTrue -Because 'mptcpize run put its library in LD_PRELOAD'
        "$($w.Remedy)" | Should -Be 'CannotConvert'
        $w.Remediation | Should -Match 'runs under mptcpize, but it is statically linked: the library mptcpize preloads never loads into it'
    }

    It 'sees the socket systemd handed over, and what this systemd can do about it' {
        $a = $byPid[$activated.Id]
        $a.SocketUnit | Should -Be 'lab-web.socket'
        $a.TcpListeners | Should -Be 1
        $systemd = (& dpkg-query -W -f='${Version}' systemd)
        & dpkg --compare-versions $systemd lt 257
        if ($LASTEXITCODE -eq 0) {
            "$($a.Remedy)" | Should -Be 'CannotConvert'
            $a.Remediation | Should -Match "this systemd $([regex]::Escape($systemd)) predates SocketProtocol=mptcp \(257\)"
        }
        else {
            "$($a.Remedy)" | Should -Be 'SocketUnit'
            $a.Remediation | Should -Match 'SocketProtocol=mptcp'
        }
    }

    It 'gives the diagnosis the same remediation for the Go program' {
        $d = Invoke-LabCmdlet $lab.Client { Invoke-MptcpDiagnosis -ProcessName goprobe }
        $finding = @($d.Output | Where-Object Id -eq 'ApplicationNotUsingMptcp')
        $finding.Count | Should -Be 1
        $finding[0].Remediation | Should -Be $byPid[$go.Id].Remediation
    }
}

Describe 'Watch-MptcpEvent' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'sees created, established, subflow established and closed for a lab connection, in order' {
        $r = Invoke-LabCmdlet $lab.Client {
            param($Peer)
            Start-Process $Peer -ArgumentList 'send', '--to', '203.0.113.2', '--port', '5201', '--bytes', '100000', '--delay', '1', '--hold', '1' -RedirectStandardOutput /dev/null
            Watch-MptcpEvent -Duration 5
        } -ArgumentList (Get-LabPeerPath)
        $r.Errors | Should -BeNullOrEmpty
        $types = @($r.Output.Type)
        $order = 'Created', 'Established', 'SubflowEstablished', 'Closed' | ForEach-Object { [array]::IndexOf($types, $_) }
        $order | Should -Not -Contain -1
        ($order | Sort-Object) | Should -Be $order
        ($r.Output | Where-Object Type -eq 'SubflowEstablished').SourceAddress | Should -Be '198.51.100.2'
        @($r.Output.Token | Sort-Object -Unique).Count | Should -Be 1
    }

    It 'stops after -Count events, and needs CAP_NET_ADMIN' {
        $r = Invoke-LabCmdlet $lab.Client {
            param($Peer)
            Start-Process $Peer -ArgumentList 'send', '--to', '203.0.113.2', '--port', '5201', '--bytes', '1000', '--delay', '1' -RedirectStandardOutput /dev/null
            Watch-MptcpEvent -Count 2 -Duration 20
        } -ArgumentList (Get-LabPeerPath)
        @($r.Output).Count | Should -Be 2
        $r = Invoke-LabCmdlet $lab.Client { Watch-MptcpEvent -Duration 1 } -DropCapability net_admin
        $r.Errors[0].FullyQualifiedErrorId | Should -BeLike 'PermissionDenied,*'
        $r.Errors[0].ErrorDetails | Should -Match 'CAP_NET_ADMIN'
    }
}

Describe 'Scale: 10,000 concurrent MPTCP connections' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
        $many = Start-LabPeer $lab $lab.Client 'send', '--to', $lab.Addresses.ServerAddress, '--port', '5201', '--connections', '10000', '--hold', '120' -TimeoutSeconds 120
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'lists every one, as ss does' {
        $many.Result.connections | Should -Be 10000
        $r = Invoke-LabCmdlet $lab.Client { Get-MptcpConnection -RemotePort 5201 | Measure-Object | ForEach-Object Count }
        $ss = @(Invoke-InNamespace $lab.Client ss '-Mn', 'dport', '=', ':5201').Count - 1
        $r.Output[0] | Should -Be 10000
        $ss | Should -Be 10000
    }
}
