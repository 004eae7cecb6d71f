# Soak benchmark (issue 16): memory must stay flat, and drops be counted, however long the capture runs.
#   dotnet pwsh ./build.ps1 -Task Test -ExcludeTag Lab   (builds the module, the lab peer and the capture fuzzer)
#   dotnet pwsh ./bench/Soak.bench.ps1 [-Minutes 10] [-FloodConnections 1000000]
# Needs root (the lab namespaces). Three parts, each printing its peak memory:
#  1. Watch-MptcpPackets for -Minutes in the lab's client namespace, under a full-rate transfer, with a slow consumer
#     (2 ms per object): the resident memory of its pwsh sampled each second (after a two-minute warm-up, the first
#     half of the rest against the second), the objects it wrote, what it said it did not write (queue drops) and what
#     the kernel dropped, and the wall time against -Duration.
#  2. Watch-MptcpPackets -Summary for -Minutes under a connection flood (short MPTCP connections opened and closed in
#     a loop): the same samples, and the summaries written during the capture and at its end.
#  3. Read-MptcpCapture -Summary of a connection-flood capture (tests/tools/CaptureFuzzer, flood connections) of a
#     tenth of -FloodConnections and of all of them: the peak working set must not grow with the connections.
param([double] $Minutes = 10, [long] $FloodConnections = 1000000, [int] $ConsumerMilliseconds = 2)
$ErrorActionPreference = 'Stop'
$root = Resolve-Path (Join-Path $PSScriptRoot '..')
Import-Module (Join-Path $root 'tests/Lab/MptcpLab.psm1') -Force
. (Join-Path $root 'tools/common.ps1')
$module = Join-Path $root 'output/MptcpTools'
$fuzzer = Join-Path $root 'output/tools/CaptureFuzzer/CaptureFuzzer.dll'
foreach ($needed in $module, $fuzzer, (Get-LabPeerPath)) {
    if (-not (Test-Path $needed)) { throw "$needed is missing: run build.ps1 -Task Test -ExcludeTag Lab first." }
}
$pwshCommand = Get-PwshCommand; $pwsh = $pwshCommand[0]; $pwshArgs = @($pwshCommand | Select-Object -Skip 1)
$seconds = [int][math]::Max(10, $Minutes * 60)

# Resident memory of a process in MB (VmRSS of /proc/PID/status), or $null once it is gone.
function Get-RssMB([int] $ProcessId) {
    try { $line = Get-Content "/proc/$ProcessId/status" -ErrorAction Stop | Where-Object { $_ -like 'VmRSS:*' } } catch { return $null }
    if ($line -match '(\d+)\s*kB') { return [double]$Matches[1] / 1024 }
    $null
}

# Runs a script in pwsh inside a namespace, samples its memory every second until it ends; returns samples and output.
function Invoke-Sampled([string] $Namespace, [string] $Script, [int] $TimeoutSeconds) {
    $psi = [Diagnostics.ProcessStartInfo]::new('ip')
    foreach ($a in @('netns', 'exec', $Namespace, $pwsh) + $pwshArgs + @('-NoLogo', '-NoProfile', '-NonInteractive', '-Command', $Script)) { $psi.ArgumentList.Add($a) }
    $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true; $psi.UseShellExecute = $false
    $clock = [Diagnostics.Stopwatch]::StartNew()
    $p = [Diagnostics.Process]::Start($psi)
    $stdout = $p.StandardOutput.ReadToEndAsync(); $stderr = $p.StandardError.ReadToEndAsync()
    $samples = [Collections.Generic.List[object]]::new()
    while (-not $p.WaitForExit(1000)) {
        # ip netns exec execs pwsh in place: the process id is pwsh's.
        $rss = Get-RssMB $p.Id
        if ($null -ne $rss) { $samples.Add([pscustomobject]@{ Second = $clock.Elapsed.TotalSeconds; MB = $rss }) }
        if ($clock.Elapsed.TotalSeconds -gt $TimeoutSeconds) { $p.Kill($true); break }
    }
    $p.WaitForExit()
    [pscustomobject]@{ Samples = $samples; Wall = $clock.Elapsed.TotalSeconds; Output = "$($stdout.Result)"; Errors = "$($stderr.Result)" }
}

# The first two minutes are the warm-up: -Summary keeps an ended connection for 60 s of capture time (late
# retransmissions), so its memory rises while that window fills, and the runtime's heap settles. Flat means the rest
# does not grow: the peak of its first half against the peak of its second half.
function Format-Memory($Run) {
    $all = @($Run.Samples)
    if (-not $all) { return 'no samples' }
    $warmup = @($all | Where-Object Second -le 120 | ForEach-Object MB)
    $rest = @($all | Where-Object Second -gt 120)
    $peak = ($all | Measure-Object MB -Maximum).Maximum
    $text = "peak RSS $([math]::Round($peak)) MB"
    if ($warmup) { $text += "; in the first minute $([math]::Round((@($all | Where-Object Second -le 60 | ForEach-Object MB) | Measure-Object -Maximum).Maximum)) MB, by the end of the 2-minute warm-up $([math]::Round(($warmup | Measure-Object -Maximum).Maximum)) MB" }
    if ($rest.Count -ge 2) {
        $half = [int][math]::Floor($rest.Count / 2)
        $early = ($rest[0..($half - 1)] | Measure-Object MB -Maximum).Maximum
        $late = ($rest[$half..($rest.Count - 1)] | Measure-Object MB -Maximum).Maximum
        $text += "; after it, peak $([math]::Round($early)) MB in the first half and $([math]::Round($late)) MB in the second ($('{0:+0;-0;0}' -f [math]::Round($late - $early)) MB), $([math]::Round($rest[-1].MB)) MB at the end"
    }
    $text
}

