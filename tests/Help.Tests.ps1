# The help matches the cmdlets: each cmdlet's help syntax is what Get-Command -Syntax shows, parameter by
# parameter (types as PowerShell writes them, -WhatIf and -Confirm, [<CommonParameters>]); every parameter's
# aliases are in its help; Get-Help -Online has a page to open; the manifest names the project. The cmdlets
# come from the manifest, so a cmdlet added later is checked too.
BeforeDiscovery {
    $modulePath = if ($env:MPTCPTOOLS_MODULE) { $env:MPTCPTOOLS_MODULE } else { "$PSScriptRoot/../output/MptcpTools" }
    $manifest = Import-PowerShellDataFile (Join-Path $modulePath 'MptcpTools.psd1')
    $cmdlets = $manifest.CmdletsToExport | ForEach-Object { @{ Name = $_ } }
}

BeforeAll {
    $modulePath = if ($env:MPTCPTOOLS_MODULE) { $env:MPTCPTOOLS_MODULE } else { "$PSScriptRoot/../output/MptcpTools" }
    Import-Module $modulePath -Force
    $manifest = Import-PowerShellDataFile (Join-Path $modulePath 'MptcpTools.psd1')
    $repository = Resolve-Path (Join-Path $PSScriptRoot '..')

    # One syntax line as its parameters: "[[-Name] <string[]>]", "-All", "[-WhatIf]", "[<CommonParameters>]".
    function Split-Syntax([string] $Line) {
        $pattern = '\[\[-\w+\] <[^>]+>\]|\[-\w+ <[^>]+>\]|\[-\w+\] <[^>]+>|-\w+ <[^>]+>|\[-\w+\]|-\w+|\[<CommonParameters>\]'
        @([regex]::Matches($Line, $pattern) | ForEach-Object Value)
    }

    # The help's syntax as Get-Help writes it, one line per parameter set, and Get-Command's.
    function Get-HelpSyntax([string] $Name) {
        @(((Get-Help $Name).Syntax | Out-String -Width 4096) -split "`r?`n" | ForEach-Object Trim | Where-Object { $_ })
    }
    function Get-CommandSyntax([string] $Name) {
        @((Get-Command $Name -Syntax) -split "`r?`n" | ForEach-Object Trim | Where-Object { $_ })
    }
}

Describe '<Name>: help syntax and parameters match the cmdlet' -ForEach $cmdlets {
    BeforeAll {
        $command = Get-Command $Name -Module MptcpTools
        $helpLines = @(Get-HelpSyntax $Name)
        $commandLines = @(Get-CommandSyntax $Name)
    }

    It 'has one syntax line per parameter set, in the same order' {
        $helpLines.Count | Should -Be $commandLines.Count -Because ($helpLines -join "`n")
        for ($i = 0; $i -lt $commandLines.Count; $i++) {
            ($helpLines[$i] -split ' ')[0] | Should -Be $Name
        }
    }

    It 'shows each parameter as Get-Command -Syntax does: name, position, mandatory, type' {
        for ($i = 0; $i -lt $commandLines.Count; $i++) {
            $expected = @(Split-Syntax $commandLines[$i])
            $actual = @(Split-Syntax $helpLines[$i])
            $expected.Count | Should -BeGreaterThan 0
            for ($j = 0; $j -lt [Math]::Max($expected.Count, $actual.Count); $j++) {
                $actual[$j] | Should -BeExactly $expected[$j] -Because "parameter $j of set $i of $Name (help: $($helpLines[$i]))"
            }
            # The whole line too, so nothing outside the parameters drifts either.
            $helpLines[$i] | Should -BeExactly $commandLines[$i]
        }
    }

    It 'lists -WhatIf and -Confirm exactly when the cmdlet changes the host, and describes them' {
        $changes = $command.Parameters.ContainsKey('WhatIf')
        foreach ($line in $helpLines) {
            ($line -match '\[-WhatIf\] \[-Confirm\]') | Should -Be $changes
        }
        if ($changes) {
            foreach ($p in 'WhatIf', 'Confirm') {
                ((Get-Help $Name -Parameter $p).Description.Text -join ' ') | Should -Not -BeNullOrEmpty
                (Get-Help $Name -Parameter $p).aliases | Should -Be $command.Parameters[$p].Aliases[0]
            }
        }
    }

    It 'names every parameter''s aliases' {
        $common = [System.Management.Automation.Cmdlet]::CommonParameters
        foreach ($p in $command.Parameters.Values | Where-Object { $_.Name -notin $common }) {
            $help = Get-Help $Name -Parameter $p.Name
            $expected = if ($p.Aliases.Count) { $p.Aliases -join ', ' } else { 'none' }
            $help.aliases | Should -Be $expected -Because "-$($p.Name) of $Name"
            $help.type.name | Should -Be $p.ParameterType.FullName
        }
    }

    It 'has an online version Get-Help -Online can open: its page in the project' {
        $uri = [uri]@((Get-Help $Name).relatedLinks.navigationLink | Where-Object { $_.uri })[0].uri
        $uri.IsAbsoluteUri | Should -BeTrue
        $uri.Scheme | Should -Be 'https'
        "$uri" | Should -Be "$($manifest.PrivateData.PSData.ProjectUri)/blob/main/en-US/$Name.md"
        Join-Path $repository "en-US/$Name.md" | Should -Exist
    }
}

Describe 'The manifest and the finding links' {
    It 'names the project, its release notes and where its help lives' {
        $psData = $manifest.PrivateData.PSData
        ([uri]$psData.ProjectUri).IsAbsoluteUri | Should -BeTrue
        $psData.ProjectUri | Should -Be ([MptcpTools.ProjectSite]::Uri)
        $psData.ReleaseNotes | Should -Match $manifest.ModuleVersion
        ([uri]$manifest.HelpInfoURI).IsAbsoluteUri | Should -BeTrue
        $manifest.HelpInfoURI | Should -BeLike "$($psData.ProjectUri)/*"
    }

    It 'gives every finding a HelpUri that is a URI into about_MptcpTools, at the id''s own entry' {
        $about = Get-Content (Join-Path $repository 'en-US/about_MptcpTools.help.txt')
        foreach ($id in [MptcpTools.Diagnosis.DiagnosisRules]::Catalog) {
            $uri = [uri]([MptcpTools.Diagnosis.MptcpFinding]@{ Id = $id }).HelpUri
            $uri.IsAbsoluteUri | Should -BeTrue
            "$uri" | Should -Be "$([MptcpTools.ProjectSite]::HelpFolder)about_MptcpTools.help.txt#:~:text=$id"
            # The text fragment scrolls to the first mention: it must be the id's entry.
            $first = @($about | Select-String -Pattern "\b$id\b")[0]
            $first.Line | Should -Be "    $id" -Because "the first mention of $id (line $($first.LineNumber)) is where its HelpUri lands"
        }
    }
}

Describe 'Importing off Linux' {
    It 'says once, clearly, that the module needs Linux, and nothing on Linux' {
        [MptcpTools.PlatformSupport]::Problem($true, 'Linux 6.18') | Should -BeNullOrEmpty
        $message = [MptcpTools.PlatformSupport]::Problem($false, 'Microsoft Windows 10.0.22631 ')
        $message | Should -Match 'works on Linux only'
        $message | Should -Match 'this system is Microsoft Windows 10\.0\.22631\.'
        $message | Should -Match 'Invoke-Command -HostName'
    }
}
