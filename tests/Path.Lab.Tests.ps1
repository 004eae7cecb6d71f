# Test-MptcpPath against two hosts reached over SSH (a real sshd in the lab's server namespace, and in the client's for
# -Client): each fault injected with the real mechanism (nft on the server or the router, a plain TCP program, endpoints,
# limits, NAT), and each must give its id, name the right host, and carry both ends' evidence. One sshd pair serves
# every scenario of a Describe (it is how the test reaches the hosts, not what is tested); each scenario undoes its fault.
BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'Lab/MptcpLab.psm1') -Force
    $labSkip = [bool](Get-LabSkipReason)
    $nftServerDrop = "table inet mptl {`n chain input_filter {`n  type filter hook input priority 0;`n  tcp flags & (syn|ack) == syn tcp option mptcp exists drop`n }`n}"
    $nftStripBack = "table inet mptl {`n chain forward_filter {`n  type filter hook forward priority 0;`n  ip saddr 203.0.113.2 reset tcp option mptcp`n }`n}"
    $nftJoinBlock = "table inet mptl {`n chain forward_filter {`n  type filter hook forward priority 0;`n  ip saddr 198.51.100.2 tcp flags & (syn|ack) == syn drop`n }`n}"
    $nftNat = "table ip mptlnat {`n chain postrouting {`n  type nat hook postrouting priority 100;`n  ip saddr 198.51.100.0/24 oifname `"r2`" masquerade`n }`n}"
    # Name, what injects it, the finding it must give and the host it must name, and what else its evidence must show.
    $scenarios = @(
        @{ Name = 'the server''s nft drops MP_CAPABLE SYNs'; Id = 'ServerDropsMptcpSyn'; About = 'Server'; ServerNft = $nftServerDrop; Check = {
            param($t, $f)
            $f.Summary | Should -Match ([regex]::Escape('tcp option mptcp exists drop'))
            $f.Evidence[0].Outcome | Should -Be 'SynDroppedAtServer'
            $f.Evidence[0].Direction | Should -Be 'ClientToServer'
            $client = $f.Evidence | Where-Object { $_.PSObject.Properties['Role'] -and $_.Role -eq 'Client' }
            $server = $f.Evidence | Where-Object { $_.PSObject.Properties['Role'] -and $_.Role -eq 'Server' }
            @($client.Sightings | Where-Object Segment -match '\[Syn\].*MP_CAPABLE').Count | Should -BeGreaterThan 1 -Because 'the client''s SYN and its retransmissions left'
            @($server.Sightings | Where-Object Segment -match '\[Syn\].*MP_CAPABLE').Count | Should -BeGreaterThan 1 -Because 'they arrived at the server'
            @($server.Sightings | Where-Object Segment -match '\[Syn, Ack\].*MP_CAPABLE') | Should -BeNullOrEmpty
            $server.Rules[0].Effect | Should -Be 'DropsMptcpOption'
            $client.Rules | Should -BeNullOrEmpty
            $f.Repair[0].Kind | Should -Be 'DeleteNftablesRule'
        } }
        @{ Name = 'the router strips option 30 from the server''s segments only'; Id = 'PathStripsMptcpOption'; About = 'Server'; RouterNft = $nftStripBack; Check = {
            param($t, $f)
            $f.Evidence[0].Direction | Should -Be 'ServerToClient'
            $f.Evidence[0].Outcome | Should -Be 'OptionStrippedOnPath'
            $client = $f.Evidence | Where-Object { $_.PSObject.Properties['Role'] -and $_.Role -eq 'Client' }
            $server = $f.Evidence | Where-Object { $_.PSObject.Properties['Role'] -and $_.Role -eq 'Server' }
            @($server.Sightings | Where-Object Segment -match '\[Syn, Ack\].*MP_CAPABLE').Count | Should -Be 1 -Because 'it left the server with MP_CAPABLE'
            @($client.Sightings | Where-Object Segment -match '\[Syn, Ack\]').Count | Should -Be 1
            @($client.Sightings | Where-Object Segment -match '\[Syn, Ack\].*MP_CAPABLE') | Should -BeNullOrEmpty -Because 'it arrived without'
            @($client.Sightings | Where-Object Segment -match '\[Syn\].*MP_CAPABLE').Count | Should -Be 1 -Because 'the other direction keeps its option'
            @($t.Findings | Where-Object { $_.Id -eq 'PathStripsMptcpOption' -and $_.ComputerName -ne $f.ComputerName }) | Should -BeNullOrEmpty
        } }
        @{ Name = 'the server''s application listens with plain TCP'; Id = 'ServerNotListeningMptcp'; About = 'Server'; PlainPeer = 5201; Check = {
            param($t, $f)
            $f.Summary | Should -Match 'MptcpPeer \(\d+\)'
            $f.Evidence[0].Outcome | Should -Be 'NotMptcpAtServer'
            ($f.Evidence | Where-Object { $_.PSObject.Properties['Owner'] }).Owner.Name | Should -Be 'MptcpPeer'
            $t.OwnListener | Should -BeFalse
            $t.Port | Should -Be 5201
        } }
        @{ Name = 'the server has a subflow endpoint and no signal one'; Id = 'EndpointRoleMismatch'; About = 'Server'; ServerAddress = '203.0.113.3'; ServerEndpoint = 'subflow'; Check = {
            param($t, $f)
            ($f.Evidence | Where-Object { $_.PSObject.Properties['Flags'] }).Address | Should -Be '203.0.113.3'
            ($f.Evidence | Where-Object { $_.PSObject.Properties['Role'] -and $_.Role -eq 'Client' }).Endpoints.Address | Should -Contain '198.51.100.2'
            ($f.Evidence | Where-Object { $_.PSObject.Properties['Role'] -and $_.Role -eq 'Server' }).Endpoints.Address | Should -Contain '203.0.113.3'
            @($t.Paths | Where-Object To -eq '203.0.113.3') | Should -BeNullOrEmpty -Because 'the server never announces it'
        } }
        @{ Name = 'the client''s add_addr_accepted is 0 while the server announces'; Id = 'AddAddrAcceptedZero'; About = 'Client'; ServerAddress = '203.0.113.3'; ServerEndpoint = 'signal'; ClientAccepted = 0; Check = {
            param($t, $f)
            ($f.Evidence | Where-Object { $_.PSObject.Properties['AddAddrAccepted'] }).AddAddrAccepted | Should -Be 0
            ($f.Evidence | Where-Object { $_.PSObject.Properties['Arrived'] }).Arrived | Should -BeTrue -Because 'the ADD_ADDR reached the client'
            ($f.Evidence | Where-Object { $_.PSObject.Properties['Role'] -and $_.Role -eq 'Server' }).Endpoints.Flags | Should -Match 'Signal'
            $ignored = $t.Paths | Where-Object To -eq '203.0.113.3'
            $ignored.Outcome | Should -Be 'NotAttempted'
            $ignored.Detail | Should -Match 'add_addr_accepted'
            $f.Repair[0].Kind | Should -Be 'SetLimits'
        } }
        @{ Name = 'the router drops the second path''s SYNs'; Id = 'PathDropsMptcpSyn'; About = 'Client'; RouterNft = $nftJoinBlock; Check = {
            param($t, $f)
            $f.Evidence[0].From | Should -Be '198.51.100.2'
            $f.Evidence[0].Kind | Should -Be 'MpJoin'
            $f.Evidence[0].Outcome | Should -Be 'SynDroppedOnPath'
            @(($f.Evidence | Where-Object { $_.PSObject.Properties['Role'] -and $_.Role -eq 'Client' }).Sightings | Where-Object Segment -match 'MP_JOIN SYN').Count | Should -BeGreaterThan 0
            ($f.Evidence | Where-Object { $_.PSObject.Properties['Role'] -and $_.Role -eq 'Server' }).Sightings | Should -BeNullOrEmpty
            ($t.Paths | Where-Object Kind -eq 'MpCapable').Outcome | Should -Be 'Works' -Because 'the first path is untouched'
        } }
        @{ Name = 'NAT on the router rewrites the second path''s source'; Id = 'NatRewritesSubflow'; About = 'Client'; RouterNft = $nftNat; Check = {
            param($t, $f)
            "$($f.Severity)" | Should -Be 'Information'
            $f.Evidence[0].From | Should -Be '198.51.100.2'
            $f.Evidence[0].ArrivedAs | Should -Match '^203\.0\.113\.1:'
            $f.Evidence[0].Outcome | Should -Be 'Works'
            $f.Evidence[0].Handshake.MatchedBy | Should -Be 'JoinToken'
        } }
    )
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'Lab/MptcpLab.psm1') -Force
    $work = Join-Path ([IO.Path]::GetTempPath()) "mptl-$PID-path"
    New-Item -ItemType Directory -Path $work -Force | Out-Null
    $noBus = "unix:path=$work/no-bus"
    # Back to the lab as New-MptcpLab makes it: no rules, the client's two subflow endpoints, limits 2 and 2, one server address.
    function Reset-Lab($Lab) {
        foreach ($ns in $Lab.Client, $Lab.Router, $Lab.Server) { Invoke-InNamespace $ns nft 'flush', 'ruleset' | Out-Null }
        Invoke-InNamespace $Lab.Server ip 'mptcp', 'endpoint', 'flush' | Out-Null
        Invoke-InNamespace $Lab.Server ip 'addr', 'del', '203.0.113.3/24', 'dev', 's0' -AllowFailure | Out-Null
        foreach ($ns in $Lab.Client, $Lab.Server) {
            Invoke-InNamespace $ns ip 'mptcp', 'limits', 'set', 'subflows', '2', 'add_addr_accepted', '2' | Out-Null
            # A scenario that dropped MPTCP SYNs leaves the client's blackhole detection holding active MPTCP off for an hour;
            # writing the timeout (even unchanged) clears it, as net/mptcp/ctrl.c does.
            Invoke-InNamespace $ns sysctl '-qw', 'net.mptcp.blackhole_timeout=3600' | Out-Null
        }
    }
    # Test-MptcpPath in the client namespace, over a new session to the server: the whole test, as property bags.
    function Invoke-PathTest($Lab, $Ssh, [hashtable] $Parameters = @{}) {
        $r = Invoke-LabCmdlet $Lab.Client {
            param($session, $parameters, $bus)
            $s = New-PSSession @session
            try { Test-MptcpPath -Server $s -Detailed -BusAddress $bus @parameters }
            finally { Remove-PSSession $s }
        } -ArgumentList $Ssh.SessionParameters, $Parameters, $noBus
        $r.Errors | Should -BeNullOrEmpty
        @($r.Output).Count | Should -Be 1
        $r.Output[0]
    }
}
AfterAll { Remove-Item $work -Recurse -Force -ErrorAction Ignore }

Describe 'Test-MptcpPath from the client namespace to the server over SSH' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        $ssh = Start-LabSshd $lab $lab.Server $lab.Addresses.ServerAddress
        $server = $lab.Addresses.ServerAddress
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'a healthy pair: both paths work, no Error and no Warning, and nothing of the test keeps running on the server' {
        Reset-Lab $lab
        $t = Invoke-PathTest $lab $ssh
        $t.Server | Should -Be $server
        $t.OwnListener | Should -BeTrue
        $t.Connection.MptcpNegotiated | Should -BeTrue
        @($t.Paths | ForEach-Object { "$($_.Kind) $($_.From) > $($_.To) $($_.Outcome)" }) | Should -Be @(
            "MpCapable $($lab.Addresses.ClientPath1) > $server Works", "MpJoin $($lab.Addresses.ClientPath2) > $server Works")
        # DiagnosisIncomplete is the one Warning: the test gives both ends no D-Bus (no systemd, no NetworkManager to ask).
        @($t.Findings | Where-Object { ("$($_.Severity)" -in 'Error', 'Warning') -and $_.Id -ne 'DiagnosisIncomplete' }) | Should -BeNullOrEmpty
        @($t.Findings | Where-Object Id -eq 'DiagnosisIncomplete' | ForEach-Object Detail) | Should -Not -Match 'capture|sock_diag|netlink|nft'
        # Every subflow and direction was matched across the captures, and nothing was lost or stripped.
        @($t.Subflows).Count | Should -Be 4
        @($t.Subflows | Where-Object MatchedBy -eq 'NotFound') | Should -BeNullOrEmpty
        ($t.Subflows | Measure-Object OptionsStripped -Sum).Sum | Should -Be 0
        @(Invoke-InNamespace $lab.Server ss '-Hltn', "sport = :$($t.Port)" -AllowFailure | Where-Object { $_ }) | Should -BeNullOrEmpty -Because 'the listener of the test is gone'
    }

    It '<Name>: <Id> about the <About>' -ForEach $scenarios {
        Reset-Lab $lab
        $peer = $null
        try {
            if ($ServerNft) { Add-LabNftRules $lab.Server $ServerNft }
            if ($RouterNft) { Add-LabNftRules $lab.Router $RouterNft }
            if ($ServerAddress) {
                Invoke-InNamespace $lab.Server ip 'addr', 'add', "$ServerAddress/24", 'dev', 's0' | Out-Null
                Invoke-InNamespace $lab.Server ip 'mptcp', 'endpoint', 'add', $ServerAddress, 'dev', 's0', $ServerEndpoint | Out-Null
            }
            if ($null -ne $ClientAccepted) { Invoke-InNamespace $lab.Client ip 'mptcp', 'limits', 'set', 'subflows', '2', 'add_addr_accepted', "$ClientAccepted" | Out-Null }
            $parameters = @{}
            if ($PlainPeer) {
                $peer = Start-LabPeer $lab $lab.Server 'serve', '--port', "$PlainPeer", '--plain'
                $parameters.Port = $PlainPeer
            }
            $t = Invoke-PathTest $lab $ssh $parameters
            $expectedHost = if ($About -eq 'Server') { $server } else { $t.Client }
            $hits = @($t.Findings | Where-Object Id -eq $Id)
            $hits.Count | Should -Be 1 -Because "the test must give $Id once: $(($t.Findings | Where-Object { "$($_.Severity)" -ne 'Passed' } | ForEach-Object { "$($_.Id)@$($_.ComputerName)" }) -join ', ')"
            $hits[0].ComputerName | Should -Be $expectedHost
            "$($hits[0].Severity)" | Should -BeIn 'Error', 'Warning', 'Information'
            $hits[0].HelpUri | Should -BeLike "*/about_MptcpTools.help.txt#:~:text=$Id"
            # Both ends' evidence travels with every finding about the path.
            @($hits[0].Evidence | Where-Object { $_.PSObject.Properties['Role'] } | ForEach-Object Role | Sort-Object) | Should -Be @('Client', 'Server')
            & $Check $t $hits[0]
        }
        finally {
            if ($peer -and -not $peer.Process.HasExited) { $peer.Process.Kill() }
        }
    }

    It 'names the server''s rule, and the server repairs it through -Session (and only there)' {
        Reset-Lab $lab
        Add-LabNftRules $lab.Server "table inet mptl {`n chain input_filter {`n  type filter hook input priority 0;`n  tcp flags & (syn|ack) == syn tcp option mptcp exists drop`n }`n}"
        $r = Invoke-LabCmdlet $lab.Client {
            param($session, $bus)
            $s = New-PSSession @session
            try {
                $findings = Test-MptcpPath -Server $s -BusAddress $bus
                $drop = $findings | Where-Object Id -eq ServerDropsMptcpSyn
                [pscustomobject]@{ Step = 'here'; Result = @($drop | Repair-MptcpConfiguration -Force -Confirm:$false) }
                # Sent into the session as an argument, a typed finding arrives one level deep: its records as their text only.
                [pscustomobject]@{ Step = 'flattened'; Result = @(Invoke-Command -Session $s { $using:drop | Repair-MptcpConfiguration -Force -Confirm:$false } 2>&1 | ForEach-Object { "$_" }) }
                [pscustomobject]@{ Step = 'there'; Result = @($findings | Repair-MptcpConfiguration -Session $s -Force -Confirm:$false) }
                # The dropped SYNs left this client's blackhole detection holding active MPTCP off; writing the timeout clears it.
                & sysctl -qw net.mptcp.blackhole_timeout=3600
                [pscustomobject]@{ Step = 'again'; Result = @((Test-MptcpPath -Server $s -BusAddress $bus -Detailed).Paths | ForEach-Object { "$($_.Kind) $($_.Outcome)" }) }
            }
            finally { Remove-PSSession $s }
        } -ArgumentList $ssh.SessionParameters, $noBus
        @($r.Errors | Where-Object FullyQualifiedErrorId -like 'RepairWrongHost,*').Count | Should -Be 1
        ($r.Output | Where-Object Step -eq 'here').Result | Should -BeNullOrEmpty
        ($r.Output | Where-Object Step -eq 'flattened').Result | Should -Match 'Repair-MptcpConfiguration -Session'
        $there = @(($r.Output | Where-Object Step -eq 'there').Result)
        @($there | Where-Object Applied).Count | Should -Be 1
        ($there | Where-Object Applied).Action | Should -Be 'Delete firewall rule'
        ($there | Where-Object Applied).PSComputerName | Should -Be $server
        ($r.Output | Where-Object Step -eq 'again').Result | Should -Be @('MpCapable Works', 'MpJoin Works')
        (@(Invoke-InNamespace $lab.Server nft 'list', 'ruleset') -join "`n") | Should -Not -Match 'tcp option mptcp exists drop'
    }

    It 'says so when the server has no module: ModuleMissingOnHost, and no test' {
        $bare = Start-LabSshd $lab $lab.Router $lab.Addresses.RouterPath1 -WithoutModule
        $r = Invoke-LabCmdlet $lab.Client {
            param($session)
            $s = New-PSSession @session
            try { Test-MptcpPath -Server $s }
            finally { Remove-PSSession $s }
        } -ArgumentList $bare.SessionParameters
        $r.Errors | Should -BeNullOrEmpty
        @($r.Output).Count | Should -Be 1
        $r.Output[0].Id | Should -Be 'ModuleMissingOnHost'
        $r.Output[0].ComputerName | Should -Be $lab.Addresses.RouterPath1
    }
}

