# Files and processes another user controls, end to end through the cmdlets (issue 16, item 1): a process that maps
# /dev/zero under a name the cmdlets look for, and path parameters naming a device or a FIFO. Nothing is read that
# is not a regular file, nothing is read past its bound, nothing blocks. Read amounts come from /proc/self/io (rchar).
BeforeAll {
    $modulePath = if ($env:MPTCPTOOLS_MODULE) { $env:MPTCPTOOLS_MODULE } else { "$PSScriptRoot/../output/MptcpTools" }
    Import-Module $modulePath -Force
    function Get-ReadBytes { [long]((Get-Content /proc/self/io | Where-Object { $_ -like 'rchar:*' }) -replace '\D', '') }
    # Runs a block; returns its output, its errors, what it read and how long it took (a raw exception is kept, not thrown).
    function Measure-Read([scriptblock] $Block) {
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
