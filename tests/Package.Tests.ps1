# build.ps1 -Task Package writes a .nupkg that Install-PSResource can take from a local file repository.
# This publishes the built module the same way (tools/Publish-Package.ps1), then installs it from there.
BeforeAll {
    $modulePath = if ($env:MPTCPTOOLS_MODULE) { $env:MPTCPTOOLS_MODULE } else { "$PSScriptRoot/../output/MptcpTools" }
    $version = (Import-PowerShellDataFile (Join-Path $modulePath 'MptcpTools.psd1')).ModuleVersion
    . (Join-Path $PSScriptRoot '../tools/common.ps1')
}

Describe 'The package' {
    It 'is a .nupkg that Install-PSResource installs from a local repository, and the installed module works' {
        $repo = Join-Path $TestDrive 'repo'; $install = Join-Path $TestDrive 'modules'
        $capture = Join-Path $PSScriptRoot 'Fixtures/corpus/tcpdump/mptcp-v1.pcap'
        New-Item -ItemType Directory -Path $repo, $install | Out-Null
        Invoke-Pwsh -File (Join-Path $PSScriptRoot '../tools/Publish-Package.ps1') -ModulePath $modulePath -PackageDir $repo
        $package = Get-ChildItem $repo -Filter '*.nupkg'
        $package.Name | Should -Be "MptcpTools.$version.nupkg"

        # Install-PSResource as a user would, in a child pwsh whose HOME is a scratch folder,
        # so the install and the repository registration never touch this machine's profile.
        $script = @'
$ErrorActionPreference = 'Stop'
Register-PSResourceRepository -Name LocalTest -Uri $args[0] -Trusted
Install-PSResource -Name MptcpTools -Repository LocalTest -Scope CurrentUser -TrustRepository
$module = Import-Module MptcpTools -PassThru
$module.ModuleBase
(Get-Command -Module MptcpTools).Count
(Get-Help Get-MptcpLimit -Examples).Examples.Example.Count
# A capture read loads SharpPcap from the installed lib/ folder through the module's load context.
@(Read-MptcpCapture -LiteralPath $args[1]).Count
'@
        Set-Content (Join-Path $TestDrive 'install.ps1') $script
        $pwsh = Get-PwshCommand
        $savedHome = $env:HOME
        try {
            $env:HOME = $install
            $check = & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -File (Join-Path $TestDrive 'install.ps1') $repo $capture
        }
        finally { $env:HOME = $savedHome }
        $check[0] | Should -BeLike "$install*MptcpTools*$version"
        Join-Path $check[0] 'MptcpTools.dll' | Should -Exist
        Join-Path $check[0] 'en-US/MptcpTools.dll-Help.xml' | Should -Exist
        foreach ($dll in Get-ChildItem (Join-Path $modulePath 'lib') -Filter *.dll) {
            Join-Path $check[0] "lib/$($dll.Name)" | Should -Exist
        }
        # The charts' native libraries travel in the package too, in their runtimes/RID/native folders.
        $lib = Join-Path $modulePath 'lib'
        foreach ($native in Get-ChildItem $lib -Recurse -Filter *.so) {
            Join-Path $check[0] "lib/$($native.FullName.Substring($lib.Length + 1))" | Should -Exist
        }
        [int]$check[1] | Should -Be (Import-PowerShellDataFile (Join-Path $modulePath 'MptcpTools.psd1')).CmdletsToExport.Count
        [int]$check[2] | Should -BeGreaterOrEqual 2
        Import-Module $modulePath
        [int]$check[3] | Should -Be @(Read-MptcpCapture -LiteralPath $capture).Count
    }
}
