# The definition of done, checked for every exported cmdlet: approved verb, OutputType with a format
# view, MAML help with at least two examples and every parameter described, ShouldProcess on changes.
BeforeDiscovery {
    $modulePath = if ($env:MPTCPTOOLS_MODULE) { $env:MPTCPTOOLS_MODULE } else { "$PSScriptRoot/../output/MptcpTools" }
    $manifest = Import-PowerShellDataFile (Join-Path $modulePath 'MptcpTools.psd1')
    $cmdlets = $manifest.CmdletsToExport | ForEach-Object { @{ Name = $_ } }
}

BeforeAll {
    $modulePath = if ($env:MPTCPTOOLS_MODULE) { $env:MPTCPTOOLS_MODULE } else { "$PSScriptRoot/../output/MptcpTools" }
    $module = Import-Module $modulePath -Force -PassThru
    $manifest = Import-PowerShellDataFile (Join-Path $modulePath 'MptcpTools.psd1')
    $formatTypes = (Get-FormatData -TypeName 'MptcpTools.*').TypeNames
    $changingVerbs = 'Add', 'Set', 'Remove', 'Repair', 'Clear', 'New', 'Enable', 'Disable', 'Start', 'Stop', 'Restart', 'Export'
}

Describe 'The module manifest' {
    It 'is the one source of the version, and the dll carries it' {
        $dll = Join-Path $modulePath 'MptcpTools.dll'
        [Reflection.AssemblyName]::GetAssemblyName($dll).Version.ToString(3) | Should -Be $manifest.ModuleVersion
        $module.Version.ToString() | Should -Be $manifest.ModuleVersion
    }

    It 'targets PowerShell 7.4 Core' {
        $manifest.PowerShellVersion | Should -Be '7.4'
        $manifest.CompatiblePSEditions | Should -Be @('Core')
    }

    It 'exports exactly the cmdlets it lists, and no functions, variables or aliases' {
        @($module.ExportedCmdlets.Keys | Sort-Object) | Should -Be @($manifest.CmdletsToExport | Sort-Object)
        $module.ExportedFunctions.Count | Should -Be 0
        $module.ExportedAliases.Count | Should -Be 0
    }

    It 'ships its format file and about topic' {
        Join-Path $modulePath $manifest.FormatsToProcess[0] | Should -Exist
        Join-Path $modulePath 'en-US/about_MptcpTools.help.txt' | Should -Exist
        (Get-Help about_MptcpTools | Out-String) | Should -Match 'MptcpPathManagerMissing'
    }

    It 'is built for net8.0 so pwsh 7.4 can load it' {
        $asm = $module.ImplementingAssembly
        $tfm = $asm.GetCustomAttributes([Runtime.Versioning.TargetFrameworkAttribute], $false)[0].FrameworkName
        $tfm | Should -Be '.NETCoreApp,Version=v8.0'
    }
}

Describe 'The format views' {
    It 'give every computed table column a label' {
        foreach ($data in Get-FormatData -TypeName 'MptcpTools.*') {
            foreach ($view in $data.FormatViewDefinition | Where-Object { $_.Control -is [System.Management.Automation.TableControl] }) {
                $columns = $view.Control.Rows[0].Columns
                for ($i = 0; $i -lt $columns.Count; $i++) {
                    if ($columns[$i].DisplayEntry.ValueType -eq 'ScriptBlock') {
                        $view.Control.Headers[$i].Label | Should -Not -BeNullOrEmpty -Because "column $i of the $($view.Name) view is computed"
                    }
                }
            }
        }
    }
}

Describe '<Name> meets the definition of done' -ForEach $cmdlets {
    BeforeAll {
        $command = Get-Command $Name -Module MptcpTools
        $help = Get-Help $Name -Full
    }

    It 'uses an approved verb' {
        (Get-Verb).Verb | Should -Contain $command.Verb
    }

    It 'declares an output type from this module, with a default view' {
        # A -Quiet switch answers with one Boolean (as Test-Connection -Quiet does); everything else is the module's.
        $types = $command.OutputType.Type | Where-Object { $_ -and -not ($_ -eq [bool] -and $command.Parameters.ContainsKey('Quiet')) }
        $types | Should -Not -BeNullOrEmpty
        foreach ($t in $types) {
            $t.FullName | Should -BeLike 'MptcpTools.*'
            $formatTypes | Should -Contain $t.FullName
        }
    }

    It 'has help with a synopsis, a description and at least two examples' {
        $help.Synopsis | Should -Not -Match "^\s*$Name\s"   # generated stub help repeats the syntax
        ($help.Description.Text -join ' ').Length | Should -BeGreaterThan 80
        @($help.Examples.Example).Count | Should -BeGreaterOrEqual 2
        foreach ($example in $help.Examples.Example) {
            $example.Code | Should -Match $Name.Split('-')[1]
        }
    }

    It 'describes every parameter in its help' {
        $common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
        foreach ($p in $command.Parameters.Keys | Where-Object { $_ -notin $common }) {
            $doc = $help.Parameters.Parameter | Where-Object Name -eq $p
            ($doc.Description.Text -join ' ') | Should -Not -BeNullOrEmpty -Because "-$p needs a description"
        }
    }

    It 'supports -WhatIf and -Confirm when it changes the host' {
        $changes = $command.Verb -in $changingVerbs
        $command.Parameters.ContainsKey('WhatIf') | Should -Be $changes
        $command.Parameters.ContainsKey('Confirm') | Should -Be $changes
    }

    It 'is a sealed class' {
        $command.ImplementingType.IsSealed | Should -BeTrue
    }
}
