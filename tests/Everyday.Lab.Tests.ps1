# Everyday use against the real kernel, in lab namespaces: what binding refuses, errors that say what they mean,
# completion from the namespace's processes, addresses and counters, a yes or no for scripts (and an exit code),
# progress and prompt Ctrl+C on long waits, and Watch-MptcpPackets ending on Ctrl+C at a real terminal (a pty
# from script(1)) with what it saw.
BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'Lab/MptcpLab.psm1') -Force
    $labSkip = [bool](Get-LabSkipReason)
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'Lab/MptcpLab.psm1') -Force
    $work = Join-Path ([IO.Path]::GetTempPath()) "mptl-$PID-everyday"
    New-Item -ItemType Directory -Path $work -Force | Out-Null
    $noBus = "unix:path=$work/no-bus"
    . (Join-Path $PSScriptRoot '../tools/common.ps1')
    $pwsh = Get-PwshCommand

    # A pwsh started in a namespace with a script, stdin and stdout redirected; optionally under script(1),
    # which gives it a terminal (a pty) whose input is what this test writes.
    function Start-LabPwsh([string] $Namespace, [string] $Script, [switch] $Terminal) {
        $command = "Import-Module '$(Get-LabModulePath)'; $Script"
        $argv = @($pwsh) + @('-NoLogo', '-NoProfile', '-Command', $command)
        if ($Terminal) {
            $quoted = ($argv | ForEach-Object { "'" + ($_ -replace "'", "'\''") + "'" }) -join ' '
            $argv = @('script', '-qfec', $quoted, '/dev/null')
        }
        $psi = [System.Diagnostics.ProcessStartInfo]::new('ip')
        foreach ($a in @('netns', 'exec', $Namespace) + $argv) { $psi.ArgumentList.Add($a) }
        $psi.RedirectStandardInput = $true; $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true
        $psi.UseShellExecute = $false
        $process = [System.Diagnostics.Process]::Start($psi)
        $output = [System.Text.StringBuilder]::new()
        $null = Register-ObjectEvent $process OutputDataReceived -MessageData $output -Action { if ($null -ne $EventArgs.Data) { [void]$Event.MessageData.AppendLine($EventArgs.Data) } }
        $process.BeginOutputReadLine()
        $null = $process.StandardError.ReadToEndAsync()
        [pscustomobject]@{ Process = $process; Output = $output }
    }
    function Wait-Output($Started, [string] $Pattern, [int] $Seconds = 60) {
        $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
        while ([DateTime]::UtcNow -lt $deadline -and $Started.Output.ToString() -notmatch $Pattern) { Start-Sleep -Milliseconds 100 }
        $Started.Output.ToString() -match $Pattern
    }
}
AfterAll { Remove-Item $work -Recurse -Force -ErrorAction Ignore }

