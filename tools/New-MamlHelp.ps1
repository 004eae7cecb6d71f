# Generates en-US/MptcpTools.dll-Help.xml (MAML) for the built module from en-US/<Cmdlet>.md.
# Syntax, parameter types, positions, aliases and pipeline input come from the compiled cmdlets themselves,
# laid out as Get-Command -Syntax lays them out (tests/Help.Tests.ps1 compares them), so the help cannot
# drift from the code; the prose comes from the markdown. A cmdlet without a page, or a parameter without a
# description, fails the build. Each command's online version is its page in the project (the manifest's
# ProjectUri), which Get-Help -Online opens.
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $SourcePath
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$module = Import-Module $ModulePath -PassThru -Force
# The common parameters Get-Command -Syntax folds into [<CommonParameters>]; WhatIf and Confirm it shows, and so does the help.
$common = [System.Management.Automation.Cmdlet]::CommonParameters
$optionalCommon = [System.Management.Automation.Cmdlet]::OptionalCommonParameters
$projectUri = (Import-PowerShellDataFile (Join-Path $ModulePath 'MptcpTools.psd1')).PrivateData.PSData.ProjectUri
if (-not $projectUri) { throw 'The manifest has no PrivateData.PSData.ProjectUri: the help needs it for its online versions.' }

# The descriptions of -WhatIf and -Confirm, the same on every cmdlet that changes the host.
$optionalCommonText = @{
    WhatIf  = 'Shows what the cmdlet would change, and changes nothing.'
    Confirm = 'Asks for confirmation before each change. Changes the module cannot undo ask under the default $ConfirmPreference too; -Confirm:$false makes them without asking.'
}

