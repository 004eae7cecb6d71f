# What the fuzz harness calls a failure, shared by the capture and the parameter fuzzers: anything that leaves a
# cmdlet other than an ErrorRecord with one of the module's documented ids (about_MptcpTools, ERROR IDS), or
# PowerShell's own refusal of a parameter at binding.

# The documented error ids: the first word of each entry in the ERROR IDS section of about_MptcpTools.
function Get-DocumentedErrorId([string] $AboutPath) {
    $ids = [Collections.Generic.HashSet[string]]::new([StringComparer]::Ordinal)
    $inSection = $false
    foreach ($line in Get-Content -LiteralPath $AboutPath) {
        if ($line -match '^ERROR IDS') { $inSection = $true; continue }
        if ($inSection -and $line -match '^\S') { break }
        # An entry: four spaces, the id (CamelCase), then its text; group headings ("Captures:") end in a colon.
        if ($inSection -and $line -notmatch ':\s*$' -and $line -cmatch '^    ([A-Z][a-z]+[A-Z][A-Za-z]*)(\s|$)') { $null = $ids.Add($Matches[1]) }
    }
    return , $ids
}

# Why this error is not acceptable, or $null when it is: a documented id, or PowerShell refusing a parameter value.
function Test-FuzzError([System.Management.Automation.ErrorRecord] $Record, [Collections.Generic.HashSet[string]] $Allowed) {
    $id = "$($Record.FullyQualifiedErrorId)".Split(',')[0]
    if ($Record.Exception -is [System.Management.Automation.ParameterBindingException]) { return $null }
    if ($Record.Exception -is [System.Management.Automation.PipelineStoppedException]) { return $null }
    if ($Allowed.Contains($id)) {
        # A documented id that carries a raw exception of a bug (a NullReferenceException dressed as an id) is still one.
        $inner = $Record.Exception
        if ($inner -is [NullReferenceException] -or $inner -is [IndexOutOfRangeException] -or $inner -is [InvalidCastException] -or
            $inner -is [OutOfMemoryException] -or $inner -is [StackOverflowException] -or $inner -is [AccessViolationException]) {
            return "documented id $id, but the exception is a $($inner.GetType().FullName): $($inner.Message)"
        }
        return $null
    }
    $type = if ($Record.Exception) { $Record.Exception.GetType().FullName } else { 'no exception' }
    return "id '$id' is not a documented error id (${type}: $($Record.Exception.Message))"
}
