# The module's third-party assemblies (SharpPcap, PacketDotNet, Tmds.DBus.Protocol, ScottPlot and SkiaSharp with its
# native library, and System.IO.Pipelines where the framework lacks it) load in the module's own AssemblyLoadContext (src/MptcpTools/ModuleLoadContext.cs),
# never in pwsh's default one, so that another module with other versions of them breaks neither.
# Every case runs in a fresh pwsh: what a process has loaded, it keeps until it exits.
BeforeAll {
    $modulePath = if ($env:MPTCPTOOLS_MODULE) { $env:MPTCPTOOLS_MODULE } else { "$PSScriptRoot/../output/MptcpTools" }
    $modulePath = (Resolve-Path $modulePath).Path
    $lib = Join-Path $modulePath 'lib'
    $capture = Join-Path $PSScriptRoot 'Fixtures/corpus/tcpdump/mptcp-v1.pcap'
    $standIns = (Resolve-Path (Join-Path $PSScriptRoot '../output/tools/ConflictingAssembly')).Path
    $dependencies = 'SharpPcap', 'PacketDotNet', 'Tmds.DBus.Protocol', 'ScottPlot', 'SkiaSharp'
    . (Join-Path $PSScriptRoot '../tools/common.ps1')

    # What this process reads from the capture: the fresh ones must read the same.
    Import-Module $modulePath -Force
    $expectedPackets = @(Read-MptcpCapture -LiteralPath $capture | ForEach-Object { "$_ $($_.Options -join ';')" })

    # Runs a script in a fresh pwsh with the shared helpers below in front; returns its last output line, parsed from JSON.
    function Invoke-FreshPwsh([string] $Script, [string[]] $Arguments = @()) {
        $file = Join-Path $TestDrive "probe-$([guid]::NewGuid().ToString('n')).ps1"
        Set-Content -LiteralPath $file -Value ($helpers + "`n" + $Script)
        $pwsh = Get-PwshCommand
        $out = & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -File $file @Arguments 2>&1
        if ($LASTEXITCODE -ne 0) { throw "The fresh pwsh failed with exit code ${LASTEXITCODE}:`n$($out -join "`n")" }
        return ($out | Select-Object -Last 1) | ConvertFrom-Json
    }

    $helpers = @'
param([string] $ModulePath, [string] $Capture, [string] $StandIns, [string] $Chart)
$ErrorActionPreference = 'Stop'
# Every loaded assembly of these names, with its load context.
function Get-Loaded([string[]] $Names) {
    @([AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -in $Names } | ForEach-Object {
        $context = [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($_)
        [pscustomobject]@{
            Name = $_.GetName().Name; Version = "$($_.GetName().Version)"; Location = $_.Location
            Context = $context.Name; InDefault = [object]::ReferenceEquals($context, [System.Runtime.Loader.AssemblyLoadContext]::Default)
        }
    })
}
# One capture read, one D-Bus call (that loads Tmds.DBus.Protocol to try the bus, which is not there), and one chart
# drawn (ScottPlot, SkiaSharp and its native library).
function Invoke-ModuleWork {
    $dbusBefore = @(Get-Loaded 'Tmds.DBus.Protocol' | Where-Object { -not $_.InDefault }).Count
    $packets = @(Read-MptcpCapture -LiteralPath $Capture | ForEach-Object { "$_ $($_.Options -join ';')" })
    $status = Get-MptcpDaemonStatus -BusAddress unix:path=/nonexistent
    $png = Join-Path ([IO.Path]::GetTempPath()) "mptl-chart-$PID.png"
    $chart = Measure-MptcpCapture -LiteralPath $Capture | Export-MptcpChart -Path $png -PassThru
    $chartBytes = if (Test-Path $png) { (Get-Item $png).Length } else { 0 }
    Remove-Item $png -ErrorAction Ignore
    $natives = @(Get-Content /proc/self/maps | Where-Object { $_ -match 'lib(SkiaSharp|HarfBuzzSharp)\.so' } | ForEach-Object { ($_ -split '\s+')[-1] } | Sort-Object -Unique)
    [pscustomobject]@{ Packets = $packets; DaemonNote = $status.Note; DBusLoadedBefore = $dbusBefore; ChartBytes = $chartBytes; ChartSeries = @($chart.Series).Count; Natives = $natives }
}
$names = 'SharpPcap', 'PacketDotNet', 'Tmds.DBus.Protocol', 'System.IO.Pipelines', 'ScottPlot', 'SkiaSharp', 'HarfBuzzSharp', 'SkiaSharp.HarfBuzz'
$platformPipelines = @([string][AppContext]::GetData('TRUSTED_PLATFORM_ASSEMBLIES') -split [IO.Path]::PathSeparator |
    Where-Object { [IO.Path]::GetFileName($_) -eq 'System.IO.Pipelines.dll' })
'@

    # Asserts the module's dependencies were loaded by the work, from lib/, in the module's context.
    function Assert-Isolated($Result) {
        $Result.Work.Packets | Should -Be $expectedPackets
        $Result.Work.DaemonNote | Should -BeLike '*unix:path=/nonexistent*'
        $Result.Work.DBusLoadedBefore | Should -Be 0 -Because 'the D-Bus call, not the import, loads Tmds.DBus.Protocol'
        $Result.Work.ChartBytes | Should -BeGreaterThan 10000 -Because 'the chart is drawn'
        $Result.Work.ChartSeries | Should -Be 1 -Because 'mptcp-v1.pcap holds one connection of one subflow'
        @($Result.Work.Natives) | Should -Contain (Join-Path $lib 'runtimes/linux-x64/native/libSkiaSharp.so') -Because 'the native library loads from lib/runtimes'
        @($Result.Work.Natives | Where-Object { $_ -notlike "$lib/*" }) | Should -BeNullOrEmpty -Because 'no other copy of the native library loads'
        foreach ($name in $dependencies) {
            $ours = @($Result.Loaded | Where-Object { $_.Name -eq $name -and $_.Location -notlike "$standIns/*" })
            $ours.Count | Should -Be 1 -Because "the work loads the module's $name once"
            $ours[0].InDefault | Should -BeFalse -Because "$name must not load in the default context ($($ours[0].Location))"
            $ours[0].Context | Should -Be 'MptcpTools'
            $ours[0].Location | Should -Be (Join-Path $lib "$name.dll")
        }
        foreach ($copy in $Result.Loaded | Where-Object { $_.Location -like "$lib/*" }) {
            $copy.InDefault | Should -BeFalse -Because "$($copy.Name) from lib/ must not load in the default context"
        }
    }
}

Describe 'The module layout' {
    It 'has only its own dll at the module root and the third-party ones in lib/' {
        @(Get-ChildItem $modulePath -Filter *.dll).Name | Should -Be @('MptcpTools.dll')
        @(Get-ChildItem $lib -Filter *.dll).Name | Sort-Object | Should -Be @('HarfBuzzSharp.dll', 'PacketDotNet.dll', 'ScottPlot.dll', 'SharpPcap.dll',
            'SkiaSharp.dll', 'SkiaSharp.HarfBuzz.dll', 'System.IO.Pipelines.dll', 'Tmds.DBus.Protocol.dll')
    }

    It 'ships the charts'' native libraries for linux-x64 and linux-arm64, and nothing else native' {
        $natives = @(Get-ChildItem $lib -Recurse -Filter *.so | ForEach-Object { $_.FullName.Substring($lib.Length + 1) } | Sort-Object)
        $natives | Should -Be @('runtimes/linux-arm64/native/libHarfBuzzSharp.so', 'runtimes/linux-arm64/native/libSkiaSharp.so',
            'runtimes/linux-x64/native/libHarfBuzzSharp.so', 'runtimes/linux-x64/native/libSkiaSharp.so')
    }

    It 'ships, or finds on the platform, every assembly its dlls reference, in a version that satisfies it' {
        # The platform: what the default context binds by itself on this pwsh (its framework and its own dlls).
        $platform = @{}
        foreach ($path in [string][AppContext]::GetData('TRUSTED_PLATFORM_ASSEMBLIES') -split [IO.Path]::PathSeparator) {
            $platform[[IO.Path]::GetFileNameWithoutExtension($path)] = $path
        }
        $checked = 0
        foreach ($dll in @(Get-Item (Join-Path $modulePath 'MptcpTools.dll')) + @(Get-ChildItem $lib -Filter *.dll)) {
            $stream = [IO.File]::OpenRead($dll.FullName)
            try {
                $reader = [Reflection.PortableExecutable.PEReader]::new($stream)
                $md = [Reflection.Metadata.PEReaderExtensions]::GetMetadataReader($reader)
                foreach ($handle in $md.AssemblyReferences) {
                    $reference = $md.GetAssemblyReference($handle)
                    $name = $md.GetString($reference.Name)
                    $shipped = Join-Path $lib "$name.dll"
                    $from = if (Test-Path $shipped) { $shipped } else { $platform[$name] }
                    $from | Should -Not -BeNullOrEmpty -Because "$($dll.Name) references $name"
                    [Reflection.AssemblyName]::GetAssemblyName($from).Version | Should -BeGreaterOrEqual $reference.Version -Because "$($dll.Name) references $name $($reference.Version)"
                    $checked++
                }
            }
            finally { $reader.Dispose(); $stream.Dispose() }
        }
        $checked | Should -BeGreaterThan 20
    }
}

Describe 'The module load context' {
    It 'loads SharpPcap, PacketDotNet and Tmds.DBus.Protocol in its own context, none in the default one' {
        $result = Invoke-FreshPwsh @'
Import-Module $ModulePath
$work = Invoke-ModuleWork
[pscustomobject]@{ Work = $work; Loaded = Get-Loaded $names; PlatformPipelines = $platformPipelines } | ConvertTo-Json -Depth 5 -Compress
'@ -Arguments $modulePath, $capture
        Assert-Isolated $result
        # A System.IO.Pipelines loaded at all is the platform's, or ours in our context (checked above).
        foreach ($pipelines in $result.Loaded | Where-Object Name -eq 'System.IO.Pipelines') {
            if ($pipelines.InDefault) { $result.PlatformPipelines | Should -Contain $pipelines.Location }
        }
    }

    It 'loads the System.IO.Pipelines it ships, in its own context, where the framework lacks it (as .NET 8)' {
        # A context made as the module makes its own, but told that the platform has no assemblies.
        $result = Invoke-FreshPwsh @'
$module = Import-Module $ModulePath -PassThru
$type = $module.ImplementingAssembly.GetType('MptcpTools.DependencyLoadContext', $true)
$flags = [Reflection.BindingFlags]'NonPublic,Instance'
$bare = $type.GetConstructors($flags)[0].Invoke(@([string](Join-Path $ModulePath 'lib'), [string[]]@()))
$real = $type.GetProperty('Instance', [Reflection.BindingFlags]'NonPublic,Static').GetValue($null)
$name = [Reflection.AssemblyName]'System.IO.Pipelines, Version=8.0.0.0'
$fromBare = $bare.LoadFromAssemblyName($name)
$fromReal = $real.LoadFromAssemblyName($name)
[pscustomobject]@{
    BareLocation = $fromBare.Location; BareIsThatContext = [object]::ReferenceEquals([System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($fromBare), $bare)
    RealLocation = $fromReal.Location; PlatformPipelines = $platformPipelines
} | ConvertTo-Json -Compress
'@ -Arguments $modulePath
        $result.BareLocation | Should -Be (Join-Path $lib 'System.IO.Pipelines.dll')
        $result.BareIsThatContext | Should -BeTrue
        $expected = if ($result.PlatformPipelines) { $result.PlatformPipelines[0] } else { Join-Path $lib 'System.IO.Pipelines.dll' }
        $result.RealLocation | Should -Be $expected
    }

    It 'keeps working when another module loaded other versions of them into the default context first' {
        $result = Invoke-FreshPwsh @'
$theirs = foreach ($n in 'PacketDotNet', 'SharpPcap', 'Tmds.DBus.Protocol', 'ScottPlot', 'SkiaSharp') { [Reflection.Assembly]::LoadFrom((Join-Path $StandIns "$n/$n.dll")) }
Import-Module $ModulePath
$work = Invoke-ModuleWork
$answers = @($theirs | ForEach-Object { $_.GetType('ConflictingAssembly.Marker', $true).GetMethod('Who').Invoke($null, @()) })
[pscustomobject]@{ Work = $work; Loaded = Get-Loaded $names; Answers = $answers } | ConvertTo-Json -Depth 5 -Compress
'@ -Arguments $modulePath, $capture, $standIns
        Assert-Isolated $result
        foreach ($name in $dependencies) {
            $inDefault = @($result.Loaded | Where-Object { $_.Name -eq $name -and $_.InDefault })
            $inDefault.Count | Should -Be 1
            $inDefault[0].Version | Should -Be '0.0.1.0' -Because "the other module's $name is still the one in the default context"
            $result.Answers | Should -Contain "$name, Version=0.0.1.0, Culture=neutral, PublicKeyToken=null"
        }
    }

    It 'lets another module load other versions of them into the default context after it' {
        $result = Invoke-FreshPwsh @'
Import-Module $ModulePath
$work = Invoke-ModuleWork
$theirs = foreach ($n in 'PacketDotNet', 'SharpPcap', 'Tmds.DBus.Protocol', 'ScottPlot', 'SkiaSharp') { [Reflection.Assembly]::LoadFrom((Join-Path $StandIns "$n/$n.dll")) }
$answers = @($theirs | ForEach-Object { $_.GetType('ConflictingAssembly.Marker', $true).GetMethod('Who').Invoke($null, @()) })
$again = @(Read-MptcpCapture -LiteralPath $Capture).Count
[pscustomobject]@{ Work = $work; Loaded = Get-Loaded $names; Answers = $answers; Again = $again } | ConvertTo-Json -Depth 5 -Compress
'@ -Arguments $modulePath, $capture, $standIns
        Assert-Isolated $result
        $result.Again | Should -Be $expectedPackets.Count
        foreach ($name in $dependencies) {
            $result.Answers | Should -Contain "$name, Version=0.0.1.0, Culture=neutral, PublicKeyToken=null"
        }
    }

    It 'resolves its dependencies after Remove-Module and Import-Module again' {
        $result = Invoke-FreshPwsh @'
Import-Module $ModulePath
Remove-Module MptcpTools
Import-Module $ModulePath
$work = Invoke-ModuleWork
[pscustomobject]@{ Work = $work; Loaded = Get-Loaded $names } | ConvertTo-Json -Depth 5 -Compress
'@ -Arguments $modulePath, $capture
        Assert-Isolated $result
    }
}

Describe 'Charts without their native library' {
    It 'fail in Export-MptcpChart alone, with ChartLibraryUnavailable, while the rest of the module works' {
        # A copy of the module whose lib/ lacks SkiaSharp's native library, as on a platform it was not built for.
        $copy = Join-Path $TestDrive 'NoNative/MptcpTools'
        New-Item -ItemType Directory -Path (Split-Path $copy) -Force | Out-Null
        Copy-Item $modulePath $copy -Recurse
        Remove-Item (Join-Path $copy 'lib/runtimes') -Recurse -Force
        $result = Invoke-FreshPwsh @'
Import-Module $ModulePath
$png = Join-Path ([IO.Path]::GetTempPath()) "mptl-nonative-$PID.png"
$m = @(Measure-MptcpCapture -LiteralPath $Capture)
$m | Export-MptcpChart -Path $png -ErrorVariable failed -ErrorAction SilentlyContinue
$after = @(Read-MptcpCapture -LiteralPath $Capture).Count
[pscustomobject]@{
    Measured = $m.Count; Errors = @($failed | ForEach-Object { $_.FullyQualifiedErrorId }); Category = "$($failed[0].CategoryInfo.Category)"
    Message = $failed[0].Exception.Message; Written = (Test-Path $png); After = $after
} | ConvertTo-Json -Compress
'@ -Arguments $copy, $capture
        $result.Measured | Should -Be 1
        $result.Errors | Should -Be @('ChartLibraryUnavailable,MptcpTools.Commands.ExportMptcpChartCommand')
        $result.Category | Should -Be 'NotInstalled'
        $result.Message | Should -Match 'libSkiaSharp'
        $result.Written | Should -BeFalse
        $result.After | Should -Be $expectedPackets.Count
    }
}
