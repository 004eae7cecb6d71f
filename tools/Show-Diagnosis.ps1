# Imports the built module and reports on MPTCP on this host (build.ps1 -Task Diagnose).
param([Parameter(Mandatory)] [string] $ModulePath)
$ErrorActionPreference = 'Continue'
Import-Module $ModulePath
if (Get-Command Invoke-MptcpDiagnosis -ErrorAction Ignore) {
    Invoke-MptcpDiagnosis | Format-List
    return
}
Get-MptcpKernelState | Format-List | Out-Host
Write-Host 'Limits:'
Get-MptcpLimit | Format-Table -AutoSize | Out-Host
Write-Host 'Endpoints:'
Get-MptcpEndpoint | Format-Table -AutoSize | Out-Host
Write-Host 'Counters that moved since boot:'
Get-MptcpCounter -NonZero | Format-Table -AutoSize | Out-Host
