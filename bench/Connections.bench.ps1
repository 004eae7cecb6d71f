# Benchmark: Get-MptcpConnection against `ss -Mni` on the same 10,000 MPTCP connections (lab).
#   dotnet pwsh ./build.ps1 -Task Build; dotnet pwsh ./bench/Connections.bench.ps1 [-Connections 10000] [-Iterations 5]
# Ours runs in one pwsh process (as a script would call it); ss runs as the process an admin starts.
# Prints the time per listing of each (mean and median over -Iterations, taken in turns) and the ratios (ours / ss;
# below 1 is faster). The owners are included: ss -Mni does not list them, ss -Mnip does.
param([int] $Connections = 10000, [int] $Iterations = 15)
$ErrorActionPreference = 'Stop'
$root = Resolve-Path (Join-Path $PSScriptRoot '..')
Import-Module (Join-Path $root 'tests/Lab/MptcpLab.psm1') -Force
$module = Join-Path $root 'output/MptcpTools'
. (Join-Path $root 'tools/common.ps1')
$pwshCommand = Get-PwshCommand; $pwsh = $pwshCommand[0]; $pwshArgs = @($pwshCommand | Select-Object -Skip 1)
$lab = New-MptcpLab
try {
    Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
    Start-LabPeer $lab $lab.Client 'send', '--to', $lab.Addresses.ServerAddress, '--port', '5201', '--connections', "$Connections", '--hold', '600' -TimeoutSeconds 300 | Out-Null
    $script = @"
Import-Module '$module'
`$n = $Iterations
Get-MptcpConnection | Out-Null
# Alternating, so that both see the same load; the mean and the median of each (a collection or a busy
# neighbour lands on single runs: the median shows the typical listing).
`$ours = [Collections.Generic.List[double]]::new(); `$ss = [Collections.Generic.List[double]]::new(); `$ssp = [Collections.Generic.List[double]]::new()
foreach (`$i in 1..`$n) {
    `$w = [Diagnostics.Stopwatch]::StartNew(); `$c = @(Get-MptcpConnection); `$ours.Add(`$w.Elapsed.TotalMilliseconds)
    `$w = [Diagnostics.Stopwatch]::StartNew(); `$s = @(& ss -Mni); `$ss.Add(`$w.Elapsed.TotalMilliseconds)
}
foreach (`$i in 1..[Math]::Min(3, `$n)) { `$w = [Diagnostics.Stopwatch]::StartNew(); `$s2 = @(& ss -Mnip); `$s3 = @(& ss -tni); `$ssp.Add(`$w.Elapsed.TotalMilliseconds) }
function Get-Median(`$v) { `$sorted = @(`$v | Sort-Object); if (`$sorted.Count % 2) { `$sorted[[int][Math]::Floor(`$sorted.Count / 2)] } else { (`$sorted[`$sorted.Count / 2 - 1] + `$sorted[`$sorted.Count / 2]) / 2 } }
function Get-Mean(`$v) { (`$v | Measure-Object -Average).Average }
[pscustomobject]@{
    Connections = `$c.Count
    'Get-MptcpConnection (ms, mean / median)' = '{0:N0} / {1:N0}' -f (Get-Mean `$ours), (Get-Median `$ours)
    'ss -Mni (ms, mean / median)' = '{0:N0} / {1:N0}' -f (Get-Mean `$ss), (Get-Median `$ss)
    'ss -Mnip + ss -tni (ms, mean)' = [math]::Round((Get-Mean `$ssp))
    'ours / ss -Mni (mean)' = [math]::Round((Get-Mean `$ours) / (Get-Mean `$ss), 2)
    'ours / ss -Mni (median)' = [math]::Round((Get-Median `$ours) / (Get-Median `$ss), 2)
    'ours / (ss -Mnip + ss -tni)' = [math]::Round((Get-Mean `$ours) / (Get-Mean `$ssp), 2)
} | Format-List | Out-String
"@
    & ip netns exec $lab.Client $pwsh @pwshArgs -NoProfile -NonInteractive -Command $script
}
finally { Remove-MptcpLab $lab }
