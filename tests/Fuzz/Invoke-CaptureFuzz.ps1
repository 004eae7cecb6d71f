# The capture fuzzer: deterministic cases (tests/tools/CaptureFuzzer's Fuzz.Case: a seed corpus file or a synthesized
# capture of any link type, format and timestamp pattern, then up to five mutations) read by every cmdlet that reads
# captures. Runs in its own pwsh (tests/Fuzz.Tests.ps1 starts it with a bounded heap and a deadline) and writes one
# JSON line per event to -OutFile: "start" before each case (so a hang or a crash names its seed), "failure" for any
# error that is not an ErrorRecord with a documented id, and "done" with the counts.
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $FuzzerDll,
    [Parameter(Mandatory)] [string] $AboutPath,
    [Parameter(Mandatory)] [string] $OutFile,
    [Parameter(Mandatory)] [string] $WorkDir,
    # Seed corpus folders, separated by ';' (pwsh -File passes one string).
    [string[]] $CorpusDir = @(),
    [int] $First = 0,
    [int] $Count = 2000,
    [double] $Seconds = 60
)
# Setting up must not fail quietly: a harness that cannot call the cmdlets finds nothing.
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
Import-Module (Resolve-Path $ModulePath).Path
Add-Type -Path $FuzzerDll
. (Join-Path $PSScriptRoot 'FuzzSupport.ps1')
$allowed = Get-DocumentedErrorId $AboutPath
if ($allowed.Count -lt 20) { throw "Only $($allowed.Count) error ids were found in $AboutPath." }
$out = [IO.StreamWriter]::new($OutFile, $false)
$out.AutoFlush = $true
function Write-Event([hashtable] $Event) { $out.WriteLine(($Event | ConvertTo-Json -Compress -Depth 4)) }

$corpus = [Collections.Generic.List[System.ValueTuple[string, byte[]]]]::new()
foreach ($dir in $CorpusDir -split ';' | Where-Object { $_ }) {
    foreach ($file in Get-ChildItem -LiteralPath $dir -File | Where-Object { $_.Extension -in '.pcap', '.pcapng' } | Sort-Object Name) {
        $corpus.Add([System.ValueTuple[string, byte[]]]::new($file.Name, [IO.File]::ReadAllBytes($file.FullName)))
    }
}

# Runs one cmdlet call; every error it writes or throws is judged, and the failures are written out.
function Invoke-Fuzzed([int] $Seed, [string] $Recipe, [string] $What, [scriptblock] $Call) {
    $records = [Collections.Generic.List[object]]::new()
    $objects = 0
    try {
        & $Call 2>&1 | ForEach-Object {
            if ($_ -is [System.Management.Automation.ErrorRecord]) { $records.Add($_) } else { $objects++ }
        }
    }
    catch { $records.Add($_) }
    $script:objects[$What] = 1 + ($script:objects[$What] ?? 0) + $objects - 1
    foreach ($r in $records) {
        $why = Test-FuzzError $r $allowed
        if ($why) {
            $script:failures++
            Write-Event @{ event = 'failure'; seed = $Seed; recipe = $Recipe; call = $What; why = $why
                stack = "$($r.Exception.StackTrace)".Split("`n") | Select-Object -First 12 }
        }
        else { $script:errorIds["$($r.FullyQualifiedErrorId)".Split(',')[0]]++ }
    }
    $objects
}

$ErrorActionPreference = 'Continue'
$clock = [Diagnostics.Stopwatch]::StartNew()
$script:failures = 0
$script:objects = @{}
$script:errorIds = @{}
$kinds = @{}
$ran = 0
$previous = $null
for ($seed = $First; $seed -lt $First + $Count -and $clock.Elapsed.TotalSeconds -lt $Seconds; $seed++) {
    $case = [CaptureFuzzer.Fuzz]::Case($seed, $corpus)
    $path = Join-Path $WorkDir ($case.Name + $case.Extension)
    [IO.File]::WriteAllBytes($path, $case.Bytes)
    Write-Event @{ event = 'start'; seed = $seed; recipe = $case.Recipe }
    # What kind of capture this was, for the coverage the test checks (format, link type, timestamps).
    foreach ($word in @($case.Recipe -split '; ')[0] -split ' (?=link|timestamps|IPv)') { $kinds[$word.Trim()]++ }
    $recipe = $case.Recipe
    # Read twice, as the attack did: packet objects (every TCP segment) and connection summaries; then measured.
    $null = Invoke-Fuzzed $seed $recipe 'Read-MptcpCapture -IncludePlainTcp' { Read-MptcpCapture -LiteralPath $path -IncludePlainTcp }
    $null = Invoke-Fuzzed $seed $recipe 'Read-MptcpCapture -Summary' { Read-MptcpCapture -LiteralPath $path -Summary }
    $measured = @()
    $null = Invoke-Fuzzed $seed $recipe 'Measure-MptcpCapture' { Measure-MptcpCapture -LiteralPath $path -Interval 0.05 | Tee-Object -Variable script:measured }
    if ($previous -and $seed % 3 -eq 0) {
        $null = Invoke-Fuzzed $seed $recipe 'Compare-MptcpCapture' { Compare-MptcpCapture -ReferencePath $previous -DifferencePath $path }
        $null = Invoke-Fuzzed $seed $recipe 'Compare-MptcpCapture -Summary' { Compare-MptcpCapture -ReferencePath $path -DifferencePath $path -Summary }
    }
    if ($seed % 20 -eq 0 -and @($script:measured).Count -gt 0) {
        $chart = Join-Path $WorkDir "chart-$seed.svg"
        $null = Invoke-Fuzzed $seed $recipe 'Export-MptcpChart' { $script:measured | Export-MptcpChart -Path $chart }
        Remove-Item -LiteralPath $chart -ErrorAction Ignore
    }
    if ($previous) { Remove-Item -LiteralPath $previous -ErrorAction Ignore }
    $previous = $path
    $ran++
}

Write-Event @{ event = 'done'; cases = $ran; failures = $script:failures; seconds = [math]::Round($clock.Elapsed.TotalSeconds, 1)
    kinds = $kinds; errorIds = $script:errorIds; objects = $script:objects; heapMB = [math]::Round([GC]::GetTotalMemory($false) / 1MB) }
$out.Dispose()
