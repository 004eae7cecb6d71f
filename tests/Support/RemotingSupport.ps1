# What an object is, as lines of "path = value", the same for a live object and for what remoting made of it:
# Get-ObjectPrint on the sending side (the live objects) and on the receiving side (the deserialized ones) must give
# the same lines when the object arrived whole. A nested object of the module that arrived as the text of its
# ToString() shows as a leaf where the sender had a node, an enum as its name on both sides, an address as its text.
# Dot-sourced by the tests, and sent as text to the other end (a job, an SSH session) to run there.
function Get-ObjectPrint {
    param($Value, [string] $Path = '$', [int] $Depth = 0)
    if ($null -eq $Value) { return "$Path = <null>" }
    $base = if ($Value -is [psobject]) { $Value.PSObject.BaseObject } else { $Value }
    $typeName = "$(@($Value.PSObject.TypeNames)[0])" -replace '^Deserialized\.', ''
    $isModule = $typeName -like 'MptcpTools.*'
    if ($Depth -gt 10) { return "$Path = <deeper than 10>" }
    if ($base -is [byte[]]) { return "$Path = 0x$([Convert]::ToHexString($base))" }
    if ($base -is [datetime]) { return "$Path = $($base.ToUniversalTime().ToString('o'))" }
    # An enum arrives as a bag of its number whose text is its name.
    if ($base -is [enum] -or $Value.PSObject.TypeNames -contains 'Deserialized.System.Enum') { return "$Path = $($Value.ToString())" }
    if ($typeName -like 'System.ValueTuple*') {
        # A tuple's items are fields, which serialization does not carry: print them, so a tuple that arrived as text differs.
        $i = 0
        foreach ($field in $base.GetType().GetFields()) { Get-ObjectPrint $field.GetValue($base) "$Path.$($field.Name)" ($Depth + 1); $i++ }
        if ($i -eq 0) { "$Path = <tuple as text: $Value>" }
        return
    }
    if (-not $isModule -and ($base -is [string] -or $base -is [ValueType] -or $base -isnot [System.Collections.IEnumerable])) {
        # Leaves: text, numbers, addresses, end points, times: their text on both sides.
        return "$Path = $([System.Management.Automation.LanguagePrimitives]::ConvertTo($Value, [string], [cultureinfo]::InvariantCulture))"
    }
    if ($base -is [System.Collections.IDictionary]) {
        "$Path = dictionary of $($base.Count)"
        foreach ($key in @($base.Keys) | Sort-Object { "$_" }) { Get-ObjectPrint $base[$key] "$Path[$key]" ($Depth + 1) }
        return
    }
    if (-not $isModule) {
        $items = @($base)
        "$Path = list of $($items.Count)"
        for ($i = 0; $i -lt [Math]::Min($items.Count, 25); $i++) { Get-ObjectPrint $items[$i] "$Path[$i]" ($Depth + 1) }
        return
    }
    "$Path = $typeName"
    $skip = @('PSComputerName', 'RunspaceId', 'PSShowComputerName', 'PSSourceJobInstanceId')
    # [Hidden] properties (a TimeSpan beside its *Seconds number) are left out of a live object's properties but travel
    # as ordinary ones: left out on both sides, by the module's class of that name.
    if ($clr = $typeName -as [type]) {
        $skip += @($clr.GetProperties() | Where-Object { $_.IsDefined([System.Management.Automation.HiddenAttribute], $true) } | ForEach-Object Name)
    }
    foreach ($p in $Value.PSObject.Properties | Where-Object { $_.IsGettable -and $_.Name -notin $skip -and $_.MemberType -ne 'PropertySet' } | Sort-Object Name) {
        $v = try { $p.Value } catch { "<getter threw: $($_.Exception.InnerException.Message)>" }
        Get-ObjectPrint $v "$Path.$($p.Name)" ($Depth + 1)
    }
}