Describe 'Test-MptcpPath -Client and -Server, both over SSH, from the router namespace' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        $serverSsh = Start-LabSshd $lab $lab.Server $lab.Addresses.ServerAddress
        $clientSsh = Start-LabSshd $lab $lab.Client $lab.Addresses.ClientPath1
        # The router reaches both; the test's own traffic goes through its forwarding, the sessions to it end there.
        $r = Invoke-LabCmdlet $lab.Router {
            param($client, $server, $bus)
            $c = New-PSSession @client
            $s = New-PSSession @server
            try { Test-MptcpPath -Client $c -Server $s -Detailed -BusAddress $bus }
            finally { Remove-PSSession $c, $s }
        } -ArgumentList $clientSsh.SessionParameters, $serverSsh.SessionParameters, $noBus
        $t = $r.Output[0]
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'tests the path between them, each end named by its session' {
        $r.Errors | Should -BeNullOrEmpty
        $t.Client | Should -Be $lab.Addresses.ClientPath1
        $t.Server | Should -Be $lab.Addresses.ServerAddress
        @($t.Paths | ForEach-Object { "$($_.Kind) $($_.From) $($_.Outcome)" }) | Should -Be @("MpCapable $($lab.Addresses.ClientPath1) Works", "MpJoin $($lab.Addresses.ClientPath2) Works")
        # DiagnosisIncomplete is the one Warning: the test gives both ends no D-Bus (no systemd, no NetworkManager to ask).
        @($t.Findings | Where-Object { ("$($_.Severity)" -in 'Error', 'Warning') -and $_.Id -ne 'DiagnosisIncomplete' }) | Should -BeNullOrEmpty
        @($t.Findings | Where-Object Id -eq 'DiagnosisIncomplete' | ForEach-Object Detail) | Should -Not -Match 'capture|sock_diag|netlink|nft'
        @($t.Findings | Where-Object Component -eq 'Kernel' | ForEach-Object ComputerName | Sort-Object -Unique) | Should -Be @($lab.Addresses.ClientPath1, $lab.Addresses.ServerAddress | Sort-Object)
    }
}