Describe 'What binding refuses, and errors that say what they mean' -Tag Lab -Skip:$labSkip {
    BeforeAll { $lab = New-MptcpLab }
    AfterAll { Remove-MptcpLab $lab }

    It 'refuses an interface the namespace does not have, naming the ones it has' {
        $r = Invoke-LabCmdlet $lab.Client { Test-MptcpFirewall -Interface nosuch0 }
        $r.Output | Should -BeNullOrEmpty
        $r.Errors[0].FullyQualifiedErrorId | Should -Be 'ParameterArgumentValidationError,MptcpTools.Commands.TestMptcpFirewallCommand'
        $r.Errors[0].Message | Should -Match "There is no interface 'nosuch0' in this network namespace \(it has c0, c1, lo\)"
    }

    It 'refuses -ComputerName without -Port as a parameter error, before any check runs' {
        $r = Invoke-LabCmdlet $lab.Client { Invoke-MptcpDiagnosis -ComputerName 203.0.113.2 }
        $r.Output | Should -BeNullOrEmpty
        $r.Errors[0].FullyQualifiedErrorId | Should -Be 'MissingMandatoryParameter,MptcpTools.Commands.InvokeMptcpDiagnosisCommand'
        $r.Errors[0].Message | Should -Match 'Port'
    }

    It 'refuses durations that cannot be meant: <Command>' -ForEach @(
        @{ Command = 'Get-MptcpCounter -Interval -1'; Parameter = 'Interval' }
        @{ Command = 'Get-MptcpCounter -Interval 0'; Parameter = 'Interval' }
        @{ Command = 'Test-MptcpConnectivity 203.0.113.2 5201 -Timeout -2'; Parameter = 'Timeout' }
        @{ Command = 'Test-MptcpConnectivity 203.0.113.2 5201 -Duration -1'; Parameter = 'Duration' }
        @{ Command = 'Watch-MptcpEvent -Duration 0'; Parameter = 'Duration' }
        @{ Command = 'Watch-MptcpPackets -Duration -5'; Parameter = 'Duration' }
    ) {
        $r = Invoke-LabCmdlet $lab.Client ([scriptblock]::Create($Command))
        $r.Output | Should -BeNullOrEmpty
        $r.Errors[0].FullyQualifiedErrorId | Should -BeLike 'ParameterArgumentValidationError,*'
        $r.Errors[0].Message | Should -Match "'$Parameter'.*not a duration"
    }

    It 'refuses endpoint id 0, and says which endpoint holds an id that is taken' {
        $before = (Invoke-InNamespace $lab.Client ip 'mptcp', 'endpoint', 'show') -join "`n"
        $r = Invoke-LabCmdlet $lab.Client { Add-MptcpEndpoint 192.0.2.2 -Id 0 -Flags Subflow }
        $r.Errors[0].FullyQualifiedErrorId | Should -BeLike 'ParameterArgumentValidationError,*'
        $r = Invoke-LabCmdlet $lab.Client { Add-MptcpEndpoint 192.0.2.2 -Id 1 -Flags Subflow }
        $r.Errors.Count | Should -Be 1
        $r.Errors[0].FullyQualifiedErrorId | Should -Be 'AlreadyExists,MptcpTools.Commands.AddMptcpEndpointCommand'
        $r.Errors[0].Category | Should -Be 'ResourceExists'
        $r.Errors[0].Message | Should -Match 'EBUSY'
        $r.Errors[0].Message | Should -Match 'id 1 is already taken by 198\.51\.100\.2'
        (Invoke-InNamespace $lab.Client ip 'mptcp', 'endpoint', 'show') -join "`n" | Should -Be $before
    }

    It 'names CAP_NET_ADMIN in the message of PermissionDenied itself, not only in its details' {
        $r = Invoke-LabCmdlet $lab.Client { Add-MptcpEndpoint 192.0.2.2 -Flags Subflow } -DropCapability net_admin
        $r.Errors[0].FullyQualifiedErrorId | Should -Be 'PermissionDenied,MptcpTools.Commands.AddMptcpEndpointCommand'
        $r.Errors[0].Message | Should -Match 'EPERM'
        $r.Errors[0].Message | Should -Match 'CAP_NET_ADMIN'
        $r.Errors[0].RecommendedAction | Should -Match 'root'
    }

    It 'says which name did not resolve, and why, in words' {
        $r = Invoke-LabCmdlet $lab.Client { Test-MptcpConnectivity no-such-peer.invalid 5201 }
        $r.Errors[0].FullyQualifiedErrorId | Should -Be 'NameNotResolved,MptcpTools.Commands.TestMptcpConnectivityCommand'
        $r.Errors[0].TargetObject | Should -Be 'no-such-peer.invalid'
        $r.Errors[0].Message | Should -Match "^'no-such-peer\.invalid' does not resolve: (no such name|no answer from a DNS server)"
    }
}

