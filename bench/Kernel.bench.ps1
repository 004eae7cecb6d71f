# Benchmark: the kernel cmdlets against the reference tools on the same state, in a lab namespace.
# Prints, per operation, the time per call of each and the ratio (ours / reference; below 1 is faster).
#   dotnet pwsh ./build.ps1 -Task Build; dotnet pwsh ./bench/Kernel.bench.ps1 [-Iterations 200]
# The cmdlets run in one pwsh process (as in a script or a health check); the reference tools run as
# the processes an admin would start. Needs root (the lab).
param([int] $Iterations = 200)
$ErrorActionPreference = 'Stop'
$root = Resolve-Path (Join-Path $PSScriptRoot '..')
Import-Module (Join-Path $root 'tests/Lab/MptcpLab.psm1') -Force
$lab = New-MptcpLab
try {
    $module = Join-Path $root 'output/MptcpTools'
    $script = @"
Import-Module '$module'
foreach (`$i in 1..6) { Add-MptcpEndpoint -Address "192.0.2.`$(10 + `$i)" -Flags Signal }
`$n = $Iterations
function Measure-Ms([scriptblock] `$s) { `$w = [Diagnostics.Stopwatch]::StartNew(); foreach (`$i in 1..`$n) { & `$s | Out-Null }; `$w.Elapsed.TotalMilliseconds / `$n }
function Measure-Process([string] `$exe, [string[]] `$a) { `$w = [Diagnostics.Stopwatch]::StartNew(); foreach (`$i in 1..`$n) { & `$exe @a | Out-Null }; `$w.Elapsed.TotalMilliseconds / `$n }
Get-MptcpEndpoint | Out-Null; Get-MptcpCounter | Out-Null; Get-MptcpLimit | Out-Null
`$rows = @(
    [pscustomobject]@{ Operation = 'list endpoints'; Ours = (Measure-Ms { Get-MptcpEndpoint }); Reference = (Measure-Process ip '-j','mptcp','endpoint','show'); Tool = 'ip -j mptcp endpoint show' }
    [pscustomobject]@{ Operation = 'read limits'; Ours = (Measure-Ms { Get-MptcpLimit }); Reference = (Measure-Process ip 'mptcp','limits','show'); Tool = 'ip mptcp limits show' }
    [pscustomobject]@{ Operation = 'read counters'; Ours = (Measure-Ms { Get-MptcpCounter }); Reference = (Measure-Process nstat '-asz','--json'); Tool = 'nstat -asz --json' }
    [pscustomobject]@{ Operation = 'kernel state'; Ours = (Measure-Ms { Get-MptcpKernelState }); Reference = (Measure-Process sysctl 'net.mptcp'); Tool = 'sysctl net.mptcp' }
)
# The endpoint flag probe runs once per process (Get-MptcpKernelState caches it); here uncached, against the same
# probe by hand: a throwaway namespace, endpoints with the flags ip knows, and a listing.
`$n = [math]::Max(1, [int]($Iterations / 10))
`$rows += [pscustomobject]@{ Operation = 'probe endpoint flags (uncached)'; Ours = (Measure-Ms { [MptcpTools.Kernel.EndpointFlagProbe]::Run([timespan]::FromSeconds(15)) })
    Reference = (Measure-Process unshare '-n','sh','-c','ip mptcp endpoint add 127.0.0.1 id 1 subflow && ip mptcp endpoint add 127.0.0.2 id 2 subflow fullmesh && ip mptcp endpoint add 127.0.0.3 id 3 signal backup && ip -j mptcp endpoint show')
    Tool = 'unshare -n sh -c "ip mptcp endpoint add ... (3 flags); ip -j mptcp endpoint show"' }
`$rows | ForEach-Object { [pscustomobject]@{ Operation = `$_.Operation; 'Ours (ms)' = [math]::Round(`$_.Ours, 3); 'Reference (ms)' = [math]::Round(`$_.Reference, 3); Ratio = [math]::Round(`$_.Ours / `$_.Reference, 3); Reference = `$_.Tool } } | Format-Table -AutoSize | Out-String -Width 200
"@
    . (Join-Path $root 'tools/common.ps1')
    $pwshCommand = Get-PwshCommand; $pwsh = $pwshCommand[0]; $pwshArgs = @($pwshCommand | Select-Object -Skip 1)
    & ip netns exec $lab.Client $pwsh @pwshArgs -NoProfile -NonInteractive -Command $script
}
finally { Remove-MptcpLab $lab }
