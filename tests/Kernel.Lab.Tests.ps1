# The kernel cmdlets against the real kernel, in lab namespaces, compared with iproute2, sysctl and nstat
# on the same state: after changes made by our cmdlets and after changes made by `ip`.
BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'Lab/MptcpLab.psm1') -Force
    $labSkip = [bool](Get-LabSkipReason)
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'Lab/MptcpLab.psm1') -Force

    # `ip -j mptcp endpoint show` in a namespace, as objects with the flag names ip prints.
    function Get-IpEndpoint([string] $Namespace) {
        $json = Invoke-InNamespace $Namespace ip '-j', 'mptcp', 'endpoint', 'show'
        @(($json -join '') | ConvertFrom-Json) | ForEach-Object {
            $entry = $_
            [pscustomobject]@{
                Id      = [int]$entry.id
                Address = [ipaddress]$entry.address
                Port    = if ($entry.PSObject.Properties['port']) { [int]$entry.port } else { 0 }
                Dev     = if ($entry.PSObject.Properties['dev']) { $entry.dev } else { $null }
                Flags   = @('signal', 'subflow', 'backup', 'fullmesh', 'implicit', 'laminar') | Where-Object { $entry.PSObject.Properties[$_] }
            }
        }
    }

    # `ip mptcp limits show` prints "add_addr_accepted N subflows N" (no JSON form exists).
    function Get-IpLimit([string] $Namespace) {
        $text = (Invoke-InNamespace $Namespace ip 'mptcp', 'limits', 'show') -join ' '
        [pscustomobject]@{
            Subflows        = [int]([regex]::Match($text, 'subflows (\d+)').Groups[1].Value)
            AddAddrAccepted = [int]([regex]::Match($text, 'add_addr_accepted (\d+)').Groups[1].Value)
        }
    }

    function Assert-SameEndpoints([string] $Namespace, $Ours) {
        $theirs = @(Get-IpEndpoint $Namespace | Sort-Object Id)
        $ours = @($Ours | Sort-Object Id)
        $ours.Count | Should -Be $theirs.Count
        for ($i = 0; $i -lt $theirs.Count; $i++) {
            $ours[$i].Id | Should -Be $theirs[$i].Id
            [ipaddress]$ours[$i].Address | Should -Be $theirs[$i].Address
            $ours[$i].Port | Should -Be $theirs[$i].Port
            $ours[$i].Interface | Should -Be $theirs[$i].Dev
            $ourFlags = @("$($ours[$i].Flags)".ToLowerInvariant() -split ',\s*' | Where-Object { $_ -and $_ -ne 'none' } | Sort-Object)
            $ourFlags | Should -Be @($theirs[$i].Flags | Sort-Object)
        }
    }
}

