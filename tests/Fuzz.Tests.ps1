# The fuzz harness (issue 16): deterministic cases, a seed corpus, a bounded time on every run.
#  - Captures: tests/Fuzz/Invoke-CaptureFuzz.ps1 in its own pwsh, with a bounded heap (a runaway allocation becomes an
#    OutOfMemoryException the harness sees) and a deadline (a hang names its seed), over cases from
#    tests/tools/CaptureFuzzer: pcap and pcapng, every link type, crafted MPTCP options, hostile timestamps, mutations.
#  - Parameters: tests/Fuzz/Invoke-ParameterFuzz.ps1 (tests/Fuzz.Lab.Tests.ps1, which needs a lab namespace).
# A failure is anything leaving a cmdlet that is not an ErrorRecord with a documented id (tests/Fuzz/FuzzSupport.ps1).
# MPTCPTOOLS_FUZZ_SECONDS and MPTCPTOOLS_FUZZ_CASES make a longer run; a failing seed is rerun with -First SEED -Count 1.
BeforeAll {
    $modulePath = if ($env:MPTCPTOOLS_MODULE) { $env:MPTCPTOOLS_MODULE } else { "$PSScriptRoot/../output/MptcpTools" }
    Import-Module $modulePath -Force
    $root = (Resolve-Path (Join-Path $PSScriptRoot '..')).Path
    $fuzzerDll = Join-Path $root 'output/tools/CaptureFuzzer/CaptureFuzzer.dll'
    if (-not (Test-Path $fuzzerDll)) { throw "The capture fuzzer is not built ($fuzzerDll): run build.ps1 -Task Test." }
    Add-Type -Path $fuzzerDll
    . (Join-Path $PSScriptRoot 'Fuzz/FuzzSupport.ps1')
    $about = Join-Path $root 'en-US/about_MptcpTools.help.txt'

    # Starts a pwsh script with a heap limit; returns its exit code, whether it ended in time, and its console output.
    function Invoke-FuzzProcess([string] $Script, [string[]] $Arguments, [double] $TimeoutSeconds, [string] $HeapLimit = '0x60000000') {
        $pwsh = [Environment]::ProcessPath
        $psi = [Diagnostics.ProcessStartInfo]::new($pwsh)
        if ([IO.Path]::GetFileNameWithoutExtension($pwsh) -eq 'dotnet') { $psi.ArgumentList.Add((Join-Path $PSHOME 'pwsh.dll')) }
        foreach ($a in @('-NoLogo', '-NoProfile', '-NonInteractive', '-File', $Script) + $Arguments) { $psi.ArgumentList.Add($a) }
        $psi.Environment['DOTNET_GCHeapHardLimit'] = $HeapLimit
        $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true; $psi.UseShellExecute = $false
        $p = [Diagnostics.Process]::Start($psi)
        $stdout = $p.StandardOutput.ReadToEndAsync(); $stderr = $p.StandardError.ReadToEndAsync()
        $ended = $p.WaitForExit([int]($TimeoutSeconds * 1000))
        if (-not $ended) { $p.Kill($true); $p.WaitForExit() }
        [pscustomobject]@{ ExitCode = $p.ExitCode; Ended = $ended; Output = "$($stdout.Result)`n$($stderr.Result)" }
    }
}

Describe 'The fuzz judge' {
    It 'finds the documented error ids in about_MptcpTools' {
        $ids = Get-DocumentedErrorId $about
        $ids.Count | Should -BeGreaterThan 30
        $ids.Contains('CaptureTruncated') | Should -BeTrue
        $ids.Contains('CaptureTimestampInvalid') | Should -BeTrue
        $ids.Contains('Every') | Should -BeFalse -Because 'prose is not an id'
    }

    It 'fails a raw exception, a documented id around a NullReferenceException, and an unknown id; passes a documented one' {
        $ids = Get-DocumentedErrorId $about
        $raw = try { [int]::Parse('x') } catch { $_ }
        Test-FuzzError $raw $ids | Should -Match 'not a documented error id'
        $dressed = [Management.Automation.ErrorRecord]::new([NullReferenceException]::new(), 'ReadFailed', 'ReadError', $null)
        Test-FuzzError $dressed $ids | Should -Match 'NullReferenceException'
        $unknown = [Management.Automation.ErrorRecord]::new([InvalidOperationException]::new('x'), 'SomethingElse', 'ReadError', $null)
        Test-FuzzError $unknown $ids | Should -Match "'SomethingElse'"
        $fine = [Management.Automation.ErrorRecord]::new([IO.IOException]::new('x'), 'CaptureTruncated,MptcpTools.Commands.ReadMptcpCaptureCommand', 'InvalidData', $null)
        Test-FuzzError $fine $ids | Should -BeNullOrEmpty
        # PowerShell's own refusal of a value at binding is an answer, not an escape.
        $binding = try { Get-MptcpCounter -Interval 'not a time' -ErrorAction Stop } catch { $_ }
        Test-FuzzError $binding $ids | Should -BeNullOrEmpty
    }

    It 'makes the same bytes for the same seed, and different ones for different seeds' {
        $corpus = [Collections.Generic.List[System.ValueTuple[string, byte[]]]]::new()
        $a = [CaptureFuzzer.Fuzz]::Case(12345, $corpus); $b = [CaptureFuzzer.Fuzz]::Case(12345, $corpus); $c = [CaptureFuzzer.Fuzz]::Case(12346, $corpus)
        [Convert]::ToHexString($a.Bytes) | Should -Be ([Convert]::ToHexString($b.Bytes))
        $a.Recipe | Should -Be $b.Recipe
        [Convert]::ToHexString($a.Bytes) | Should -Not -Be ([Convert]::ToHexString($c.Bytes))
    }

    It 'has a seed corpus of every link type, both formats and every timestamp pattern' {
        $names = @(Get-ChildItem (Join-Path $PSScriptRoot 'Fuzz/corpus') -File | ForEach-Object Name)
        foreach ($link in [CaptureFuzzer.Link]::Types) { $names | Should -Contain "link-$link.pcap"; $names | Should -Contain "link-$link.pcapng" }
        foreach ($pattern in [CaptureFuzzer.Fuzz]::TimestampPatterns | Select-Object -Unique) { $names | Should -Contain "time-$pattern.pcapng" }
    }
}