# A parameter's type as Get-Command -Syntax writes it: Nullable unwrapped, type accelerators by their short
# name (uint, ipaddress, timespan), other types without their namespace.
function Get-SyntaxTypeName([type] $Type) {
    if ($Type.IsGenericType -and $Type.GetGenericTypeDefinition() -eq [Nullable`1]) { $Type = $Type.GetGenericArguments()[0] }
    $name = [Microsoft.PowerShell.ToStringCodeMethods]::Type([psobject]$Type)
    return $name -replace '(?:[A-Za-z_]\w*\.)+([A-Za-z_]\w*)', '$1'
}

# The parameters of one set in the order Get-Command -Syntax shows them: positional ones by position, then
# mandatory named ones, then optional named ones (WhatIf and Confirm among them), in declaration order.
function Get-DisplayOrder($Set) {
    $shown = @($Set.Parameters | Where-Object { $_.Name -notin $common })
    @($shown | Where-Object { $_.Position -ge 0 } | Sort-Object Position) +
    @($shown | Where-Object { $_.Position -lt 0 -and $_.IsMandatory }) +
    @($shown | Where-Object { $_.Position -lt 0 -and -not $_.IsMandatory })
}

function ConvertFrom-HelpMarkdown([string] $Path) {
    # Splits a page into '## ' sections, and '### ' subsections where a section has them.
    $page = @{ Sections = [ordered]@{}; Name = $null }
    $section = $null; $sub = $null
    foreach ($line in Get-Content -LiteralPath $Path) {
        if ($line -match '^# (\S+)\s*$') { $page.Name = $Matches[1]; continue }
        if ($line -match '^## (.+?)\s*$') {
            $section = $Matches[1].ToUpperInvariant(); $sub = $null
            $page.Sections[$section] = [ordered]@{ Text = [Collections.Generic.List[string]]::new(); Subs = [ordered]@{} }
            continue
        }
        if ($null -eq $section) { continue }
        if ($line -match '^### (.+?)\s*$') {
            $sub = $Matches[1]
            $page.Sections[$section].Subs[$sub] = [Collections.Generic.List[string]]::new()
            continue
        }
        if ($null -ne $sub) { $page.Sections[$section].Subs[$sub].Add($line) }
        else { $page.Sections[$section].Text.Add($line) }
    }
    return $page
}

function Split-Paragraph([string[]] $Lines) {
    # Blank lines separate paragraphs; lines of a paragraph are joined with spaces.
    $paragraphs = [Collections.Generic.List[string]]::new()
    $current = [Collections.Generic.List[string]]::new()
    foreach ($line in $Lines + '') {
        if ([string]::IsNullOrWhiteSpace($line)) {
            if ($current.Count) { $paragraphs.Add(($current -join ' ').Trim()); $current.Clear() }
        }
        else { $current.Add($line.Trim()) }
    }
    return $paragraphs
}

function Add-Para([Xml.XmlWriter] $w, [string[]] $Paragraphs) {
    foreach ($p in $Paragraphs) { $w.WriteElementString('maml', 'para', 'http://schemas.microsoft.com/maml/2004/10', $p) }
}

function Get-PipelineText($p) {
    $kinds = @()
    if ($p.ValueFromPipeline) { $kinds += 'ByValue' }
    if ($p.ValueFromPipelineByPropertyName) { $kinds += 'ByPropertyName' }
    if ($kinds) { return "True ($($kinds -join ', '))" }
    return 'False'
}

$settings = [Xml.XmlWriterSettings]@{ Indent = $true; Encoding = [Text.UTF8Encoding]::new($false) }
$target = Join-Path $ModulePath 'en-US/MptcpTools.dll-Help.xml'
$w = [Xml.XmlWriter]::Create($target, $settings)
$ns = @{
    msh     = 'http://msh'
    maml    = 'http://schemas.microsoft.com/maml/2004/10'
    command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
    dev     = 'http://schemas.microsoft.com/maml/dev/2004/10'
}
$w.WriteStartDocument()
$w.WriteStartElement('helpItems', $ns.msh)
$w.WriteAttributeString('schema', 'maml')
$problems = [Collections.Generic.List[string]]::new()

foreach ($cmd in Get-Command -Module $module.Name -CommandType Cmdlet | Sort-Object Name) {
    $file = Join-Path $SourcePath "$($cmd.Name).md"
    if (-not (Test-Path $file)) { $problems.Add("$($cmd.Name): no help page $file"); continue }
    $page = ConvertFrom-HelpMarkdown $file
    if ($page.Name -ne $cmd.Name) { $problems.Add("${file}: the title must be '# $($cmd.Name)'") }
    foreach ($required in 'SYNOPSIS', 'DESCRIPTION', 'EXAMPLES', 'PARAMETERS') {
        if (-not $page.Sections.Contains($required)) { $problems.Add("${file}: no '## $required' section") }
    }
    if (-not $page.Sections.Contains('EXAMPLES') -or $page.Sections['EXAMPLES'].Subs.Count -lt 2) {
        $problems.Add("${file}: fewer than two examples")
    }
    if ($problems.Count) { continue }

    $parameters = @($cmd.Parameters.Values | Where-Object { $_.Name -notin $common })
    $docs = $page.Sections['PARAMETERS'].Subs
    foreach ($p in $parameters | Where-Object { $_.Name -notin $optionalCommon }) {
        if (-not $docs.Contains("-$($p.Name)")) { $problems.Add("${file}: parameter -$($p.Name) is not described") }
    }
    foreach ($documented in $docs.Keys) {
        if ($documented.TrimStart('-') -notin $parameters.Name) { $problems.Add("${file}: describes $documented, which the cmdlet does not have") }
    }

    $w.WriteStartElement('command', 'command', $ns.command)
    $w.WriteAttributeString('xmlns', 'maml', $null, $ns.maml)
    $w.WriteAttributeString('xmlns', 'dev', $null, $ns.dev)
    $w.WriteStartElement('command', 'details', $ns.command)
    $w.WriteElementString('command', 'name', $ns.command, $cmd.Name)
    $w.WriteElementString('command', 'verb', $ns.command, $cmd.Verb)
    $w.WriteElementString('command', 'noun', $ns.command, $cmd.Noun)
    $w.WriteStartElement('maml', 'description', $ns.maml)
    Add-Para $w (Split-Paragraph $page.Sections['SYNOPSIS'].Text)
    $w.WriteEndElement(); $w.WriteEndElement()

    $w.WriteStartElement('maml', 'description', $ns.maml)
    Add-Para $w (Split-Paragraph $page.Sections['DESCRIPTION'].Text)
    $w.WriteEndElement()

    $w.WriteStartElement('command', 'syntax', $ns.command)
    foreach ($set in $cmd.ParameterSets) {
        $w.WriteStartElement('command', 'syntaxItem', $ns.command)
        $w.WriteElementString('maml', 'name', $ns.maml, $cmd.Name)
        foreach ($sp in Get-DisplayOrder $set) {
            $w.WriteStartElement('command', 'parameter', $ns.command)
            $w.WriteAttributeString('required', "$($sp.IsMandatory)".ToLowerInvariant())
            $w.WriteAttributeString('position', $(if ($sp.Position -ge 0) { "$($sp.Position)" } else { 'named' }))
            $w.WriteAttributeString('pipelineInput', (Get-PipelineText $sp))
            $w.WriteAttributeString('aliases', $(if ($sp.Aliases.Count) { $sp.Aliases -join ', ' } else { 'none' }))
            $w.WriteElementString('maml', 'name', $ns.maml, $sp.Name)
            if ($sp.ParameterType -ne [switch]) {
                $w.WriteStartElement('command', 'parameterValue', $ns.command)
                $w.WriteAttributeString('required', 'true')
                $w.WriteString((Get-SyntaxTypeName $sp.ParameterType))
                $w.WriteEndElement()
            }
            $w.WriteEndElement()
        }
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    $w.WriteStartElement('command', 'parameters', $ns.command)
    foreach ($p in $parameters | Sort-Object Name) {
        $attr = $p.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }
        $mandatory = [bool]($attr | Where-Object Mandatory)
        $position = ($attr | Where-Object { $_.Position -ge 0 } | Select-Object -First 1)
        $w.WriteStartElement('command', 'parameter', $ns.command)
        $w.WriteAttributeString('required', "$mandatory".ToLowerInvariant())
        $w.WriteAttributeString('position', $(if ($position) { "$($position.Position)" } else { 'named' }))
        $byValue = [bool]($attr | Where-Object ValueFromPipeline)
        $byName = [bool]($attr | Where-Object ValueFromPipelineByPropertyName)
        $w.WriteAttributeString('pipelineInput', (Get-PipelineText ([pscustomobject]@{ ValueFromPipeline = $byValue; ValueFromPipelineByPropertyName = $byName })))
        $w.WriteAttributeString('globbing', "$([bool]($p.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] }))".ToLowerInvariant())
        $w.WriteAttributeString('aliases', $(if ($p.Aliases.Count) { $p.Aliases -join ', ' } else { 'none' }))
        $w.WriteElementString('maml', 'name', $ns.maml, $p.Name)
        $w.WriteStartElement('maml', 'description', $ns.maml)
        if ($p.Name -in $optionalCommon) { Add-Para $w @($optionalCommonText[$p.Name]) }
        else { Add-Para $w (Split-Paragraph $docs["-$($p.Name)"]) }
        $w.WriteEndElement()
        if ($p.ParameterType -ne [switch]) {
            $w.WriteElementString('command', 'parameterValue', $ns.command, (Get-SyntaxTypeName $p.ParameterType))
        }
        $w.WriteStartElement('dev', 'type', $ns.dev)
        $w.WriteElementString('maml', 'name', $ns.maml, $p.ParameterType.FullName)
        $w.WriteEndElement()
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    foreach ($kind in @(@('INPUTS', 'inputTypes', 'inputType'), @('OUTPUTS', 'returnValues', 'returnValue'))) {
        if (-not $page.Sections.Contains($kind[0])) { continue }
        $w.WriteStartElement('command', $kind[1], $ns.command)
        foreach ($entry in $page.Sections[$kind[0]].Subs.GetEnumerator()) {
            $w.WriteStartElement('command', $kind[2], $ns.command)
            $w.WriteStartElement('dev', 'type', $ns.dev)
            $w.WriteElementString('maml', 'name', $ns.maml, $entry.Key)
            $w.WriteEndElement()
            $w.WriteStartElement('maml', 'description', $ns.maml)
            Add-Para $w (Split-Paragraph $entry.Value)
            $w.WriteEndElement()
            $w.WriteEndElement()
        }
        $w.WriteEndElement()
    }

    if ($page.Sections.Contains('NOTES')) {
        $w.WriteStartElement('maml', 'alertSet', $ns.maml)
        $w.WriteStartElement('maml', 'alert', $ns.maml)
        Add-Para $w (Split-Paragraph $page.Sections['NOTES'].Text)
        $w.WriteEndElement(); $w.WriteEndElement()
    }

    $w.WriteStartElement('command', 'examples', $ns.command)
    foreach ($example in $page.Sections['EXAMPLES'].Subs.GetEnumerator()) {
        # The first fenced block is the code; text after it is the remarks.
        $code = [Collections.Generic.List[string]]::new(); $remarks = [Collections.Generic.List[string]]::new()
        $state = 'before'
        foreach ($line in $example.Value) {
            if ($line -match '^```') {
                $state = switch ($state) { 'before' { 'code' } 'code' { 'after' } default { $state } }
                continue
            }
            switch ($state) { 'code' { $code.Add($line) } 'after' { $remarks.Add($line) } }
        }
        if (-not $code.Count) { $problems.Add("${file}: example '$($example.Key)' has no code block") }
        $w.WriteStartElement('command', 'example', $ns.command)
        $w.WriteElementString('maml', 'title', $ns.maml, "-------------------------- $($example.Key) --------------------------")
        $w.WriteElementString('dev', 'code', $ns.dev, ($code -join "`n"))
        $w.WriteStartElement('dev', 'remarks', $ns.dev)
        Add-Para $w (Split-Paragraph $remarks)
        $w.WriteEndElement()
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    $w.WriteStartElement('command', 'relatedLinks', $ns.command)
    # The first link with a URI is what Get-Help -Online opens: this page, in the project.
    $w.WriteStartElement('maml', 'navigationLink', $ns.maml)
    $w.WriteElementString('maml', 'linkText', $ns.maml, 'Online Version:')
    $w.WriteElementString('maml', 'uri', $ns.maml, "$($projectUri.TrimEnd('/'))/blob/main/en-US/$($cmd.Name).md")
    $w.WriteEndElement()
    if ($page.Sections.Contains('RELATED LINKS')) {
        foreach ($line in $page.Sections['RELATED LINKS'].Text | Where-Object { $_ -match '^\s*-\s*(.+)$' }) {
            $w.WriteStartElement('maml', 'navigationLink', $ns.maml)
            $w.WriteElementString('maml', 'linkText', $ns.maml, ($line -replace '^\s*-\s*', '').Trim())
            $w.WriteElementString('maml', 'uri', $ns.maml, '')
            $w.WriteEndElement()
        }
    }
    $w.WriteEndElement()
    $w.WriteEndElement()
}

$w.WriteEndElement()
$w.WriteEndDocument()
$w.Close()
if ($problems.Count) {
    $problems | ForEach-Object { Write-Host "help: $_" -ForegroundColor Red }
    Remove-Item $target
    exit 1
}