Describe 'Endpoints agree with ip mptcp endpoint' -Tag Lab -Skip:$labSkip {
    BeforeAll { $lab = New-MptcpLab }
    AfterAll { Remove-MptcpLab $lab }

    It 'lists the lab client''s endpoints as ip does' {
        $r = Invoke-LabCmdlet $lab.Client { Get-MptcpEndpoint }
        $r.Errors | Should -BeNullOrEmpty
        @($r.Output).Count | Should -Be 2
        Assert-SameEndpoints $lab.Client $r.Output
    }

    It 'adds an endpoint that ip then shows, with id, interface and flags' {
        $r = Invoke-LabCmdlet $lab.Client { Add-MptcpEndpoint -Address 192.0.2.2 -Id 7 -Interface c0 -Flags Subflow, Backup -PassThru }
        $r.Errors | Should -BeNullOrEmpty
        $r.Output[0].Id | Should -Be 7
        $ip = Get-IpEndpoint $lab.Client | Where-Object Id -eq 7
        $ip.Address | Should -Be ([ipaddress]'192.0.2.2')
        $ip.Dev | Should -Be 'c0'
        @($ip.Flags | Sort-Object) | Should -Be @('backup', 'subflow')
    }

    It 'adds an IPv6 signal endpoint with a port' {
        $r = Invoke-LabCmdlet $lab.Client { Add-MptcpEndpoint 2001:db8:1::2 -Flags Signal -Port 8080 -PassThru }
        $r.Errors | Should -BeNullOrEmpty
        $ip = Get-IpEndpoint $lab.Client | Where-Object Address -eq ([ipaddress]'2001:db8:1::2')
        $ip.Port | Should -Be 8080
        $ip.Flags | Should -Be 'signal'
        $r.Output[0].Id | Should -Be $ip.Id
    }

    It 'sees an endpoint that ip added' {
        Invoke-InNamespace $lab.Client ip 'addr', 'add', '198.51.100.3/24', 'dev', 'c1' | Out-Null
        Invoke-InNamespace $lab.Client ip 'mptcp', 'endpoint', 'add', '198.51.100.3', 'id', '21', 'dev', 'c1', 'subflow', 'fullmesh' | Out-Null
        $r = Invoke-LabCmdlet $lab.Client { Get-MptcpEndpoint -Id 21 }
        $r.Output[0].Flags | Should -Be 'Subflow, Fullmesh'
        $r.Output[0].Interface | Should -Be 'c1'
        Assert-SameEndpoints $lab.Client (Invoke-LabCmdlet $lab.Client { Get-MptcpEndpoint }).Output
    }

    It 'changes Backup with Set-MptcpEndpoint, and sees ip change it back' {
        $r = Invoke-LabCmdlet $lab.Client { Set-MptcpEndpoint -Id 21 -Flags Subflow, Fullmesh, Backup -PassThru }
        $r.Errors | Should -BeNullOrEmpty
        (Get-IpEndpoint $lab.Client | Where-Object Id -eq 21).Flags | Should -Contain 'backup'
        # ip sends the whole flag set it was given, so "nobackup" also clears fullmesh: compare, don't assume.
        Invoke-InNamespace $lab.Client ip 'mptcp', 'endpoint', 'change', 'id', '21', 'nobackup' | Out-Null
        $after = (Invoke-LabCmdlet $lab.Client { Get-MptcpEndpoint }).Output
        ($after | Where-Object Id -eq 21).Flags | Should -Not -Match 'Backup'
        Assert-SameEndpoints $lab.Client $after
    }

    It 'refuses to change Signal or Subflow in place, says how instead, and changes nothing' {
        $before = Get-IpEndpoint $lab.Client
        $r = Invoke-LabCmdlet $lab.Client { Set-MptcpEndpoint -Id 7 -Flags Signal }
        $r.Errors[0].FullyQualifiedErrorId | Should -BeLike 'InvalidArgument,*'
        $r.Errors[0].RecommendedAction | Should -Match 'Remove-MptcpEndpoint -Id 7; Add-MptcpEndpoint'
        (Get-IpEndpoint $lab.Client | ConvertTo-Json) | Should -Be ($before | ConvertTo-Json)
    }

    It 'reports an endpoint that exists as AlreadyExists, on its address' {
        $r = Invoke-LabCmdlet $lab.Client { Add-MptcpEndpoint -Address 198.51.100.2 -Flags Subflow }
        $r.Errors.Count | Should -Be 1
        $r.Errors[0].FullyQualifiedErrorId | Should -Be 'AlreadyExists,MptcpTools.Commands.AddMptcpEndpointCommand'
        $r.Errors[0].Category | Should -Be 'ResourceExists'
        $r.Errors[0].TargetObject | Should -Be '198.51.100.2'
        $r.Errors[0].Message | Should -Match 'EEXIST'
    }

    It 'reports an interface this namespace lacks as NotFound without asking the kernel' {
        $r = Invoke-LabCmdlet $lab.Client { Add-MptcpEndpoint -Address 192.0.2.2 -Interface eth9 -Flags Subflow }
        $r.Errors[0].FullyQualifiedErrorId | Should -BeLike 'NotFound,*'
        $r.Errors[0].TargetObject | Should -Be 'eth9'
    }

    It 'changes nothing under -WhatIf' {
        $before = Get-IpEndpoint $lab.Client | ConvertTo-Json
        $r = Invoke-LabCmdlet $lab.Client {
            Add-MptcpEndpoint -Address 192.0.2.2 -Id 30 -Flags Subflow -WhatIf
            Set-MptcpEndpoint -Id 21 -Flags Subflow -WhatIf
            Get-MptcpEndpoint | Remove-MptcpEndpoint -WhatIf
            Remove-MptcpEndpoint -All -WhatIf
        }
        $r.Errors | Should -BeNullOrEmpty
        Get-IpEndpoint $lab.Client | ConvertTo-Json | Should -Be $before
    }

    It 'removes the endpoints piped from Get-MptcpEndpoint, and reports an unknown id without stopping' {
        $r = Invoke-LabCmdlet $lab.Client {
            Get-MptcpEndpoint -Flags Backup | Remove-MptcpEndpoint -PassThru
            Remove-MptcpEndpoint -Id 99, 21 -PassThru
        }
        @($r.Output.Id | Sort-Object) | Should -Be @(7, 21)
        $r.Errors.Count | Should -Be 1
        $r.Errors[0].FullyQualifiedErrorId | Should -BeLike 'NotFound,*'
        (Get-IpEndpoint $lab.Client).Id | Should -Not -Contain 7
        (Get-IpEndpoint $lab.Client).Id | Should -Not -Contain 21
    }

    It 'flushes every endpoint with -All' {
        $r = Invoke-LabCmdlet $lab.Client { Remove-MptcpEndpoint -All -PassThru -Confirm:$false }
        $r.Errors | Should -BeNullOrEmpty
        @($r.Output).Count | Should -BeGreaterThan 0
        @(Get-IpEndpoint $lab.Client).Count | Should -Be 0
    }
}

