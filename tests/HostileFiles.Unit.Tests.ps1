# Files and processes another user controls, end to end through the cmdlets (issue 16, item 1): a process that maps
# /dev/zero under a name the cmdlets look for, and path parameters naming a device or a FIFO. Nothing is read that
# is not a regular file, nothing is read past its bound, nothing blocks. Read amounts come from /proc/self/io (rchar).
BeforeAll {
    $modulePath = if ($env:MPTCPTOOLS_MODULE) { $env:MPTCPTOOLS_MODULE } else { "$PSScriptRoot/../output/MptcpTools" }
    Import-Module $modulePath -Force
    function Get-ReadBytes { [long]((Get-Content /proc/self/io | Where-Object { $_ -like 'rchar:*' }) -replace '\D', '') }
    # Runs a block; returns its output, its errors, what it read and how long it took (a raw exception is kept, not thrown).
    function Measure-Read([scriptblock] $Block) {
        $ErrorActionPreference = 'Continue' # the errors are what is measured: whatever the caller prefers
        $before = Get-ReadBytes; $clock = [Diagnostics.Stopwatch]::StartNew(); $thrown = $null
        $all = try { @(& $Block 2>&1) } catch { $thrown = $_; @() }
        [pscustomobject]@{
            Output = @($all | Where-Object { $_ -isnot [System.Management.Automation.ErrorRecord] })
            Errors = @($all | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
            Thrown = $thrown; Read = (Get-ReadBytes) - $before; Seconds = $clock.Elapsed.TotalSeconds
        }
    }
    $fifo = Join-Path $TestDrive 'config-fifo'
    & mkfifo $fifo
}

Describe 'A process that maps /dev/zero, named as the program the cmdlets look for' {
    BeforeAll {
        # A pwsh renamed "zero" (its comm) that maps 64 MiB of /dev/zero and waits; /proc/PID/maps then names /dev/zero,
        # a file whose name holds the program's name, which the switch scan reads.
        $script = Join-Path $TestDrive 'zero.ps1'
        $ready = Join-Path $TestDrive 'zero-ready'
        @"
Set-Content /proc/`$PID/comm zero -NoNewline
`$m = [IO.MemoryMappedFiles.MemoryMappedFile]::CreateFromFile('/dev/zero', [IO.FileMode]::Open, [NullString]::Value, 64MB, [IO.MemoryMappedFiles.MemoryMappedFileAccess]::Read)
`$v = `$m.CreateViewAccessor(0, 64MB, [IO.MemoryMappedFiles.MemoryMappedFileAccess]::Read)
Set-Content '$ready' 'mapped'
Start-Sleep 300
"@ | Set-Content $script
        $pwsh = [Environment]::ProcessPath
        $arguments = @()
        if ([IO.Path]::GetFileNameWithoutExtension($pwsh) -eq 'dotnet') { $arguments += Join-Path $PSHOME 'pwsh.dll' }
        $zero = Start-Process $pwsh -ArgumentList ($arguments + @('-NoProfile', '-NonInteractive', '-File', $script)) -PassThru
        $deadline = [DateTime]::UtcNow.AddSeconds(60)
        while (-not (Test-Path $ready) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
    }
    AfterAll { if ($zero -and -not $zero.HasExited) { Stop-Process -Id $zero.Id -Force } }

    It 'maps /dev/zero under the name zero (the premise)' {
        Test-Path $ready | Should -BeTrue
        Get-Content "/proc/$($zero.Id)/comm" | Should -Be 'zero'
        Get-Content "/proc/$($zero.Id)/maps" | Where-Object { $_ -match ' /dev/zero' } | Should -Not -BeNullOrEmpty
    }

    It 'is examined by Test-MptcpApplication -Name zero without reading /dev/zero' {
        $r = Measure-Read { Test-MptcpApplication -Name zero }
        $r.Thrown | Should -BeNullOrEmpty
        @($r.Output | Where-Object ProcessId -eq $zero.Id).Count | Should -Be 1
        # The switch scan reads at most 64 MiB of a file: reading /dev/zero at all would reach that.
        $r.Read | Should -BeLessThan 32MB
    }

    It 'is among every process Test-MptcpApplication -Name * examines, and nothing throws' {
        # Every process's executable is scanned here, so the amount read says little; the issue's run died at 4.2 GB.
        $r = Measure-Read { Test-MptcpApplication -Name * }
        $r.Thrown | Should -BeNullOrEmpty
        @($r.Output | Where-Object ProcessId -eq $zero.Id).Count | Should -Be 1
        $r.Read | Should -BeLessThan 2GB
    }

    It 'is examined by Invoke-MptcpDiagnosis -ProcessName zero without reading /dev/zero' {
        $r = Measure-Read { Invoke-MptcpDiagnosis -ProcessName zero -IncludePassed }
        $r.Thrown | Should -BeNullOrEmpty
        @($r.Output).Count | Should -BeGreaterThan 0
        $r.Read | Should -BeLessThan 32MB
    }
}

Describe 'Path parameters that name a device or a FIFO' {
    It 'Get-MptcpCounter -Path <Path> says ReadFailed at once, reading nothing of it' -ForEach @(@{ Path = '/dev/zero' }, @{ Path = 'fifo' }, @{ Path = '/dev/full' }) {
        $target = if ($Path -eq 'fifo') { $fifo } else { $Path }
        $r = Measure-Read { Get-MptcpCounter -Path $target }
        $r.Thrown | Should -BeNullOrEmpty
        @($r.Errors).Count | Should -Be 1
        $r.Errors[0].FullyQualifiedErrorId | Should -BeLike 'ReadFailed,*'
        $r.Errors[0].Exception.Message | Should -Match 'not a regular file'
        $r.Read | Should -BeLessThan 1MB
        $r.Seconds | Should -BeLessThan 10 -Because 'a FIFO without a writer must not block the read'
    }

    It 'Get-MptcpDaemonStatus -ConfigPath <Path> reports the file as a problem, reading nothing of it' -ForEach @(@{ Path = '/dev/zero' }, @{ Path = 'fifo' }) {
        $target = if ($Path -eq 'fifo') { $fifo } else { $Path }
        $r = Measure-Read { Get-MptcpDaemonStatus -ConfigPath $target }
        $r.Thrown | Should -BeNullOrEmpty
        @($r.Output).Count | Should -Be 1
        ($r.Output[0].Problems | ForEach-Object { "$_" }) -join ' ' | Should -Match 'not a regular file'
        # The installed packages' list (dpkg) is read for mptcpd's version; the issue's run read 8.3 GB of /dev/zero.
        $r.Read | Should -BeLessThan 64MB
        $r.Seconds | Should -BeLessThan 10
    }

    It 'Invoke-MptcpDiagnosis -DaemonConfigPath /dev/full gives DaemonConfigInvalid naming it' {
        $r = Measure-Read { Invoke-MptcpDiagnosis -DaemonConfigPath /dev/full -IncludePassed }
        $r.Thrown | Should -BeNullOrEmpty
        $f = @($r.Output | Where-Object Id -eq 'DaemonConfigInvalid')
        $f.Count | Should -Be 1
        $f[0].Summary | Should -Match '/dev/full.*not a regular file'
        $r.Read | Should -BeLessThan 32MB
    }
}

Describe 'RegularFile.TryOpen judges what it opened' {
    It 'refuses <Case> without opening it for reading' -ForEach @(
        @{ Case = 'a FIFO'; Path = 'fifo' }
        @{ Case = 'a device'; Path = '/dev/zero' }
        @{ Case = 'a directory'; Path = '/' }
        @{ Case = 'a symbolic link to a device'; Path = 'link' }
    ) {
        $target = switch ($Path) { 'fifo' { $fifo } 'link' { $l = Join-Path $TestDrive 'to-zero'; if (-not (Test-Path $l)) { & ln -s /dev/zero $l }; $l } default { $Path } }
        $size = 0L; $problem = $null; $missing = $false
        $handle = [MptcpTools.Kernel.RegularFile]::TryOpen($target, [ref]$size, [ref]$problem, [ref]$missing)
        $handle | Should -BeNullOrEmpty
        $problem | Should -Match 'not a regular file'
        $missing | Should -BeFalse
    }

    It 'opens a regular file (through a link too), says a missing one is missing, and refuses a NUL in the path' {
        $file = Join-Path $TestDrive 'plain.txt'; Set-Content $file 'hello' -NoNewline
        $size = 0L; $problem = $null; $missing = $false
        $handle = [MptcpTools.Kernel.RegularFile]::TryOpen($file, [ref]$size, [ref]$problem, [ref]$missing)
        try { $size | Should -Be 5; $handle.IsInvalid | Should -BeFalse } finally { $handle.Dispose() }
        [MptcpTools.Kernel.RegularFile]::TryOpen((Join-Path $TestDrive 'nothing-here'), [ref]$size, [ref]$problem, [ref]$missing) | Should -BeNullOrEmpty
        $missing | Should -BeTrue
        [MptcpTools.Kernel.RegularFile]::TryOpen("a`0b", [ref]$size, [ref]$problem, [ref]$missing) | Should -BeNullOrEmpty
        $problem | Should -Match 'not a path'
    }
}

Describe 'Capture paths that name a FIFO or a device (found by the parameter fuzzer)' {
    BeforeAll {
        # Runs a cmdlet in a runspace of its own, waiting at most 10 s, so that a failing test cannot hang the run.
        function Invoke-Bounded([scriptblock] $Block) {
            $ps = [powershell]::Create()
            $null = $ps.AddScript("Import-Module '$((Get-Module MptcpTools).Path)'").AddStatement().AddScript($Block.ToString())
            $async = $ps.BeginInvoke()
            $ended = $async.AsyncWaitHandle.WaitOne(10000)
            if (-not $ended) {
                # Blocked (before the fix, on each open of the FIFO): the call is left behind, not waited for.
                $null = $ps.BeginStop($null, $null)
                return [pscustomobject]@{ Ended = $false; Errors = @(); Thrown = $null }
            }
            $errors = @($ps.Streams.Error)
            $thrown = $null
            try { $null = $ps.EndInvoke($async) } catch { $thrown = $_ }
            $ps.Dispose()
            [pscustomobject]@{ Ended = $ended; Errors = $errors; Thrown = $thrown }
        }
    }

    It '<Command> says NotACaptureFile at once for <Case>' -ForEach @(
        @{ Command = 'Read-MptcpCapture'; Case = 'a FIFO'; Block = { Read-MptcpCapture -LiteralPath $args[0] } }
        @{ Command = 'Read-MptcpCapture -Summary'; Case = '/dev/zero'; Block = { Read-MptcpCapture -LiteralPath /dev/zero -Summary } }
        @{ Command = 'Measure-MptcpCapture'; Case = 'a FIFO'; Block = { Measure-MptcpCapture -LiteralPath $args[0] } }
        @{ Command = 'Compare-MptcpCapture'; Case = 'a FIFO'; Block = { Compare-MptcpCapture -ReferencePath $args[0] -DifferencePath $args[0] } }
    ) {
        $target = Join-Path $TestDrive "capture-fifo-$([guid]::NewGuid().ToString('n').Substring(0, 6))"
        & mkfifo $target
        $block = [scriptblock]::Create("`$args = @('$target'); $Block")
        $r = Invoke-Bounded $block
        $r.Ended | Should -BeTrue -Because 'a FIFO without a writer must not block the read'
        $r.Thrown | Should -BeNullOrEmpty
        @($r.Errors).Count | Should -BeGreaterThan 0
        $r.Errors | ForEach-Object { $_.FullyQualifiedErrorId | Should -BeLike 'NotACaptureFile,*'; "$_" | Should -Match 'not a regular file' }
    }
}

Describe 'Names and paths PowerShell cannot match or open are refused at binding (item 10, found by the parameter fuzzer)' {
    It '<Command> -<Parameter> <Shown> is ParameterArgumentValidationError, not a raw exception' -ForEach @(
        @{ Command = 'Get-MptcpCounter'; Parameter = 'Name'; Value = '['; Shown = "'['" }
        @{ Command = 'Get-MptcpCounter'; Parameter = 'Name'; Value = ' '; Shown = "' '" }
        @{ Command = 'Get-MptcpCounter'; Parameter = 'Path'; Value = $null; Shown = '$null' }
        @{ Command = 'Get-MptcpDaemonStatus'; Parameter = 'ConfigPath'; Value = $null; Shown = '$null' }
        @{ Command = 'Get-MptcpEndpoint'; Parameter = 'Interface'; Value = '?['; Shown = "'?['" }
        @{ Command = 'Get-MptcpEndpoint'; Parameter = 'Interface'; Value = ''; Shown = "''" }
        @{ Command = 'Get-MptcpNetworkManagerSetting'; Parameter = 'Interface'; Value = ' '; Shown = "' '" }
        @{ Command = 'Invoke-MptcpDiagnosis'; Parameter = 'DaemonConfigPath'; Value = $null; Shown = '$null' }
        @{ Command = 'Invoke-MptcpDiagnosis'; Parameter = 'ProcessName'; Value = '['; Shown = "'['" }
        @{ Command = 'Repair-MptcpConfiguration'; Parameter = 'Id'; Value = '['; Shown = "'['" }
        @{ Command = 'Repair-MptcpConfiguration'; Parameter = 'SysctlFile'; Value = $null; Shown = '$null' }
        @{ Command = 'Test-MptcpApplication'; Parameter = 'Name'; Value = '[abc'; Shown = "'[abc'" }
    ) {
        $arguments = @{ $Parameter = $Value }
        # Nothing is repaired: the repair list is empty, and binding fails before any of it.
        if ($Command -eq 'Repair-MptcpConfiguration') { $arguments.Repair = @(); $arguments.WhatIf = $true }
        $thrown = try { & $Command @arguments -ErrorAction Stop | Out-Null; $null } catch { $_ }
        $thrown | Should -Not -BeNullOrEmpty
        $thrown.FullyQualifiedErrorId | Should -BeLike "ParameterArgument*,MptcpTools.Commands.*"
        $thrown.Exception | Should -BeOfType [System.Management.Automation.ParameterBindingException]
    }
}
