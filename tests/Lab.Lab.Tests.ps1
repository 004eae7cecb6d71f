# The lab itself: the topology every later test stands on, its naming, and its clean-up.
BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'Lab/MptcpLab.psm1') -Force
    $labSkip = [bool](Get-LabSkipReason)
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'Lab/MptcpLab.psm1') -Force
    function Get-Namespace { @(Invoke-LabNative ip 'netns', 'list' | ForEach-Object { ("$_" -split ' ')[0] }) }
}

Describe 'The lab topology' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'carries MPTCP over IPv4 with a second subflow over path 2' {
        $sent = Start-LabPeer $lab $lab.Client 'send', '--to', $lab.Addresses.ServerAddress, '--port', '5201', '--bytes', '100000', '--hold', '3'
        $sent.Result.mptcp | Should -BeTrue
        $sent.Result.local | Should -Be $lab.Addresses.ClientPath1
        Start-Sleep -Milliseconds 500
        $ss = (Invoke-InNamespace $lab.Client ss '-Mni') -join "`n"
        $ss | Should -Match 'subflows:1 '
        $tcp = (Invoke-InNamespace $lab.Client ss '-tni', 'dst', $lab.Addresses.ServerAddress) -join "`n"
        $tcp | Should -Match ([regex]::Escape($lab.Addresses.ClientPath2))
    }

    It 'carries MPTCP over IPv6 with a second subflow over path 2' {
        $sent = Start-LabPeer $lab $lab.Client 'send', '--to', $lab.Addresses.ServerV6, '--port', '5201', '--bytes', '100000', '--hold', '3'
        $sent.Result.mptcp | Should -BeTrue
        $sent.Result.local | Should -Be $lab.Addresses.ClientPath1V6
        Start-Sleep -Milliseconds 500
        $tcp = (Invoke-InNamespace $lab.Client ss '-tni', 'dst', "[$($lab.Addresses.ServerV6)]") -join "`n"
        $tcp | Should -Match ([regex]::Escape($lab.Addresses.ClientPath2V6))
    }

    It 'routes path 2 by source address only' {
        (Invoke-InNamespace $lab.Client ip 'route', 'get', $lab.Addresses.ServerAddress) -join ' ' | Should -Match 'dev c0'
        (Invoke-InNamespace $lab.Client ip 'route', 'get', $lab.Addresses.ServerAddress, 'from', $lab.Addresses.ClientPath2) -join ' ' | Should -Match 'dev c1'
    }

    It 'starts a plain TCP sink that the MPTCP source falls back to' {
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5202', '--plain' | Out-Null
        $sent = Start-LabPeer $lab $lab.Client 'send', '--to', $lab.Addresses.ServerAddress, '--port', '5202', '--bytes', '1000'
        $sent.Result.mptcp | Should -BeFalse
    }
}

Describe 'Lab names and clean-up' -Tag Lab -Skip:$labSkip {
    It 'gives two labs of one run different names, and removes every namespace and process' {
        $a = New-MptcpLab -NoEndpoints; $b = New-MptcpLab -NoEndpoints
        try {
            $a.Client | Should -Not -Be $b.Client
            $a.Client | Should -BeLike "mptl-$PID-*"
            $names = Get-Namespace
            foreach ($ns in $a.Client, $a.Router, $a.Server, $b.Client) { $names | Should -Contain $ns }
            $peer = Start-LabPeer $a $a.Server 'serve', '--port', '5201'
        }
        finally { Remove-MptcpLab $a; Remove-MptcpLab $b }
        $names = Get-Namespace
        foreach ($ns in $a.Client, $a.Router, $a.Server, $b.Client, $b.Router, $b.Server) { $names | Should -Not -Contain $ns }
        Get-Process -Id $peer.Pid -ErrorAction Ignore | Should -BeNullOrEmpty
        @(@(Invoke-LabNative ip 'netns', 'list' -AllowFailure) -match "^mptl-$PID-").Count | Should -Be 0
    }

    It 'removes namespaces a dead run left behind, and leaves a live run''s alone' {
        # A PID above pid_max can never be alive.
        $dead = "mptl-$([int](Get-Content /proc/sys/kernel/pid_max) + 1)-feed01-c"
        $live = "mptl-$PID-feed02-c"
        Invoke-LabNative ip 'netns', 'add', $dead | Out-Null
        Invoke-LabNative ip 'netns', 'add', $live | Out-Null
        try {
            Clear-StaleLab
            Get-Namespace | Should -Not -Contain $dead
            Get-Namespace | Should -Contain $live
        }
        finally {
            Invoke-LabNative ip 'netns', 'del', $live -AllowFailure | Out-Null
            Invoke-LabNative ip 'netns', 'del', $dead -AllowFailure | Out-Null
        }
    }
}