# Starts a command in a namespace (ip netns exec execs it in place: the process is the command's); ends by its id.
function Start-InNamespace([string] $Namespace, [string] $Command, [string[]] $Arguments) {
    $psi = [Diagnostics.ProcessStartInfo]::new('ip')
    foreach ($a in @('netns', 'exec', $Namespace, $Command) + $Arguments) { $psi.ArgumentList.Add($a) }
    $psi.UseShellExecute = $false
    [Diagnostics.Process]::Start($psi)
}
function Stop-Started([Diagnostics.Process] $Process) {
    if (-not $Process.HasExited) { $Process.Kill($true); $null = $Process.WaitForExit(10000) }
}

# What the cmdlet reported: warnings (queue and kernel drops) and the counts line go to the output as text.
$report = @'
$warnings = $null
$objects = 0
{0} -WarningVariable warnings -InformationVariable info 6>$null 3>$null | ForEach-Object {{ $objects++; {1} }}
"objects: $objects"
foreach ($w in $warnings) {{ "warning: $w" }}
foreach ($i in $info) {{ "counts: $i" }}
'@

$lab = New-MptcpLab
try {
    Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
    $peer = Get-LabPeerPath
    $server = $lab.Addresses.ServerAddress

    # 1. A full-rate transfer for the whole run, a consumer at 2 ms per object.
    $sender = Start-InNamespace $lab.Client 'sh' '-c', "'$peer' send --to $server --port 5201 --bytes $([long]1e12) --delay 1 >/dev/null 2>&1"
    try {
        $slow = "Start-Sleep -Milliseconds $ConsumerMilliseconds"
        $watch = "Import-Module '$module'`n" + ($report -f "Watch-MptcpPackets -Interface any -Port 5201 -SnapLength 128 -Duration $seconds", $slow)
        $run = Invoke-Sampled $lab.Client $watch ($seconds + 120)
    }
    finally { Stop-Started $sender }
    "1. Watch-MptcpPackets -Duration $seconds under a full-rate transfer, consumer $ConsumerMilliseconds ms per object:"
    "   wall $([math]::Round($run.Wall)) s for -Duration $seconds s; $(Format-Memory $run)"
    $run.Output.Trim().Split("`n") | ForEach-Object { "   $_" }
    if ($run.Errors.Trim()) { "   stderr: $($run.Errors.Trim())" }

    # 2. -Summary under a connection flood: short connections opened and closed in a loop for the whole run.
    & ip netns exec $lab.Client sysctl -qw net.ipv4.tcp_tw_reuse=1 | Out-Null
    $flooder = Start-InNamespace $lab.Client 'sh' '-c', "while :; do '$peer' send --to $server --port 5201 --bytes 100 --connections 500 >/dev/null 2>&1; done"
    try {
        $summary = "Import-Module '$module'`n" + ($report -f "Watch-MptcpPackets -Interface any -Port 5201 -SnapLength 128 -Duration $seconds -Summary", '')
        $run = Invoke-Sampled $lab.Client $summary ($seconds + 300)
    }
    finally { Stop-Started $flooder }
    "2. Watch-MptcpPackets -Summary -Duration $seconds under a connection flood:"
    "   wall $([math]::Round($run.Wall)) s; $(Format-Memory $run)"
    $run.Output.Trim().Split("`n") | ForEach-Object { "   $_" }
}
finally {
    Remove-MptcpLab $lab
}

# 3. Offline: the same flood as a capture file, at two sizes.
$work = Join-Path ([IO.Path]::GetTempPath()) "mptcp-soak-$PID"
New-Item -ItemType Directory -Path $work | Out-Null
try {
    "3. Read-MptcpCapture -Summary of a connection-flood capture:"
    foreach ($count in @([long]($FloodConnections / 10), $FloodConnections)) {
        $file = Join-Path $work "connections-$count.pcap"
        & dotnet $fuzzer flood --kind connections --count $count --out $file | Out-Null
        if ($LASTEXITCODE) { throw "capture-fuzzer flood failed" }
        $script = "Import-Module '$module'; `$n = 0; `$w = [Diagnostics.Stopwatch]::StartNew(); Read-MptcpCapture -LiteralPath '$file' -Summary | ForEach-Object { `$n++ }; " +
            "'{0} {1} {2}' -f `$n, `$w.Elapsed.TotalSeconds, ([Diagnostics.Process]::GetCurrentProcess().PeakWorkingSet64 / 1MB)"
        $out = (& $pwsh @pwshArgs -NoProfile -NonInteractive -Command $script | Select-Object -Last 1) -split ' '
        "   $count connections ($([math]::Round((Get-Item $file).Length / 1MB)) MB): $($out[0]) summaries in $([math]::Round([double]$out[1], 1)) s, peak working set $([math]::Round([double]$out[2])) MB"
        Remove-Item $file
    }
}
finally {
    Remove-Item $work -Recurse -Force -ErrorAction Ignore
}