Describe 'Completion from the namespace' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
        $peer = Start-LabPeer $lab $lab.Client 'send', '--to', $lab.Addresses.ServerAddress, '--port', '5201', '--hold', '300'
        # A process of a similar name without any socket: it must come after the one that has them.
        Copy-Item (Get-Command sleep -CommandType Application)[0].Source (Join-Path $work 'MptcpIdle')
        Start-LabProcess $lab $lab.Client (Join-Path $work 'MptcpIdle') '300' | Out-Null
        Start-Sleep -Milliseconds 300
        $r = Invoke-LabCmdlet $lab.Client {
            foreach ($line in 'Test-MptcpApplication -Name Mptcp', 'Invoke-MptcpDiagnosis -ProcessName Mptcp', 'Add-MptcpEndpoint -Address 198.51',
                'Add-MptcpEndpoint -Address 2001:db8:2', 'Get-MptcpCounter -Name MPJoinSyn', 'Get-MptcpCounter -Name mptcpextMPCapableSYNTX') {
                [pscustomobject]@{ Line = $line; Texts = @((TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText) }
            }
        }
        function Get-Completion([string] $Line) { @(($r.Output | Where-Object Line -eq $Line).Texts) }
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'offers running processes, those with TCP or MPTCP sockets first, for <_>' -ForEach 'Test-MptcpApplication -Name Mptcp', 'Invoke-MptcpDiagnosis -ProcessName Mptcp' {
        $texts = Get-Completion $_
        $texts | Should -Contain 'MptcpPeer'
        $texts | Should -Contain 'MptcpIdle'
        [array]::IndexOf($texts, 'MptcpPeer') | Should -BeLessThan ([array]::IndexOf($texts, 'MptcpIdle'))
    }

    It 'offers the namespace''s own addresses for Add-MptcpEndpoint -Address' {
        Get-Completion 'Add-MptcpEndpoint -Address 198.51' | Should -Be @('198.51.100.2')
        Get-Completion 'Add-MptcpEndpoint -Address 2001:db8:2' | Should -Be @('2001:db8:2::2')
    }

    It 'offers the counters this kernel has, as nstat names them without the prefix' {
        $names = @(Invoke-InNamespace $lab.Client nstat '-az', '-j' | ConvertFrom-Json -AsHashtable | ForEach-Object { $_.kernel.Keys } |
                Where-Object { $_ -like 'MPTcpExtMPJoinSyn*' } | ForEach-Object { $_.Substring(8) } | Sort-Object)
        $names.Count | Should -BeGreaterThan 1
        Get-Completion 'Get-MptcpCounter -Name MPJoinSyn' | Should -Be $names
        Get-Completion 'Get-MptcpCounter -Name mptcpextMPCapableSYNTX' | Should -Contain 'MPCapableSYNTX'
    }
}

