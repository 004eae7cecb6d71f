# Benchmark: Get-MptcpConnection against `ss -Mni` on the same 10,000 MPTCP connections (lab).
#   dotnet pwsh ./build.ps1 -Task Build; dotnet pwsh ./bench/Connections.bench.ps1 [-Connections 10000] [-Iterations 5]
# Ours runs in one pwsh process (as a script would call it); ss runs as the process an admin starts.
# Prints the time per listing of each and the ratio (ours / ss; below 1 is faster).
param([int] $Connections = 10000, [int] $Iterations = 5)
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
`$w = [Diagnostics.Stopwatch]::StartNew(); foreach (`$i in 1..`$n) { `$c = @(Get-MptcpConnection) }; `$ours = `$w.Elapsed.TotalMilliseconds / `$n
`$w = [Diagnostics.Stopwatch]::StartNew(); foreach (`$i in 1..`$n) { `$s = @(& ss -Mni) }; `$ss = `$w.Elapsed.TotalMilliseconds / `$n
`$w = [Diagnostics.Stopwatch]::StartNew(); foreach (`$i in 1..`$n) { `$s2 = @(& ss -Mnip); `$s3 = @(& ss -tni) }; `$ssp = `$w.Elapsed.TotalMilliseconds / `$n
[pscustomobject]@{ Connections = `$c.Count; 'Get-MptcpConnection (ms)' = [math]::Round(`$ours); 'ss -Mni (ms)' = [math]::Round(`$ss); 'ss -Mnip + ss -tni (ms)' = [math]::Round(`$ssp); 'ours / ss -Mni' = [math]::Round(`$ours / `$ss, 2); 'ours / (ss -Mnip + ss -tni)' = [math]::Round(`$ours / `$ssp, 2) } | Format-List | Out-String
"@
    & ip netns exec $lab.Client $pwsh @pwshArgs -NoProfile -NonInteractive -Command $script
}
finally { Remove-MptcpLab $lab }