Describe 'Fuzzing the capture readers' {
    BeforeAll {
        $seconds = if ($env:MPTCPTOOLS_FUZZ_SECONDS) { [double]$env:MPTCPTOOLS_FUZZ_SECONDS } else { 75 }
        $cases = if ($env:MPTCPTOOLS_FUZZ_CASES) { [int]$env:MPTCPTOOLS_FUZZ_CASES } else { 3000 }
        $work = Join-Path ([IO.Path]::GetTempPath()) "mptcp-fuzz-$PID-$([guid]::NewGuid().ToString('n').Substring(0, 6))"
        New-Item -ItemType Directory -Path $work | Out-Null
        $events = Join-Path $work 'events.jsonl'
        $run = Invoke-FuzzProcess (Join-Path $PSScriptRoot 'Fuzz/Invoke-CaptureFuzz.ps1') @(
            '-ModulePath', $modulePath, '-FuzzerDll', $fuzzerDll, '-AboutPath', $about, '-OutFile', $events, '-WorkDir', $work,
            '-CorpusDir', "$(Join-Path $PSScriptRoot 'Fuzz/corpus');$(Join-Path $PSScriptRoot 'Fixtures/corpus/tcpdump')",
            '-Count', $cases, '-Seconds', $seconds) -TimeoutSeconds ($seconds + 180)
        $lines = @(if (Test-Path $events) { Get-Content $events | ForEach-Object { $_ | ConvertFrom-Json } })
        $done = $lines | Where-Object event -eq 'done' | Select-Object -Last 1
        $failures = @($lines | Where-Object event -eq 'failure')
        $lastStart = $lines | Where-Object event -eq 'start' | Select-Object -Last 1
    }
    AfterAll { Remove-Item $work -Recurse -Force -ErrorAction Ignore }

    It 'ends in time, without a crash or a hang' {
        $because = "the last case started was seed $($lastStart.seed) ($($lastStart.recipe)); pwsh said: $($run.Output)"
        $run.Ended | Should -BeTrue -Because $because
        $run.ExitCode | Should -Be 0 -Because $because
        $done | Should -Not -BeNullOrEmpty -Because $because
    }

    It 'lets nothing but documented ErrorRecords out of Read, Measure, Compare-MptcpCapture and Export-MptcpChart' {
        $text = ($failures | Select-Object -First 10 | ForEach-Object { "seed $($_.seed) [$($_.recipe)] $($_.call): $($_.why) at $(@($_.stack)[0..2] -join ' / ')" }) -join "`n"
        $failures.Count | Should -Be 0 -Because "rerun one with Invoke-CaptureFuzz.ps1 -First SEED -Count 1:`n$text"
    }

    It 'ran enough cases, of every link type, both formats and every timestamp pattern' {
        $done.cases | Should -BeGreaterOrEqual ([Math]::Min($cases, 500))
        $kinds = $done.kinds.PSObject.Properties.Name
        foreach ($link in [CaptureFuzzer.Link]::Types) { $kinds | Should -Contain "link $link" }
        $kinds | Should -Contain 'pcap'; $kinds | Should -Contain 'pcapng'
        foreach ($pattern in [CaptureFuzzer.Fuzz]::TimestampPatterns | Select-Object -Unique) { $kinds | Should -Contain "timestamps $pattern" }
        # The readers were really called: they wrote objects and the errors damaged files deserve.
        foreach ($call in 'Read-MptcpCapture -IncludePlainTcp', 'Read-MptcpCapture -Summary', 'Measure-MptcpCapture', 'Compare-MptcpCapture -Summary') {
            $done.objects.$call | Should -BeGreaterThan 0 -Because "$call wrote objects"
        }
        $done.errorIds.CaptureTruncated | Should -BeGreaterThan 0
        $done.errorIds.CaptureTimestampInvalid | Should -BeGreaterThan 0
    }
}
