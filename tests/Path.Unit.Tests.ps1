# Test-MptcpPath's judgment without a network: crafted captures of one connection at the client and at the server,
# matched by CaptureComparer.ComparePaths, and both ends' facts built by hand, judged by PathDiagnosis: a verdict per path
# and findings that name the right host, from what each capture saw. The facts read back from JSON judge the same.
BeforeAll {
    $modulePath = if ($env:MPTCPTOOLS_MODULE) { $env:MPTCPTOOLS_MODULE } else { "$PSScriptRoot/../output/MptcpTools" }
    Import-Module $modulePath -Force
    . (Join-Path $PSScriptRoot 'Support/MeasureSupport.ps1')

    # The crafted connection's handshakes (tests/Support/MeasureSupport.ps1): the first subflow, then the join from the
    # second address; times are given where a capture is written.
    $crafting = Get-CraftedConnection
    $hosts = $crafting.Hosts
    $healthy = @($crafting.Rows[0..5] | ForEach-Object { $r = $_.Clone(); $r.Remove('T'); $r })
    $mpc = @{ Syn = $healthy[0].Opt; SynAck = $healthy[1].Opt; Ack = $healthy[2].Opt }
    $join = @{ Syn = $healthy[3].Opt; SynAck = $healthy[4].Opt; Ack = $healthy[5].Opt }

    function New-Kernel([uint32] $Subflows = 2, [uint32] $Accepted = 2) {
        $s = [Collections.Generic.Dictionary[string, string]]::new()
        $s['net.mptcp.enabled'] = '1'; $s['net.mptcp.pm_type'] = '0'; $s['net.mptcp.path_manager'] = 'kernel'
        [MptcpTools.Kernel.MptcpKernelState]::Create('6.18.0', $true, $null, $s, [MptcpTools.Kernel.MptcpLimit]::new($Subflows, $Accepted), 1,
            [MptcpTools.Kernel.PersistentSysctlSetting[]]@(), [string[]]@())
    }
    function New-Endpoint([string] $Address, [string] $Flags, [byte] $Id = 1) {
        [MptcpTools.Kernel.MptcpEndpoint]::new($Id, [ipaddress]$Address, 0, [uint32][MptcpTools.Kernel.MptcpEndpointFlags]$Flags, 3, 'eth1')
    }
    function New-Facts([string[]] $Addresses, $Endpoints = @(), $Kernel = (New-Kernel), $Firewall = $null, $PlainTcp = $null, [string] $MachineId = 'm') {
        [MptcpTools.Diagnosis.HostFacts]@{
            Request = [MptcpTools.Diagnosis.DiagnosisRequest]@{ Port = 5201 }
            Host = [MptcpTools.Kernel.HostIdentity]@{ HostName = $MachineId; MachineId = $MachineId; NetworkNamespace = 1 }
            Kernel = $Kernel
            Endpoints = [MptcpTools.Kernel.MptcpEndpoint[]]@($Endpoints)
            Addresses = [MptcpTools.Kernel.InterfaceAddress[]]@($Addresses | ForEach-Object { [MptcpTools.Kernel.InterfaceAddress]::new([ipaddress]$_, 24, 3, 'eth0') })
            Firewall = $Firewall
            PlainTcp = $PlainTcp
        }
    }
    # Captures at both ends (the server's clock 5 s ahead, each way 1 ms), matched, and judged with both ends' facts.
    function Invoke-Path {
        param($ClientRows, $ServerRows, $ServerHosts = $hosts, $ClientFacts, $ServerFacts, [switch] $Facts)
        $t = 0
        foreach ($r in $ClientRows) { if ($null -eq $r.T) { $r.T = ($t++) * 0.01 } }
        $clientFile = Join-Path $TestDrive "c-$([guid]::NewGuid().ToString('n')).pcap"
        $serverFile = Join-Path $TestDrive "s-$([guid]::NewGuid().ToString('n')).pcap"
        Write-CraftedCapture $clientFile $ClientRows $hosts
        Write-CraftedCapture $serverFile $ServerRows $ServerHosts
        $clientAddresses = @($ClientFacts.Addresses | ForEach-Object { "$($_.Address)" })
        $comparison = [MptcpTools.Packets.CaptureComparer]::ComparePaths([MptcpTools.Packets.CaptureRecording]::ReadFile($clientFile), [MptcpTools.Packets.CaptureRecording]::ReadFile($serverFile),
            [Func[ipaddress, bool]] { param($a) "$a" -in $clientAddresses }.GetNewClosure())
        $pathFacts = [MptcpTools.Diagnosis.PathFacts]@{
            ClientName = 'laptop'; ServerName = 'web1'; ServerAddress = '203.0.113.2'; Port = 5201; OwnListener = $true
            Client = $ClientFacts; Server = $ServerFacts; Comparison = $comparison
            Probe = [MptcpTools.Kernel.ProbeOutcome]@{ RemoteAddress = [ipaddress]'203.0.113.2'; Port = 5201; IsMptcp = $true; MptcpAtConnect = $true }
        }
        if ($Facts) { return $pathFacts }
        [MptcpTools.Diagnosis.PathDiagnosis]::Judge($pathFacts)
    }
    # What arrives: the same segments, later, with the changes a test makes.
    function Copy-Rows($Rows, [scriptblock] $Change = { $_ }) {
        $i = 0
        foreach ($r in $Rows) {
            $x = $r.Clone(); $x.T = $i * 0.01 + 5 + $(if ($x.From -eq 's') { -0.001 } else { 0.001 }); $i++
            $x = $x | ForEach-Object $Change
            if ($x) { $x }
        }
    }
    function Get-Hits($Test, [string] $Id) { @($Test.Findings | Where-Object { $_.Id -eq $Id -and "$($_.Severity)" -ne 'Passed' }) }
    $clientFacts = New-Facts '192.0.2.2', '198.51.100.2' -Endpoints @(New-Endpoint '198.51.100.2' 'Subflow') -MachineId 'laptop'
    $serverFacts = New-Facts '203.0.113.2' -MachineId 'web1'
}