Describe 'Limits agree with ip mptcp limits' -Tag Lab -Skip:$labSkip {
    BeforeAll { $lab = New-MptcpLab }
    AfterAll { Remove-MptcpLab $lab }

    It 'reads the limits ip reads' {
        $r = Invoke-LabCmdlet $lab.Client { Get-MptcpLimit }
        $ip = Get-IpLimit $lab.Client
        $r.Output[0].Subflows | Should -Be $ip.Subflows
        $r.Output[0].AddAddrAccepted | Should -Be $ip.AddAddrAccepted
        $ip.Subflows | Should -Be 2
    }

    It 'sets them, ip sees it; ip sets them, we see it' {
        $r = Invoke-LabCmdlet $lab.Client { Set-MptcpLimit -Subflows 4 -PassThru }
        $r.Output[0].Subflows | Should -Be 4
        $r.Output[0].AddAddrAccepted | Should -Be 2
        (Get-IpLimit $lab.Client).Subflows | Should -Be 4
        Invoke-InNamespace $lab.Client ip 'mptcp', 'limits', 'set', 'subflows', '1', 'add_addr_accepted', '3' | Out-Null
        $r = Invoke-LabCmdlet $lab.Client { Get-MptcpLimit }
        $r.Output[0].Subflows | Should -Be 1
        $r.Output[0].AddAddrAccepted | Should -Be 3
    }

    It 'takes the limits by property name from the pipeline' {
        Invoke-LabCmdlet $lab.Client { [pscustomobject]@{ Subflows = 3; AddAddrAccepted = 1 } | Set-MptcpLimit } | Out-Null
        $ip = Get-IpLimit $lab.Client
        $ip.Subflows | Should -Be 3
        $ip.AddAddrAccepted | Should -Be 1
    }

    It 'passes on the kernel''s refusal of a limit above its maximum, with the kernel''s text' {
        $r = Invoke-LabCmdlet $lab.Client { Set-MptcpLimit -Subflows 200 }
        $r.Errors[0].FullyQualifiedErrorId | Should -BeLike 'InvalidArgument,*'
        $r.Errors[0].Message | Should -Match 'EINVAL'
        $r.Errors[0].Message | Should -Match 'the kernel says: .+'
        (Get-IpLimit $lab.Client).Subflows | Should -Be 3
    }

    It 'changes nothing under -WhatIf' {
        Invoke-LabCmdlet $lab.Client { Set-MptcpLimit -Subflows 0 -AddAddrAccepted 0 -WhatIf } | Out-Null
        (Get-IpLimit $lab.Client).Subflows | Should -Be 3
    }
}

