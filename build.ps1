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
    Copy-Item (Join-Path $root 'src/MptcpTools/MptcpTools.types.ps1xml') $moduleOut
    Copy-Item (Join-Path $root 'en-US/about_*.help.txt') (Join-Path $moduleOut 'en-US')
    Copy-Item (Join-Path $root 'LICENSE') $moduleOut
    Copy-Item (Join-Path $root 'src/HealthChecks') $moduleOut -Recurse

    # Every public class of the module's layers gets a serialization depth, so it crosses remoting whole.
    Invoke-Pwsh -File (Join-Path $root 'tools/New-TypeData.ps1') -ModulePath $moduleOut -SourceFile (Join-Path $root 'src/MptcpTools/MptcpTools.types.ps1xml')

    # MAML help is generated from en-US/*.md and the compiled cmdlets' own parameter metadata.
    Invoke-Pwsh -File (Join-Path $root 'tools/New-MamlHelp.ps1') -ModulePath $moduleOut -SourcePath (Join-Path $root 'en-US')
}

# The lab's Go program (tests/tools/GoProbe), when a Go toolchain is installed: built once per Go release and
# source, and kept under output/ (a cold build of Go's standard library takes half a minute on two cores).
function Build-GoProbe {
    if (-not (Get-Command go -CommandType Application -ErrorAction Ignore)) { return }
    $source = Join-Path $root 'tests/tools/GoProbe/main.go'
    $target = Join-Path $output 'tools/GoProbe'
    $key = "$(& go version) $((Get-FileHash $source -Algorithm SHA256).Hash)"
    $stamp = Join-Path $target 'built-from.txt'
    if ((Test-Path (Join-Path $target 'goprobe')) -and (Test-Path $stamp) -and (Get-Content $stamp -Raw).Trim() -eq $key) { return }
    New-Item -ItemType Directory -Path $target -Force | Out-Null
    $saved = @{}
    $goEnv = @{ GOCACHE = (Join-Path $output 'go/cache'); GOPATH = (Join-Path $output 'go/path'); CGO_ENABLED = '0'; GOFLAGS = '-trimpath' }
    foreach ($name in $goEnv.Keys) { $saved[$name] = [Environment]::GetEnvironmentVariable($name); [Environment]::SetEnvironmentVariable($name, $goEnv[$name]) }
    try { Invoke-Native go build -o (Join-Path $target 'goprobe') $source }
    finally { foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) } }
    Set-Content $stamp $key
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
        Invoke-Native dotnet build (Join-Path $root 'tests/tools/CaptureFuzzer/CaptureFuzzer.csproj') -c Release `
            -o (Join-Path $output 'tools/CaptureFuzzer') --nologo --verbosity quiet
        # Only a run that may include the container tests (tagged Lab and Container) needs their roots.
        $containers = -not ($ExcludeTag | Where-Object { $_ -in 'Lab', 'Container' }) -and (-not $Tag -or ($Tag | Where-Object { $_ -in 'Lab', 'Container' }))
        if ($containers -and -not $missing -and (& id -u) -eq '0') { New-ContainerRoots }
        Build-GoProbe
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

# The container lab's Debian roots (tests/Lab/ContainerLab.psm1), made with debootstrap when missing and cached
# under output/containers by release and package list; both releases at once, as their downloads overlap.
function New-ContainerRoots {
    $script = Join-Path $root 'tools/New-ContainerRoot.ps1'
    $releases = 'bookworm', 'trixie'
    $pending = @($releases | Where-Object { -not (Test-Path (Join-Path (Split-Path (& $script -Release $_ -PathOnly)) 'complete')) })
    if (-not $pending) { return }
    Write-Step "Making the container roots: $($pending -join ', ') (once; cached in output/containers)"
    $pwsh = Get-PwshCommand
    $jobs = foreach ($release in $pending) {
        $psi = [System.Diagnostics.ProcessStartInfo]::new($pwsh[0])
        foreach ($a in @($pwsh | Select-Object -Skip 1) + @('-NoLogo', '-NoProfile', '-NonInteractive', '-File', $script, '-Release', $release)) { $psi.ArgumentList.Add($a) }
        $psi.UseShellExecute = $false
        [pscustomobject]@{ Release = $release; Process = [System.Diagnostics.Process]::Start($psi) }
    }
    foreach ($j in $jobs) {
        $j.Process.WaitForExit()
        if ($j.Process.ExitCode -ne 0) { throw "The $($j.Release) container root could not be made (exit $($j.Process.ExitCode))." }
    }
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
