#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests, packages and runs MptcpTools.
.DESCRIPTION
    Build     compiles src/MptcpTools and lays out output/MptcpTools (dll, lib/ dependencies, manifest, format file, en-US help).
    Test      builds, installs the test prerequisites it can, and runs every Pester test in a fresh pwsh.
    Diagnose  builds, imports the module and runs the diagnosis on this host.
    Package   builds and writes output/package/MptcpTools.<version>.nupkg for Install-PSResource.
    Clean     removes output/ and the build folders.
.EXAMPLE
    dotnet tool restore && dotnet pwsh ./build.ps1 -Task Test
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Diagnose', 'Package', 'Clean')]
    [string[]] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # Pester tag filters for a quicker run while developing (every test runs when empty).
    [string[]] $Tag,
    [string[]] $ExcludeTag
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$root = $PSScriptRoot
$output = Join-Path $root 'output'
$moduleOut = Join-Path $output 'MptcpTools'
$manifest = Import-PowerShellDataFile (Join-Path $root 'MptcpTools.psd1')
. (Join-Path $root 'tools/common.ps1')

function Invoke-Build {
    Write-Step "Building MptcpTools $($manifest.ModuleVersion) ($Configuration)"
    $publish = Join-Path $output 'obj/publish'
    # A fresh publish folder: every dll in it ships, so a dependency dropped from the csproj must not linger.
    if (Test-Path $publish) { Remove-Item $publish -Recurse -Force }
    Invoke-Native dotnet publish (Join-Path $root 'src/MptcpTools/MptcpTools.csproj') -c $Configuration -o $publish `
        "-p:ModuleVersion=$($manifest.ModuleVersion)" --nologo --verbosity quiet
    if (Test-Path $moduleOut) { Remove-Item $moduleOut -Recurse -Force }
    New-Item -ItemType Directory -Path $moduleOut, (Join-Path $moduleOut 'en-US') | Out-Null

    # Our dll goes to the module root; every third-party dll to lib/, where only the module's own load context
    # (src/MptcpTools/ModuleLoadContext.cs) looks, so they never land in the default context beside another
    # module's copies. pwsh supplies System.Management.Automation (the csproj keeps it out of the publish).
    # System.IO.Pipelines comes with Tmds.DBus.Protocol's package for .NET 8, whose framework lacks it (see the context).
    $lib = Join-Path $moduleOut 'lib'
    New-Item -ItemType Directory -Path $lib | Out-Null
    Copy-Item (Join-Path $publish 'MptcpTools.dll') $moduleOut
    Get-ChildItem $publish -Filter *.dll | Where-Object Name -ne 'MptcpTools.dll' | Copy-Item -Destination $lib
    # SkiaSharp's and HarfBuzzSharp's native libraries (charts only), for the Linux platforms the module runs on, in
    # NuGet's runtimes/RID/native layout, where the load context's LoadUnmanagedDll looks.
    foreach ($rid in 'linux-x64', 'linux-arm64') {
        $native = Join-Path $publish "runtimes/$rid/native"
        if (-not (Test-Path $native)) { continue }
        $target = New-Item -ItemType Directory -Path (Join-Path $lib "runtimes/$rid/native") -Force
        Get-ChildItem $native -Filter *.so | Copy-Item -Destination $target
    }
    Copy-Item (Join-Path $root 'MptcpTools.psd1') $moduleOut
    Copy-Item (Join-Path $root 'src/MptcpTools/MptcpTools.format.ps1xml') $moduleOut
    Copy-Item (Join-Path $root 'en-US/about_*.help.txt') (Join-Path $moduleOut 'en-US')
    Copy-Item (Join-Path $root 'LICENSE') $moduleOut
    Copy-Item (Join-Path $root 'src/HealthChecks') $moduleOut -Recurse

    # MAML help is generated from en-US/*.md and the compiled cmdlets' own parameter metadata.
    Invoke-Pwsh -File (Join-Path $root 'tools/New-MamlHelp.ps1') -ModulePath $moduleOut -SourcePath (Join-Path $root 'en-US')
}

function Invoke-Test {
    try {
        Invoke-Build
        Write-Step 'Test prerequisites'
        $missing = @(& (Join-Path $root 'tools/Install-Prerequisites.ps1'))
        Write-Step 'Restoring Pester and building the test tools'
        Invoke-Native dotnet restore (Join-Path $root 'tools/Pester/Pester.csproj') --nologo --verbosity quiet
        Invoke-Native dotnet build (Join-Path $root 'tests/tools/MptcpPeer/MptcpPeer.csproj') -c Release `
            -o (Join-Path $output 'tools/MptcpPeer') --nologo --verbosity quiet
        Invoke-Native dotnet build (Join-Path $root 'tests/tools/DBusStandIn/DBusStandIn.csproj') -c Release `
            -o (Join-Path $output 'tools/DBusStandIn') --nologo --verbosity quiet
        # Another module's versions (0.0.1) of the module's dependencies, for tests/LoadContext.Tests.ps1.
        foreach ($name in 'PacketDotNet', 'SharpPcap', 'Tmds.DBus.Protocol', 'ScottPlot', 'SkiaSharp') {
            Invoke-Native dotnet build (Join-Path $root 'tests/tools/ConflictingAssembly/ConflictingAssembly.csproj') -c Release `
                "-p:AssemblyName=$name" -o (Join-Path $output "tools/ConflictingAssembly/$name") --nologo --verbosity quiet
        }
    }
    catch {
        # The run must still end with its one summary line.
        Write-Host "The test run could not start: $_" -ForegroundColor Red
        Write-Host '0 passed, 1 failed, 0 skipped'
        exit 1
    }

    Write-Step 'Running Pester in a fresh pwsh'
    $arguments = @('-ModulePath', $moduleOut, '-MissingPackages', ($missing -join ','))
    if ($Tag) { $arguments += '-Tag', ($Tag -join ',') }
    if ($ExcludeTag) { $arguments += '-ExcludeTag', ($ExcludeTag -join ',') }
    Invoke-Pwsh -File (Join-Path $root 'tools/Invoke-Tests.ps1') -AllowFailure @arguments
    exit $LASTEXITCODE
}

function Invoke-Diagnose {
    Invoke-Build
    & (Join-Path $root 'tools/Install-Prerequisites.ps1') -For Diagnose | Out-Null
    Write-Step 'Diagnosing MPTCP on this host'
    Invoke-Pwsh -File (Join-Path $root 'tools/Show-Diagnosis.ps1') -ModulePath $moduleOut
}

function Invoke-Package {
    Invoke-Build
    Write-Step 'Packaging'
    $packageDir = Join-Path $output 'package'
    New-Item -ItemType Directory -Path $packageDir -Force | Out-Null
    Get-ChildItem $packageDir -Filter 'MptcpTools.*.nupkg' | Remove-Item
    Invoke-Pwsh -File (Join-Path $root 'tools/Publish-Package.ps1') -ModulePath $moduleOut -PackageDir $packageDir
    Get-ChildItem $packageDir -Filter 'MptcpTools.*.nupkg' | ForEach-Object { "Wrote $($_.FullName)" }
}

function Invoke-Clean {
    foreach ($path in @($output) + (Get-ChildItem $root -Directory -Recurse -Include bin, obj -ErrorAction Ignore).FullName) {
        if ($path -and (Test-Path $path)) { Remove-Item $path -Recurse -Force }
    }
}

foreach ($t in $Task) {
    & "Invoke-$t"
}
