# Runs every Pester test against the built module; build.ps1 -Task Test starts it in a fresh pwsh.
# Ends with one line "N passed, N failed, N skipped"; exits 1 on any failure, and under CI=true also on any skip.
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [string] $MissingPackages = '',
    [string] $Tag = '',
    [string] $ExcludeTag = ''
)
$ErrorActionPreference = 'Stop'
$root = (Resolve-Path (Join-Path $PSScriptRoot '..')).Path
$pester = Get-ChildItem (Join-Path $root 'output/tools/packages/pester') -Filter Pester.psd1 -Recurse | Select-Object -First 1
if (-not $pester) { Write-Host 'Pester is not restored (dotnet restore tools/Pester).'; '0 passed, 1 failed, 0 skipped'; exit 1 }
Import-Module $pester.FullName -Force

$env:MPTCPTOOLS_MODULE = (Resolve-Path $ModulePath).Path
$env:MPTCPTOOLS_MISSING = $MissingPackages

$config = New-PesterConfiguration
$config.Run.Path = Join-Path $root 'tests'
$config.Run.PassThru = $true
$config.Output.Verbosity = 'Detailed'
$config.TestResult.Enabled = $true
$config.TestResult.OutputFormat = 'NUnitXml'
$config.TestResult.OutputPath = Join-Path $root 'output/TestResults.xml'
if ($Tag) { $config.Filter.Tag = $Tag -split ',' }
if ($ExcludeTag) { $config.Filter.ExcludeTag = $ExcludeTag -split ',' }

$result = Invoke-Pester -Configuration $config
$failed = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
$skipped = $result.SkippedCount
if ($env:CI -eq 'true' -and $skipped -gt 0) {
    Write-Host "CI=true: $skipped skipped test(s) count as a failed run:" -ForegroundColor Red
    $result.Skipped | ForEach-Object { Write-Host "  $($_.ExpandedPath)" -ForegroundColor Red }
}
Write-Host "Test results: $($config.TestResult.OutputPath.Value)"
"$($result.PassedCount) passed, $failed failed, $skipped skipped"
if ($failed -gt 0 -or ($env:CI -eq 'true' -and $skipped -gt 0)) { exit 1 }
exit 0