Describe 'A yes or no for scripts and monitoring' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        $bus = (Start-LabDBus $lab).Address
        # The one-liner of about_MptcpTools, as a cron job runs it: its exit code is the answer.
        function Get-ExitCode([string] $Namespace, [string] $Bus, [string[]] $Drop = @()) {
            $script = "Import-Module '$(Get-LabModulePath)'; if (Invoke-MptcpDiagnosis -Quiet -BusAddress '$Bus') { exit 0 } else { exit 1 }"
            $argv = @('ip', 'netns', 'exec', $Namespace) + @($pwsh) + @('-NoProfile', '-NonInteractive', '-Command', $script)
            if ($Drop) { $argv = @('setpriv', "--inh-caps=$($Drop -join ',')", "--bounding-set=$($Drop -join ',')") + $argv }
            & $argv[0] @($argv | Select-Object -Skip 1) | Out-Null
            $LASTEXITCODE
        }
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'says yes (exit 0) on the healthy lab client, with every check run' {
        $r = Invoke-LabCmdlet $lab.Client { param($b) Invoke-MptcpDiagnosis -Quiet -BusAddress $b } -ArgumentList $bus
        $r.Output | Should -Be @($true)
        Get-ExitCode $lab.Client $bus | Should -Be 0
    }

    It 'says no (exit 1) when checks could not run for want of CAP_NET_ADMIN, and names them at Warning' {
        Get-ExitCode $lab.Client $bus -Drop '-net_admin' | Should -Be 1
        $r = Invoke-LabCmdlet $lab.Client { param($b) Invoke-MptcpDiagnosis -BusAddress $b } -ArgumentList $bus -DropCapability net_admin
        $incomplete = @($r.Output | Where-Object Id -eq 'DiagnosisIncomplete')
        $incomplete.Count | Should -Be 1
        $incomplete[0].Severity | Should -Be 'Warning'
        $incomplete[0].Summary | Should -Match 'firewall'
        $incomplete[0].Remediation | Should -Match 'root'
    }

    It 'says no when the D-Bus cannot be reached, naming the daemon and NetworkManager checks' {
        Get-ExitCode $lab.Client $noBus | Should -Be 1
        $r = Invoke-LabCmdlet $lab.Client { param($b) Invoke-MptcpDiagnosis -BusAddress $b } -ArgumentList $noBus
        $incomplete = @($r.Output | Where-Object Id -eq 'DiagnosisIncomplete')
        $incomplete[0].Summary | Should -Match 'mptcpd unit'
        $incomplete[0].Summary | Should -Match 'NetworkManager'
        @($r.Output | Where-Object { $_.Id -eq 'CheckUnavailable' -and $_.Component -in 'Daemon', 'NetworkManager' }).Count | Should -Be 2
    }

    It 'applies only the repairs of the findings named by -Id' {
        $bare = New-MptcpLab -NoEndpoints
        try {
            $r = Invoke-LabCmdlet $bare.Client { param($b) Invoke-MptcpDiagnosis -BusAddress $b | Repair-MptcpConfiguration -Id AddAddr* -Confirm:$false -Verbose 4>&1 } -ArgumentList $noBus
            $r.Errors | Should -BeNullOrEmpty
            @($r.Output | Where-Object { $_.PSObject.TypeNames[0] -like '*MptcpTools.Diagnosis.MptcpRepairResult' }).FindingId | Should -Be @('AddAddrAcceptedZero')
            "$($r.Output)" | Should -Match 'NoSubflowEndpoints: left alone'
            (Invoke-InNamespace $bare.Client ip 'mptcp', 'limits', 'show') -join ' ' | Should -Match 'add_addr_accepted 2'
            Invoke-InNamespace $bare.Client ip 'mptcp', 'endpoint', 'show' | Should -BeNullOrEmpty
        }
        finally { Remove-MptcpLab $bare }
    }
}