Describe 'Without CAP_NET_ADMIN' -Tag Lab -Skip:$labSkip {
    BeforeAll { $lab = New-MptcpLab }
    AfterAll { Remove-MptcpLab $lab }

    It 'still reads endpoints and limits, as the kernel allows' {
        $r = Invoke-LabCmdlet $lab.Client { Get-MptcpEndpoint; Get-MptcpLimit } -DropCapability net_admin
        $r.Errors | Should -BeNullOrEmpty
        Assert-SameEndpoints $lab.Client ($r.Output | Where-Object { $_.PSObject.Properties['Address'] })
        ($r.Output | Where-Object { $_.PSObject.Properties['Subflows'] }).Subflows | Should -Be 2
    }

    It 'says which capability a change needs, and changes nothing' {
        $before = Get-IpEndpoint $lab.Client | ConvertTo-Json
        $r = Invoke-LabCmdlet $lab.Client {
            Add-MptcpEndpoint -Address 192.0.2.2 -Flags Subflow
            Set-MptcpLimit -Subflows 5
            Remove-MptcpEndpoint -Id 1
        } -DropCapability net_admin
        $r.Errors.Count | Should -Be 3
        foreach ($e in $r.Errors) {
            $e.FullyQualifiedErrorId | Should -BeLike 'PermissionDenied,*'
            $e.Category | Should -Be 'PermissionDenied'
            $e.ErrorDetails | Should -Match 'CAP_NET_ADMIN.*does not have it'
        }
        Get-IpEndpoint $lab.Client | ConvertTo-Json | Should -Be $before
        (Get-IpLimit $lab.Client).Subflows | Should -Be 2
    }
}

