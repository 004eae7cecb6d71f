# Benchmark: Test-MptcpFirewall on a ruleset of a few thousand rules (nftables and iptables) in a lab
# namespace, against only listing the same rules with nft -j and iptables-save. Goal: well under a second.
#   dotnet pwsh ./build.ps1 -Task Build; dotnet pwsh ./bench/Firewall.bench.ps1 [-Rules 3000]
param([int] $Rules = 3000)
$ErrorActionPreference = 'Stop'
$root = Resolve-Path (Join-Path $PSScriptRoot '..')
Import-Module (Join-Path $root 'tests/Lab/MptcpLab.psm1') -Force
$module = Join-Path $root 'output/MptcpTools'
. (Join-Path $root 'tools/common.ps1')
$pwshCommand = Get-PwshCommand; $pwsh = $pwshCommand[0]; $pwshArgs = @($pwshCommand | Select-Object -Skip 1)
$lab = New-MptcpLab -NoEndpoints
try {
    $nft = [Text.StringBuilder]::new("table inet bench {`n chain input {`n  type filter hook input priority 0;`n")
    for ($i = 0; $i -lt $Rules / 2; $i++) { [void]$nft.Append("  ip saddr 198.51.100.$($i % 250) tcp dport $(1024 + $i) accept`n") }
    [void]$nft.Append("  tcp option mptcp exists drop`n }`n}`n")
    $file = Join-Path ([IO.Path]::GetTempPath()) "mptl-bench-$PID.nft"; Set-Content $file $nft.ToString()
    Invoke-InNamespace $lab.Client nft '-f', $file | Out-Null
    $ipt = [Text.StringBuilder]::new("*filter`n:INPUT ACCEPT [0:0]`n")
    for ($i = 0; $i -lt $Rules / 2; $i++) { [void]$ipt.Append("-A INPUT -s 203.0.113.$($i % 250)/32 -p tcp -m tcp --dport $(1024 + $i) -j ACCEPT`n") }
    [void]$ipt.Append("COMMIT`n"); Set-Content $file $ipt.ToString()
    Invoke-InNamespace $lab.Client sh '-c', "iptables-nft-restore < $file" | Out-Null
    Remove-Item $file
    $script = @"
Import-Module '$module'
Test-MptcpFirewall -Port 5201 | Out-Null
`$w = [Diagnostics.Stopwatch]::StartNew(); foreach (`$i in 1..5) { `$found = @(Test-MptcpFirewall -Port 5201) }; `$ours = `$w.Elapsed.TotalMilliseconds / 5
`$w = [Diagnostics.Stopwatch]::StartNew(); foreach (`$i in 1..5) { nft -j list ruleset > `$null; nft -a list ruleset > `$null; iptables-nft-save > `$null }; `$list = `$w.Elapsed.TotalMilliseconds / 5
[pscustomobject]@{ Rules = $Rules; 'Test-MptcpFirewall (ms)' = [math]::Round(`$ours); 'nft -j, nft -a and iptables-save alone (ms)' = [math]::Round(`$list); 'Ratio' = [math]::Round(`$ours / `$list, 2); Findings = `$found.Count } | Format-List | Out-String
"@
    & ip netns exec $lab.Client $pwsh @pwshArgs -NoProfile -NonInteractive -Command $script
}
finally { Remove-MptcpLab $lab }
