# Benchmark: Measure-MptcpCapture against tshark's MPTCP analysis on the same capture
# (tshark -o mptcp.analyze_mappings:TRUE -o mptcp.intersubflows_retransmission:TRUE, listing the reinjections),
# and the frame loop Read-MptcpCapture and Measure-MptcpCapture share, in frames per second, in-process.
#   dotnet pwsh ./build.ps1 -Task Build; dotnet pwsh ./bench/Measure.bench.ps1 [-Packets 1000000] [-Capture FILE]
# Needs root (the lab builds the capture: a two-path transfer, 160-byte snap length) and tshark.
# Prints times, the ratio (tshark / ours: above 1 is faster), our peak memory at a tenth of the frames and at all
# of them (it must not grow with the frames), the reinjection counts of both (they must agree), and the frame loop
# (Read-MptcpCapture -Summary, in-process, best of -Runs) in wall-clock and in CPU time, with the load average: on a
# shared machine the CPU time says what one core does.
param([int] $Packets = 1000000, [string] $Capture, [int] $Runs = 5)
$ErrorActionPreference = 'Stop'
$root = Resolve-Path (Join-Path $PSScriptRoot '..')
Import-Module (Join-Path $root 'tests/Lab/MptcpLab.psm1') -Force
if (-not (Get-Command tshark -ErrorAction Ignore)) { throw 'tshark is needed: apt-get install tshark' }
$module = Join-Path $root 'output/MptcpTools'
. (Join-Path $root 'tools/common.ps1')
$pwshCommand = Get-PwshCommand; $pwsh = $pwshCommand[0]; $pwshArgs = @($pwshCommand | Select-Object -Skip 1)

# Measure-MptcpCapture in a fresh pwsh: the best of $Runs in-process times, the peak working set, the reinjections,
# and the frame loop alone (Read-MptcpCapture -Summary) in frames per second, best of $Runs.
function Measure-Ours([string] $File) {
    $script = @"
Import-Module '$module'
`$best = [double]::MaxValue; `$loop = [double]::MaxValue; `$cpu = [double]::MaxValue; `$p = [Diagnostics.Process]::GetCurrentProcess()
# Warm up (the JIT's tiers), then the managed heap held before measuring.
`$null = @(Measure-MptcpCapture -LiteralPath '$File'); `$null = @(Read-MptcpCapture -LiteralPath '$File' -Summary)
`$heap = [GC]::GetTotalMemory(`$true)
for (`$i = 0; `$i -lt $Runs; `$i++) {
    `$w = [Diagnostics.Stopwatch]::StartNew(); `$m = @(Measure-MptcpCapture -LiteralPath '$File'); `$best = [math]::Min(`$best, `$w.Elapsed.TotalSeconds)
    `$p.Refresh(); `$c = `$p.TotalProcessorTime
    `$w = [Diagnostics.Stopwatch]::StartNew(); `$null = @(Read-MptcpCapture -LiteralPath '$File' -Summary); `$loop = [math]::Min(`$loop, `$w.Elapsed.TotalSeconds)
    `$p.Refresh(); `$cpu = [math]::Min(`$cpu, (`$p.TotalProcessorTime - `$c).TotalSeconds)
}
`$best; `$p.PeakWorkingSet64 / 1MB; (`$m | Measure-Object Reinjections -Sum).Sum; `$loop; `$cpu; ([GC]::GetTotalMemory(`$true) - `$heap) / 1MB
"@
    $out = & $pwsh @pwshArgs -NoProfile -NonInteractive -Command $script
    [pscustomobject]@{ Seconds = [double]$out[0]; PeakMB = [double]$out[1]; Reinjections = [long]$out[2]; LoopSeconds = [double]$out[3]; LoopCpu = [double]$out[4]; HeldMB = [double]$out[5] }
}

function New-BenchCapture([string] $File, [int] $Count, $Lab) {
    $dump = [Diagnostics.ProcessStartInfo]::new('ip')
    foreach ($a in 'netns', 'exec', $Lab.Client, 'tcpdump', '-i', 'any', '-s', '160', '-B', '65536', '-c', "$Count", '-w', $File, 'tcp port 5201') { $dump.ArgumentList.Add($a) }
    $dump.RedirectStandardError = $true
    $tcpdump = [Diagnostics.Process]::Start($dump)
    Start-Sleep -Seconds 1
    while (-not $tcpdump.HasExited) {
        Start-LabPeer $Lab $Lab.Client 'send', '--to', $Lab.Addresses.ServerAddress, '--port', '5201', '--bytes', '500000000' | ForEach-Object { $_.Process.WaitForExit(60000) } | Out-Null
    }
}

$lab = $null
$made = @()
try {
    $files = if ($Capture) { @($Capture) } else {
        $lab = New-MptcpLab
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
        foreach ($count in @([int]($Packets / 10), $Packets)) {
            $file = Join-Path ([IO.Path]::GetTempPath()) "mptl-measure-bench-$count.pcap"
            $made += $file
            New-BenchCapture $file $count $lab
            $file
        }
    }
    foreach ($file in $files) {
        $frames = [long](& tcpdump -r $file -nn 2>$null | Measure-Object).Count
        $ours = Measure-Ours $file
        $w = [Diagnostics.Stopwatch]::StartNew()
        $tsharkReinjections = @(& tshark -n -r $file -o mptcp.analyze_mappings:TRUE -o mptcp.intersubflows_retransmission:TRUE -Y mptcp.reinjection_of -T fields -e frame.number 2>$null).Count
        $tshark = $w.Elapsed.TotalSeconds
        [pscustomobject]@{
            Frames                  = $frames
            'Measure (s)'           = [math]::Round($ours.Seconds, 3)
            'tshark (s)'            = [math]::Round($tshark, 2)
            'tshark / Measure'      = [math]::Round($tshark / $ours.Seconds, 1)
            'Peak memory (MB)'      = [math]::Round($ours.PeakMB)
            # What stays on the managed heap with the results held: the measurements themselves (series, reinjections).
            'Results held (MB)'     = [math]::Round($ours.HeldMB, 1)
            'Reinjections (ours)'   = $ours.Reinjections
            'Reinjections (tshark)' = $tsharkReinjections
            'Frame loop (Mframes/s)' = [math]::Round($frames / $ours.LoopSeconds / 1e6, 2)
            # CPU time of the process over the loop: what one core does, whatever else the machine runs.
            'Frame loop, CPU time (Mframes/s)' = [math]::Round($frames / $ours.LoopCpu / 1e6, 2)
            'Load average'          = (Get-Content /proc/loadavg).Split(' ')[0]
        }
    }
}
finally {
    if ($lab) { Remove-MptcpLab $lab }
    $made | Remove-Item -ErrorAction Ignore
}
