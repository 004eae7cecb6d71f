# Imports the built module and diagnoses MPTCP on this host (build.ps1 -Task Diagnose).
param([Parameter(Mandatory)] [string] $ModulePath)
$ErrorActionPreference = 'Continue'
Import-Module $ModulePath
$findings = @(Invoke-MptcpDiagnosis)
if ($findings.Count -eq 0) {
    Write-Host 'No error and no warning: MPTCP is ready on this host. (Invoke-MptcpDiagnosis -IncludePassed lists every check.)'
    return
}
$findings | Format-Table -Wrap | Out-Host
Write-Host 'What to do:'
$findings | Format-List Id, Detail, Remediation | Out-Host
Write-Host 'Invoke-MptcpDiagnosis | Repair-MptcpConfiguration -WhatIf shows what the safe repairs would change.'