Describe 'A path test of a healthy pair' {
    BeforeAll { $t = Invoke-Path $healthy (Copy-Rows $healthy) -ClientFacts $clientFacts -ServerFacts $serverFacts }

    It 'judges both paths as working, MP_CAPABLE on the first and MP_JOIN on the second' {
        @($t.Paths | ForEach-Object { "$($_.Kind) $($_.From) > $($_.To) $($_.Outcome)" }) | Should -Be @('MpCapable 192.0.2.2 > 203.0.113.2 Works', 'MpJoin 198.51.100.2 > 203.0.113.2 Works')
        $t.Paths[1].Handshake.MatchedBy | Should -Be 'JoinToken'
    }

    It 'finds nothing wrong, and passes every path check' {
        @($t.Findings | Where-Object { "$($_.Severity)" -in 'Error', 'Warning' }) | Should -BeNullOrEmpty
        foreach ($id in 'PathDropsMptcpSyn', 'PathStripsMptcpOption', 'ServerDropsMptcpSyn', 'ServerNotListeningMptcp', 'NatRewritesSubflow', 'EndpointRoleMismatch') {
            @($t.Findings | Where-Object { $_.Id -eq $id -and "$($_.Severity)" -eq 'Passed' }).Count | Should -Be 1 -Because $id
        }
    }

    It 'tags the one-host findings with their host, and leaves out those the two ends judge together' {
        @($t.Findings | Where-Object Id -eq 'MptcpDisabled' | ForEach-Object ComputerName | Sort-Object) | Should -Be @('laptop', 'web1')
        @($t.Findings | Where-Object { $_.Id -eq 'NoSubflowEndpoints' -and $_.ComputerName -eq 'web1' }) | Should -BeNullOrEmpty -Because 'a server needs no subflow endpoints'
        @($t.Findings | Where-Object { $_.Id -eq 'AddAddrAcceptedZero' -and $_.ComputerName -eq 'web1' }) | Should -BeNullOrEmpty
    }

    It 'compares every subflow in both directions, nothing lost' {
        @($t.Subflows).Count | Should -Be 4
        ($t.Subflows | Measure-Object Lost -Sum).Sum | Should -Be 0
    }
}