Describe 'Get-MptcpKernelState agrees with sysctl and ip' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        function Get-SysctlMptcp([string] $Namespace) {
            $map = [ordered]@{}
            foreach ($line in Invoke-InNamespace $Namespace sysctl 'net.mptcp') {
                if ($line -match '^(\S+) = ?(.*)$') { $map[$Matches[1]] = $Matches[2].Trim() }
            }
            $map
        }
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'has every net.mptcp sysctl with sysctl''s value' {
        $state = (Invoke-LabCmdlet $lab.Client { Get-MptcpKernelState }).Output[0]
        $sysctl = Get-SysctlMptcp $lab.Client
        @($state.Sysctls.Keys | Sort-Object) | Should -Be @($sysctl.Keys | Sort-Object)
        foreach ($key in $sysctl.Keys) {
            ($state.Sysctls[$key] -replace '\s+', ' ') | Should -Be ($sysctl[$key] -replace '\s+', ' ') -Because $key
        }
        $state.Enabled | Should -Be ($sysctl['net.mptcp.enabled'] -eq '1')
        # The durations travel as numbers (the TimeSpan properties stay in the process that made the object).
        $state.AddAddrTimeoutSeconds | Should -Be ([int]$sysctl['net.mptcp.add_addr_timeout'])
        $state.Present | Should -BeTrue
        $state.ProtocolRegistered | Should -BeTrue
    }

    It 'follows sysctl changes made in the namespace (enabled, checksum, path manager)' {
        Invoke-InNamespace $lab.Client sysctl '-qw', 'net.mptcp.enabled=0', 'net.mptcp.checksum_enabled=1' | Out-Null
        $state = (Invoke-LabCmdlet $lab.Client { Get-MptcpKernelState }).Output[0]
        $state.Enabled | Should -BeFalse
        $state.ChecksumEnabled | Should -BeTrue
        Invoke-InNamespace $lab.Client sysctl '-qw', 'net.mptcp.enabled=1', 'net.mptcp.pm_type=1' | Out-Null
        $state = (Invoke-LabCmdlet $lab.Client { Get-MptcpKernelState }).Output[0]
        $state.Enabled | Should -BeTrue
        $state.PmType | Should -Be 1
        $state.PathManager | Should -Be 'userspace'
        Invoke-InNamespace $lab.Client sysctl '-qw', 'net.mptcp.pm_type=0' | Out-Null
    }

    It 'counts the endpoints and reads the limits ip shows' {
        $state = (Invoke-LabCmdlet $lab.Client { Get-MptcpKernelState }).Output[0]
        $state.EndpointCount | Should -Be @(Get-IpEndpoint $lab.Client).Count
        $state.Limits.Subflows | Should -Be (Get-IpLimit $lab.Client).Subflows
        $state.Limits.AddAddrAccepted | Should -Be (Get-IpLimit $lab.Client).AddAddrAccepted
    }

    It 'reads the build mode from the kernel configuration' {
        $state = (Invoke-LabCmdlet $lab.Client { Get-MptcpKernelState }).Output[0]
        $release = (Get-Content /proc/sys/kernel/osrelease).Trim()
        $line = if (Test-Path /proc/config.gz) { & sh -c 'gzip -dc /proc/config.gz | grep -E "^(# )?CONFIG_MPTCP[= ]"' }
        elseif (Test-Path "/boot/config-$release") { Select-String -Path "/boot/config-$release" -Pattern '^(# )?CONFIG_MPTCP[= ]' | ForEach-Object Line }
        if (-not $line) { "$($state.BuildMode)" | Should -Be 'Unknown'; return }
        $expected = switch -Regex ($line) { '=y' { 'BuiltIn' } '=m' { 'Module' } default { 'NotBuilt' } }
        "$($state.BuildMode)" | Should -Be $expected
    }
}

