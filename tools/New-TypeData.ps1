# Writes the built module's MptcpTools.types.ps1xml: the hand-written entries of src/MptcpTools/MptcpTools.types.ps1xml,
# and a SerializationDepth for every other public class of the module's layers, found in the compiled assembly.
# Remoting, jobs and Export-Clixml serialize an object one level deep unless its type says otherwise; with a depth on
# every class of the module, each nested object of the module (a kernel state's limits, a connection's subflows, a
# finding's evidence) travels as a property bag of its own, never as the text of its ToString().
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $SourceFile
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$module = Import-Module $ModulePath -PassThru -Force
$assembly = $module.ImplementingAssembly
[xml] $types = Get-Content -LiteralPath $SourceFile -Raw
$declared = @($types.Types.Type | ForEach-Object { $_.Name })
$layers = 'MptcpTools.Kernel', 'MptcpTools.Packets', 'MptcpTools.Host', 'MptcpTools.Diagnosis', 'MptcpTools.Remoting'
$generated = $assembly.GetExportedTypes() | Where-Object {
    $_.IsClass -and -not ($_.IsAbstract -and $_.IsSealed) -and $_.Namespace -in $layers -and $_.FullName -notin $declared -and
    -not [Exception].IsAssignableFrom($_) -and -not [Attribute].IsAssignableFrom($_) -and -not [Delegate].IsAssignableFrom($_) -and
    -not $_.IsGenericTypeDefinition
} | Sort-Object FullName

foreach ($type in $generated) {
    $node = $types.CreateElement('Type')
    $name = $types.CreateElement('Name'); $name.InnerText = $type.FullName; [void]$node.AppendChild($name)
    $members = $types.CreateElement('Members')
    $set = $types.CreateElement('MemberSet')
    $setName = $types.CreateElement('Name'); $setName.InnerText = 'PSStandardMembers'; [void]$set.AppendChild($setName)
    $setMembers = $types.CreateElement('Members')
    $note = $types.CreateElement('NoteProperty')
    $noteName = $types.CreateElement('Name'); $noteName.InnerText = 'SerializationDepth'; [void]$note.AppendChild($noteName)
    $noteValue = $types.CreateElement('Value'); $noteValue.InnerText = '2'; [void]$note.AppendChild($noteValue)
    [void]$setMembers.AppendChild($note); [void]$set.AppendChild($setMembers); [void]$members.AppendChild($set); [void]$node.AppendChild($members)
    [void]$types.Types.AppendChild($node)
}

$target = Join-Path $ModulePath 'MptcpTools.types.ps1xml'
$settings = [System.Xml.XmlWriterSettings]@{ Indent = $true; Encoding = [System.Text.UTF8Encoding]::new($false) }
$writer = [System.Xml.XmlWriter]::Create($target, $settings)
try { $types.Save($writer) } finally { $writer.Dispose() }