Describe 'A path test that finds' {
    It 'PathDropsMptcpSyn about the client: the join''s SYNs left it and never arrived' {
        $client = $healthy[0..2] + @(@{ From = 'j'; Flags = 'Syn'; Seq = 2000; Ack = 0; Len = 0; Opt = $join.Syn }, @{ From = 'j'; Flags = 'Syn'; Seq = 2000; Ack = 0; Len = 0; Opt = $join.Syn })
        $t = Invoke-Path $client (Copy-Rows $healthy[0..2]) -ClientFacts $clientFacts -ServerFacts $serverFacts
        $f = Get-Hits $t 'PathDropsMptcpSyn'
        $f.Count | Should -Be 1
        $f[0].ComputerName | Should -Be 'laptop'
        $f[0].Evidence[0].Outcome | Should -Be 'SynDroppedOnPath'
        $f[0].Evidence[0].From | Should -Be '198.51.100.2'
        $f[0].Evidence[0].Handshake.SynsLeft | Should -Be 2
        @($f[0].Evidence[1].Sightings).Count | Should -Be 2 -Because 'the client saw both SYNs leave'
        $f[0].Evidence[2].Sightings | Should -BeNullOrEmpty -Because 'the server saw none'
        ($t.Paths | Where-Object Kind -eq 'MpCapable').Outcome | Should -Be 'Works'
    }

    It 'ServerDropsMptcpSyn about the server, naming its rule and carrying its repair: the SYNs arrived and only the plain retry was answered' {
        $mptcpSyns = @(1..3 | ForEach-Object { @{ From = 'c'; Flags = 'Syn'; Seq = 1000; Ack = 0; Len = 0; Opt = $mpc.Syn } })
        $fallback = @(@{ From = 'c'; Flags = 'Syn'; Seq = 1000; Ack = 0; Len = 0; Opt = '' }, @{ From = 's'; To = 'c'; Flags = 'Syn,Ack'; Seq = 5000; Ack = 1001; Len = 0; Opt = '' })
        $rule = [MptcpTools.Host.FirewallRule]@{ Source = 'nftables'; Family = 'inet'; Table = 'filter'; Chain = 'input'; Handle = 9; Position = 1; Text = 'tcp option mptcp exists drop'; Verdict = 'drop'; MatchesMptcpOption = $true }
        $firewall = [MptcpTools.Host.FirewallRuleset]::new(); $firewall.Rules.Add($rule)
        $server = New-Facts '203.0.113.2' -Firewall $firewall -MachineId 'web1'
        $t = Invoke-Path ($mptcpSyns + $fallback) (Copy-Rows ($mptcpSyns + $fallback)) -ClientFacts $clientFacts -ServerFacts $server
        $f = Get-Hits $t 'ServerDropsMptcpSyn'
        $f.Count | Should -Be 1
        $f[0].ComputerName | Should -Be 'web1'
        $f[0].Summary | Should -Match 'tcp option mptcp exists drop'
        $f[0].Evidence[0].Outcome | Should -Be 'SynDroppedAtServer'
        $f[0].Repair[0].Kind | Should -Be 'DeleteNftablesRule'
        $f[0].Repair[0].Handle | Should -Be 9
        $f[0].Repair[0].HostId | Should -Be 'web1/1' -Because 'the rule is the server''s, and only the server may delete it'
        @(Get-Hits $t 'FirewallDropsMptcpOption') | Should -BeNullOrEmpty -Because 'the path finding names the rule already'
    }

    It 'PathStripsMptcpOption about the server, ServerToClient: its SYN-ACK left with MP_CAPABLE and arrived without' {
        $client = @($healthy[0], @{ From = 's'; To = 'c'; Flags = 'Syn,Ack'; Seq = 5000; Ack = 1001; Len = 0; Opt = '' }, @{ From = 'c'; Flags = 'Ack'; Seq = 1001; Ack = 5001; Len = 0; Opt = '' })
        $server = Copy-Rows $client { if ($_.Flags -eq 'Syn,Ack') { $_.Opt = $mpc.SynAck }; $_ }
        $t = Invoke-Path $client $server -ClientFacts $clientFacts -ServerFacts $serverFacts
        $f = Get-Hits $t 'PathStripsMptcpOption'
        $f.Count | Should -Be 1
        $f[0].ComputerName | Should -Be 'web1'
        $f[0].Evidence[0].Direction | Should -Be 'ServerToClient'
        $f[0].Summary | Should -Match 'SYN-ACK'
        @(Get-Hits $t 'ServerNotListeningMptcp') | Should -BeNullOrEmpty -Because 'the server answered with MP_CAPABLE'
    }

    It 'ServerNotListeningMptcp about the server, naming the program: it answered MP_CAPABLE as plain TCP' {
        $rows = @($healthy[0], @{ From = 's'; To = 'c'; Flags = 'Syn,Ack'; Seq = 5000; Ack = 1001; Len = 0; Opt = '' })
        $listener = [MptcpTools.Kernel.PlainTcpSocket]@{ LocalAddress = [ipaddress]'0.0.0.0'; LocalPort = 5201; State = 'Listen'; Inode = 7 }
        $owner = [MptcpTools.Kernel.ProcessFacts]@{ ProcessId = 4242; Name = 'nginx' }
        $plain = [MptcpTools.Diagnosis.PlainTcpUse[]]@([MptcpTools.Diagnosis.PlainTcpUse]::new($listener, 'OnPort', $owner))
        $t = Invoke-Path $rows (Copy-Rows $rows) -ClientFacts $clientFacts -ServerFacts (New-Facts '203.0.113.2' -PlainTcp $plain -MachineId 'web1')
        $f = Get-Hits $t 'ServerNotListeningMptcp'
        $f.Count | Should -Be 1
        $f[0].ComputerName | Should -Be 'web1'
        $f[0].Summary | Should -Match 'nginx \(4242\)'
        ($f[0].Evidence | Where-Object { $_ -is [MptcpTools.Diagnosis.PlainTcpUse] }).Owner.ProcessId | Should -Be 4242
    }

    It 'NatRewritesSubflow about the client: the join arrived from another address, matched by its token' {
        $t = Invoke-Path $healthy (Copy-Rows $healthy) -ServerHosts @{ c = $hosts.c; s = $hosts.s; j = @('203.0.113.1', 50001) } -ClientFacts $clientFacts -ServerFacts $serverFacts
        $f = Get-Hits $t 'NatRewritesSubflow'
        $f.Count | Should -Be 1
        $f[0].ComputerName | Should -Be 'laptop'
        "$($f[0].Severity)" | Should -Be 'Information'
        $f[0].Evidence[0].ArrivedAs | Should -Be '203.0.113.1:50001 > 203.0.113.2:5201'
        $f[0].Evidence[0].Outcome | Should -Be 'Works'
    }

    It 'EndpointRoleMismatch about the server: subflow endpoints on the listening side, and no signal one' {
        $server = New-Facts '203.0.113.2', '203.0.113.3' -Endpoints @(New-Endpoint '203.0.113.3' 'Subflow') -MachineId 'web1'
        $t = Invoke-Path $healthy (Copy-Rows $healthy) -ClientFacts $clientFacts -ServerFacts $server
        $f = Get-Hits $t 'EndpointRoleMismatch'
        $f.Count | Should -Be 1
        $f[0].ComputerName | Should -Be 'web1'
        $f[0].Remediation | Should -Match 'ip mptcp endpoint add 203.0.113.3 dev eth1 signal'
    }

    It 'AddAddrAcceptedZero about the client, when the server announces and the client ignores it' {
        $server = New-Facts '203.0.113.2', '203.0.113.3' -Endpoints @(New-Endpoint '203.0.113.3' 'Signal') -MachineId 'web1'
        $client = New-Facts '192.0.2.2', '198.51.100.2' -Endpoints @(New-Endpoint '198.51.100.2' 'Subflow') -Kernel (New-Kernel -Accepted 0) -MachineId 'laptop'
        # The server announces 203.0.113.3 (ADD_ADDR v1, id 1, with its HMAC) on the first subflow, and it arrives.
        $rows = $healthy + @(@{ From = 's'; To = 'c'; Flags = 'Ack'; Seq = 5001; Ack = 1001; Len = 0; Opt = '1e 10 30 01 cb 00 71 03 01 02 03 04 05 06 07 08' })
        $t = Invoke-Path $rows (Copy-Rows $rows) -ClientFacts $client -ServerFacts $server
        ($t.Announcements | Where-Object Address -eq '203.0.113.3').Arrived | Should -BeTrue
        $f = Get-Hits $t 'AddAddrAcceptedZero'
        $f.Count | Should -Be 1
        $f[0].ComputerName | Should -Be 'laptop'
        $f[0].Repair[0].Kind | Should -Be 'SetLimits'
        $f[0].Repair[0].HostId | Should -Be 'laptop/1'
        $ignored = $t.Paths | Where-Object To -eq '203.0.113.3'
        "$($ignored.Outcome)" | Should -Be 'NotAttempted'
        $ignored.Detail | Should -Match 'add_addr_accepted'
    }

    It 'says why an expected path was never tried: the client''s subflows limit' {
        $client = New-Facts '192.0.2.2', '198.51.100.2' -Endpoints @(New-Endpoint '198.51.100.2' 'Subflow') -Kernel (New-Kernel -Subflows 0) -MachineId 'laptop'
        $t = Invoke-Path $healthy[0..2] (Copy-Rows $healthy[0..2]) -ClientFacts $client -ServerFacts $serverFacts
        $missing = $t.Paths | Where-Object From -eq '198.51.100.2'
        "$($missing.Outcome)" | Should -Be 'NotAttempted'
        $missing.Detail | Should -Match 'subflows limit is 0'
        (Get-Hits $t 'SubflowLimitZero')[0].ComputerName | Should -Be 'laptop'
    }
}

