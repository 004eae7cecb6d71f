# Benchmark: Invoke-MptcpDiagnosis (no probe, no capture) on the lab client, against running the
# equivalent shell commands an admin would run by hand for the same checks. Goal: under one second.
#   dotnet pwsh ./build.ps1 -Task Build; dotnet pwsh ./bench/Diagnosis.bench.ps1 [-Iterations 5]
param([int] $Iterations = 5)
$ErrorActionPreference = 'Stop'
$root = Resolve-Path (Join-Path $PSScriptRoot '..')
Import-Module (Join-Path $root 'tests/Lab/MptcpLab.psm1') -Force
$module = Join-Path $root 'output/MptcpTools'
. (Join-Path $root 'tools/common.ps1')
$pwshCommand = Get-PwshCommand; $pwsh = $pwshCommand[0]; $pwshArgs = @($pwshCommand | Select-Object -Skip 1)
# What the guides have an admin type for the same checks.
$shell = @(
    'sysctl net.mptcp', 'cat /etc/sysctl.conf /etc/sysctl.d/*.conf', 'ip mptcp endpoint show', 'ip mptcp limits show',
    'ip -j addr show', 'ip rule show', 'ip -6 rule show', 'ip route get 192.0.2.1 from 198.51.100.2', 'ip route get 2001:db8:1::1 from 2001:db8:2::2',
    'nft -j list ruleset', 'iptables-nft-save', 'ip6tables-nft-save', 'iptables-legacy-save', 'ip6tables-legacy-save',
    'sh -c "sysctl net.ipv4.conf.all.rp_filter net.ipv4.conf.c1.rp_filter"', 'pgrep -a mptcpd', 'cat /etc/mptcpd/mptcpd.conf', 'ls /usr/lib/x86_64-linux-gnu/mptcpd', 'nstat -asz'
)
$lab = New-MptcpLab
try {
    $script = @"
Import-Module '$module'
Invoke-MptcpDiagnosis -BusAddress unix:path=/nonexistent | Out-Null
`$w = [Diagnostics.Stopwatch]::StartNew(); foreach (`$i in 1..$Iterations) { Invoke-MptcpDiagnosis -BusAddress unix:path=/nonexistent | Out-Null }; `$ours = `$w.Elapsed.TotalMilliseconds / $Iterations
`$commands = @('$($shell -join "','")')
`$w = [Diagnostics.Stopwatch]::StartNew(); foreach (`$i in 1..$Iterations) { foreach (`$c in `$commands) { sh -c `$c > `$null 2>&1 } }; `$theirs = `$w.Elapsed.TotalMilliseconds / $Iterations
[pscustomobject]@{ 'Invoke-MptcpDiagnosis (ms)' = [math]::Round(`$ours); "The same checks by hand, `$(`$commands.Count) commands (ms)" = [math]::Round(`$theirs); 'Ratio (ours / by hand)' = [math]::Round(`$ours / `$theirs, 2); 'Under one second' = `$ours -lt 1000 } | Format-List | Out-String
"@
    & ip netns exec $lab.Client $pwsh @pwshArgs -NoProfile -NonInteractive -Command $script
}
finally { Remove-MptcpLab $lab }
