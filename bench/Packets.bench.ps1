# Benchmark: Read-MptcpCapture -Summary against tshark and tcpdump on the same capture, and
# Watch-MptcpPackets -Summary against tcpdump for kernel drops at the lab's full transfer rate.
#   dotnet pwsh ./build.ps1 -Task Build; dotnet pwsh ./bench/Packets.bench.ps1 [-Packets 1000000]
# Needs root (the lab), tcpdump and tshark (apt-get install tcpdump tshark).
# Prints times, the ratios (ours / reference: below 1 is faster) and the peak memory of each of our runs.
param([int] $Packets = 1000000, [string] $Capture)
$ErrorActionPreference = 'Stop'
$root = Resolve-Path (Join-Path $PSScriptRoot '..')
Import-Module (Join-Path $root 'tests/Lab/MptcpLab.psm1') -Force
foreach ($tool in 'tcpdump', 'tshark') {
    if (-not (Get-Command $tool -ErrorAction Ignore)) { throw "$tool is needed: apt-get install $tool" }
}
$module = Join-Path $root 'output/MptcpTools'
. (Join-Path $root 'tools/common.ps1')
$pwshCommand = Get-PwshCommand; $pwsh = $pwshCommand[0]; $pwshArgs = @($pwshCommand | Select-Object -Skip 1)

function Measure-Seconds([scriptblock] $Block) { $w = [Diagnostics.Stopwatch]::StartNew(); & $Block | Out-Null; $w.Elapsed.TotalSeconds }

# Runs Read-MptcpCapture -Summary in a fresh pwsh; returns seconds and the peak working set in MB.
function Measure-Ours([string] $File) {
    $script = "Import-Module '$module'; `$w = [Diagnostics.Stopwatch]::StartNew(); `$c = @(Read-MptcpCapture -LiteralPath '$File' -Summary); `$w.Elapsed.TotalSeconds; [Diagnostics.Process]::GetCurrentProcess().PeakWorkingSet64 / 1MB; `$c.Count"
    $out = & $pwsh @pwshArgs -NoProfile -NonInteractive -Command $script
    [pscustomobject]@{ Seconds = [double]$out[0]; PeakMB = [double]$out[1]; Connections = [int]$out[2] }
}

$lab = New-MptcpLab
$made = @()
try {
    Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
    # Capture sizes: the requested count, and a tenth of it, to show memory does not grow with packets.
    foreach ($count in @([int]($Packets / 10), $Packets)) {
        $file = if ($Capture) { $Capture } else { Join-Path ([IO.Path]::GetTempPath()) "mptl-bench-$count.pcap" }
        if (-not $Capture) {
            $made += $file
            $dump = [Diagnostics.ProcessStartInfo]::new('ip')
            foreach ($a in 'netns', 'exec', $lab.Client, 'tcpdump', '-i', 'any', '-s', '128', '-c', "$count", '-w', $file, 'tcp port 5201') { $dump.ArgumentList.Add($a) }
            $dump.RedirectStandardError = $true
            $tcpdump = [Diagnostics.Process]::Start($dump)
            Start-Sleep -Seconds 1
            # Keep sending until tcpdump has its packets.
            while (-not $tcpdump.HasExited) {
                Start-LabPeer $lab $lab.Client 'send', '--to', $lab.Addresses.ServerAddress, '--port', '5201', '--bytes', '500000000' | ForEach-Object { $_.Process.WaitForExit(60000) } | Out-Null
            }
        }
        $frames = [int](& tcpdump -r $file -nn 2>$null | Measure-Object).Count
        $ours = Measure-Ours $file
        $tshark = Measure-Seconds { & tshark -r $file -Y mptcp -T fields -e tcp.stream 2>$null }
        $tcpdumpSeconds = Measure-Seconds { & tcpdump -nn -r $file 2>$null }
        [pscustomobject]@{
            Frames              = $frames
            'Ours (s)'          = [math]::Round($ours.Seconds, 2)
            'tshark (s)'        = [math]::Round($tshark, 2)
            'tcpdump (s)'       = [math]::Round($tcpdumpSeconds, 2)
            'tshark / ours'     = [math]::Round($tshark / $ours.Seconds, 1)
            'ours / tcpdump'    = [math]::Round($ours.Seconds / $tcpdumpSeconds, 2)
            'Peak memory (MB)'  = [math]::Round($ours.PeakMB)
            Connections         = $ours.Connections
        }
        if ($Capture) { break }
    }

    # Live: the same transfer, once under tcpdump and once under Watch-MptcpPackets, same snap length and filter.
    $live = @"
Import-Module '$module'
Start-Process '$(Get-LabPeerPath)' -ArgumentList 'send', '--to', '$($lab.Addresses.ServerAddress)', '--port', '5201', '--bytes', '2000000000', '--delay', '1' -RedirectStandardOutput /dev/null
Watch-MptcpPackets -Interface any -Port 5201 -SnapLength 128 -Duration 8 -Summary -Verbose 4>&1 | Where-Object { `$_ -is [System.Management.Automation.VerboseRecord] -and `$_.Message -like 'libpcap counted*' } | ForEach-Object Message
"@
    $oursLive = & ip netns exec $lab.Client $pwsh @pwshArgs -NoProfile -NonInteractive -Command $live
    $dumpLive = & ip netns exec $lab.Client sh -c "($(Get-LabPeerPath) send --to $($lab.Addresses.ServerAddress) --port 5201 --bytes 2000000000 --delay 1 >/dev/null &) ; timeout 8 tcpdump -i any -s 128 -w /dev/null 'tcp port 5201' 2>&1 | grep -E 'captured|dropped'"
    "Live, 8 s at full rate on veth:"
    "  Watch-MptcpPackets: $oursLive"
    "  tcpdump:            $($dumpLive -join '; ')"
}
finally {
    Remove-MptcpLab $lab
    $made | Remove-Item -ErrorAction Ignore
}