Describe 'Get-MptcpKernelState knows the kernel in front of it, by probing' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        # What a kernel keeps of an endpoint's flags, read with ip (which prints flags it does not name as rawflags, in hex).
        function Get-IpFlags([string] $Namespace, [int] $Id) {
            $e = @(((Invoke-InNamespace $Namespace ip '-j', 'mptcp', 'endpoint', 'show') -join '') | ConvertFrom-Json) | Where-Object id -eq $Id
            $bits = if ($e.PSObject.Properties['rawflags']) { [Convert]::ToUInt32($e.rawflags, 16) } else { 0 }
            foreach ($name in 'signal', 'subflow', 'backup', 'fullmesh') { if ($e.PSObject.Properties[$name]) { $bits = $bits -bor @{ signal = 1; subflow = 2; backup = 4; fullmesh = 8 }[$name] } }
            $bits
        }
        function Get-NstatNames([string] $Namespace) {
            $kernel = (((Invoke-InNamespace $Namespace nstat '-asz', '--json') -join '') | ConvertFrom-Json).kernel
            @($kernel.PSObject.Properties.Name | Where-Object { $_ -like 'MPTcpExt*' } | ForEach-Object { $_.Substring(8) })
        }
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'probes endpoint flags in a namespace of its own, agreeing with what ip shows the kernel keeps, and changes nothing' {
        $before = (Invoke-InNamespace $lab.Client ip '-j', 'mptcp', 'endpoint', 'show') -join ''
        $r = Invoke-LabCmdlet $lab.Client {
            Get-MptcpKernelState
            # Every thread of this process is back in (or never left) this namespace: the probe's thread is gone.
            $own = (Get-Item /proc/self/ns/net).LinkTarget
            @(Get-ChildItem /proc/self/task | ForEach-Object { (Get-Item "$($_.FullName)/ns/net").LinkTarget } | Where-Object { $_ -ne $own }).Count
        }
        $r.Errors | Should -BeNullOrEmpty
        $state = $r.Output[0]
        $r.Output[1] | Should -Be 0
        (Invoke-InNamespace $lab.Client ip '-j', 'mptcp', 'endpoint', 'show') -join '' | Should -Be $before

        # The reference: the same flags offered in the lab's router namespace, with ip where it names them.
        Invoke-InNamespace $lab.Router ip 'mptcp', 'endpoint', 'add', '192.0.2.97', 'id', '97', 'subflow', 'fullmesh' -AllowFailure | Out-Null
        $fullmesh = ((Get-IpFlags $lab.Router 97) -band 8) -ne 0
        $laminarAdd = Invoke-LabCmdlet $lab.Router { Add-MptcpEndpoint -Address 192.0.2.98 -Id 98 -Flags Laminar }
        $laminar = $laminarAdd.Errors.Count -eq 0 -and ((Get-IpFlags $lab.Router 98) -band 0x20) -ne 0
        $implicitAdd = Invoke-LabCmdlet $lab.Router { Add-MptcpEndpoint -Address 192.0.2.99 -Id 99 -Flags Implicit }
        Invoke-InNamespace $lab.Router ip 'mptcp', 'endpoint', 'flush' | Out-Null
        "$($state.Features.FullmeshEndpoints.Support)" | Should -Be $(if ($fullmesh) { 'Supported' } else { 'NotSupported' })
        "$($state.Features.LaminarEndpoints.Support)" | Should -Be $(if ($laminar) { 'Supported' } else { 'NotSupported' })
        $implicitRefused = @($implicitAdd.Errors | Where-Object FullyQualifiedErrorId -like 'InvalidArgument,*').Count -eq 1
        "$($state.Features.ImplicitEndpoints.Support)" | Should -Be $(if ($implicitRefused) { 'Supported' } else { 'NotSupported' })
        $release = [version]([regex]::Match((Get-Content /proc/sys/kernel/osrelease), '^\d+\.\d+').Value)
        if ($release -ge [version]'6.18') { "$($state.Features.LaminarEndpoints.Support)" | Should -Be 'Supported' }
    }

    It 'judges the sysctl features by the sysctls sysctl lists, and lists the counters nstat does' {
        $state = (Invoke-LabCmdlet $lab.Client { Get-MptcpKernelState }).Output[0]
        $keys = @(Invoke-InNamespace $lab.Client sysctl '-aN' | Where-Object { $_ -like 'net.mptcp.*' })
        foreach ($case in @(
                @{ Feature = 'PathManagerByName'; Key = 'net.mptcp.path_manager' }
                @{ Feature = 'SynDropFallbackTunable'; Key = 'net.mptcp.syn_retrans_before_tcp_fallback' }
                @{ Feature = 'SchedulerSelection'; Key = 'net.mptcp.available_schedulers' })) {
            "$($state.Features.($case.Feature).Support)" | Should -Be $(if ($keys -contains $case.Key) { 'Supported' } else { 'NotSupported' }) -Because $case.Feature
        }
        $names = Get-NstatNames $lab.Client
        $state.Features.Counters | Should -Be $names
        "$($state.Features.SynDropFallback.Support)" | Should -Be $(if ($keys -contains 'net.mptcp.syn_retrans_before_tcp_fallback' -or $names -contains 'MPCapableSYNTXDrop') { 'Supported' } else { 'NotSupported' })
        "$($state.Features.BlackholeDetection.Support)" | Should -Be $(if ($keys -contains 'net.mptcp.blackhole_timeout' -or $names -contains 'Blackhole') { 'Supported' } else { 'NotSupported' })
        $state.Features.UndescribedCounters | Should -BeNullOrEmpty -Because 'every counter of this kernel is in the catalog'
    }

    It 'says Unknown for endpoint flags, with the reason, without CAP_SYS_ADMIN, and still judges the rest' {
        $r = Invoke-LabCmdlet $lab.Client { Get-MptcpKernelState } -DropCapability sys_admin
        $r.Errors | Should -BeNullOrEmpty
        $state = $r.Output[0]
        foreach ($name in 'FullmeshEndpoints', 'ImplicitEndpoints', 'LaminarEndpoints') {
            "$($state.Features.$name.Support)" | Should -Be 'Unknown' -Because $name
            $state.Features.$name.Evidence | Should -Match 'CAP_SYS_ADMIN'
        }
        @($state.Notes | Where-Object { $_ -like 'Endpoint flags:*CAP_SYS_ADMIN*' }).Count | Should -Be 1
        "$($state.Features.BlackholeDetection.Support)" | Should -Not -Be 'Unknown'
    }
}