Describe 'Long waits show the time left and stop at once' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
        # Each command in a pipeline of its own runspace, as a host runs it; after two seconds the host stops it,
        # as it does on Ctrl+C. The progress records and the time Stop() took come back.
        $measure = {
            param($Module, $Command)
            $ps = [powershell]::Create()
            [void]$ps.AddScript("Import-Module '$Module'; $Command")
            $async = $ps.BeginInvoke()
            Start-Sleep -Seconds 3
            $progress = @($ps.Streams.Progress | Where-Object RecordType -eq 'Processing')
            $clock = [Diagnostics.Stopwatch]::StartNew()
            $ps.Stop()
            [pscustomobject]@{
                StopMs = $clock.ElapsedMilliseconds
                Progress = $progress.Count
                SecondsRemaining = if ($progress) { $progress[-1].SecondsRemaining } else { -1 }
                Status = if ($progress) { $progress[-1].StatusDescription } else { '' }
                Completed = $async.IsCompleted
            }
            $ps.Dispose()
        }
    }
    AfterAll { Remove-MptcpLab $lab }

    It '<Command> shows the seconds left, and stops within a second of Ctrl+C' -ForEach @(
        @{ Command = 'Get-MptcpCounter -Interval 30' }
        @{ Command = 'Test-MptcpConnectivity 203.0.113.2 5201 -Duration 30' }
        @{ Command = 'Invoke-MptcpDiagnosis -CaptureSeconds 30 -Port 5201 -BusAddress unix:path=/nonexistent' }
        @{ Command = 'Watch-MptcpEvent -Duration 30' }
        @{ Command = 'Watch-MptcpPackets -Summary -Duration 30 -Port 5201' }
    ) {
        $r = Invoke-LabCmdlet $lab.Client $measure -ArgumentList (Get-LabModulePath), $Command
        $r.Errors | Should -BeNullOrEmpty
        $m = $r.Output[0]
        $m.Progress | Should -BeGreaterThan 0 -Because 'a progress record shows while it waits'
        $m.SecondsRemaining | Should -BeLessOrEqual 30
        $m.SecondsRemaining | Should -BeGreaterThan 15
        $m.Status | Should -Match 's left'
        $m.StopMs | Should -BeLessThan 1500 -Because 'Ctrl+C must end the wait at once'
        $m.Completed | Should -BeTrue
    }
}

Describe 'Watch-MptcpPackets ended by Ctrl+C' -Tag Lab -Skip:$labSkip {
    BeforeAll {
        $lab = New-MptcpLab
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
        $watch = "'READY'; Watch-MptcpPackets -Port 5201 -Summary | Format-Table Id, Outcome, ClientPort -AutoSize | Out-String -Width 200; 'AFTER'"
    }
    AfterAll { Remove-MptcpLab $lab }

    It 'at a terminal, ends the capture and still writes the summary of what it saw, and the counts' {
        $started = Start-LabPwsh $lab.Client $watch -Terminal
        try {
            Wait-Output $started 'READY' | Should -BeTrue
            Start-Sleep -Seconds 3   # the capture opens
            $sent = Start-LabPeer $lab $lab.Client 'send', '--to', $lab.Addresses.ServerAddress, '--port', '5201', '--bytes', '10000', '--hold', '60'
            Start-Sleep -Seconds 1
            $started.Process.StandardInput.Write([char]3)   # Ctrl+C, as the terminal delivers it
            $started.Process.StandardInput.Flush()
            Wait-Output $started 'AFTER' 30 | Should -BeTrue -Because $started.Output.ToString()
            $text = $started.Output.ToString()
            $text | Should -Match "\bMptcp\s+$($sent.Result.localPort)\b"
            $text | Should -Match 'TCP segments captured .*libpcap: \d+ packets received, \d+ dropped by the kernel'
        }
        finally { if (-not $started.Process.HasExited) { $started.Process.Kill() } }
    }

    It 'stopped where Ctrl+C cannot be read as a key, tells the host what it saw and the counts' {
        $started = Start-LabPwsh $lab.Client $watch
        try {
            Wait-Output $started 'READY' | Should -BeTrue
            Start-Sleep -Seconds 3
            $sent = Start-LabPeer $lab $lab.Client 'send', '--to', $lab.Addresses.ServerAddress, '--port', '5201', '--bytes', '10000', '--hold', '60'
            Start-Sleep -Seconds 1
            & kill -INT $started.Process.Id   # what Ctrl+C sends when stdin is not a terminal
            $started.Process.WaitForExit(30000) | Should -BeTrue
            Start-Sleep -Milliseconds 300
            $text = $started.Output.ToString()
            $text | Should -Match "$([regex]::Escape($sent.Result.local)):$($sent.Result.localPort) > 203\.0\.113\.2:5201 Mptcp"
            $text | Should -Match 'TCP segments captured'
            $text | Should -Not -Match 'AFTER'   # the pipeline was stopped
        }
        finally { if (-not $started.Process.HasExited) { $started.Process.Kill() } }
    }
}