Describe 'The facts of a path test' {
    It 'read back from JSON, give the same verdicts and findings' {
        $facts = Invoke-Path $healthy (Copy-Rows $healthy) -ServerHosts @{ c = $hosts.c; s = $hosts.s; j = @('203.0.113.1', 50001) } -ClientFacts $clientFacts -ServerFacts $serverFacts -Facts
        $here = [MptcpTools.Diagnosis.PathDiagnosis]::Judge($facts)
        $back = [MptcpTools.Diagnosis.PathDiagnosis]::Judge([MptcpTools.Diagnosis.PathFacts]::FromJson($facts.ToJson()))
        @($back.Paths | ForEach-Object { "$_" }) | Should -Be @($here.Paths | ForEach-Object { "$_" })
        @($back.Findings | ForEach-Object { "$($_.ComputerName) $_" }) | Should -Be @($here.Findings | ForEach-Object { "$($_.ComputerName) $_" })
        @($here.Findings | Where-Object Id -eq 'NatRewritesSubflow').Count | Should -Be 1
    }

    It 'without captures at all: the first path is not judged, and says why' {
        $facts = [MptcpTools.Diagnosis.PathFacts]@{ ClientName = 'laptop'; ServerName = 'web1'; ServerAddress = '203.0.113.2'; Port = 5201; Client = $clientFacts; Server = $serverFacts
            Unavailable = [MptcpTools.Diagnosis.UnavailableAtEnd[]]@([MptcpTools.Diagnosis.UnavailableAtEnd]::new('web1', 'Capture', 'capture', 'Capturing packets needs CAP_NET_RAW')) }
        $t = [MptcpTools.Diagnosis.PathDiagnosis]::Judge($facts)
        "$($t.Paths[0].Outcome)" | Should -Be 'NotAttempted'
        $u = @($t.Findings | Where-Object Id -eq 'CheckUnavailable')
        $u.Count | Should -Be 1
        $u[0].ComputerName | Should -Be 'web1'
        $u[0].Detail | Should -Match 'CAP_NET_RAW'
    }
}