Describe 'Get-MptcpCounter agrees with nstat' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
        $peer = Get-LabPeerPath
        function Get-NstatMptcp([string] $Namespace) {
            $json = (Invoke-InNamespace $Namespace nstat '-asz', '--json') -join ''
            $kernel = ($json | ConvertFrom-Json).kernel
            $map = [ordered]@{}
            foreach ($p in $kernel.PSObject.Properties | Where-Object Name -like 'MPTcpExt*') { $map[$p.Name.Substring(8)] = [long]$p.Value }
            $map
        }
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'reads every MPTcpExt counter with nstat''s value after a two-subflow transfer' {
        $sent = Start-LabPeer $lab $lab.Client 'send', '--to', $lab.Addresses.ServerAddress, '--port', '5201', '--bytes', '2000000'
        $sent.Result.mptcp | Should -BeTrue
        $sent.Process.WaitForExit(10000) | Should -BeTrue
        $r = Invoke-LabCmdlet $lab.Client { Get-MptcpCounter }
        $nstat = Get-NstatMptcp $lab.Client
        @($r.Output).Count | Should -Be $nstat.Count
        foreach ($c in $r.Output) { $c.Value | Should -Be $nstat[$c.Name] -Because $c.Name }
        $nstat['MPCapableSYNTX'] | Should -Be 1
        $nstat['MPJoinSynTx'] | Should -BeGreaterOrEqual 1
    }

    It 'reports the change over -Interval while a connection is made' {
        $r = Invoke-LabCmdlet $lab.Client {
            param($Peer, $Server)
            # The source waits 1.5 s before it connects; the first read happens before that.
            Start-Process $Peer -ArgumentList 'send', '--to', $Server, '--port', '5201', '--bytes', '100000', '--delay', '1.5'
            Get-MptcpCounter -Name MPCapableSYNTX, MPCapableSYNACKRX, MPJoinSynTx, MPTcpExtMPCapableFallbackSYNACK -Interval 5
        } -ArgumentList $peer, $lab.Addresses.ServerAddress
        $r.Errors | Should -BeNullOrEmpty
        $byName = @{}; foreach ($c in $r.Output) { $byName[$c.Name] = $c }
        $byName['MPCapableSYNTX'].Delta | Should -Be 1
        $byName['MPCapableSYNACKRX'].Delta | Should -Be 1
        $byName['MPJoinSynTx'].Delta | Should -BeGreaterOrEqual 1
        $byName['MPCapableFallbackSYNACK'].Delta | Should -Be 0
        $byName['MPCapableSYNTX'].Value | Should -Be 2
    }

    It 'shows a server that answers without MPTCP as MPCapableFallbackSYNACK, as nstat does' {
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5202', '--plain' | Out-Null
        $sent = Start-LabPeer $lab $lab.Client 'send', '--to', $lab.Addresses.ServerAddress, '--port', '5202', '--bytes', '1000'
        $sent.Result.mptcp | Should -BeFalse
        $r = Invoke-LabCmdlet $lab.Client { Get-MptcpCounter -Name MPCapableFallbackSYNACK }
        $r.Output[0].Value | Should -Be 1
        (Get-NstatMptcp $lab.Client)['MPCapableFallbackSYNACK'] | Should -Be 1
    }
}
