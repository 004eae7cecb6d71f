# The parameter fuzzer: every exported cmdlet, every parameter, hostile values of the parameter's type (empty, NUL,
# very long, wildcards, devices, a FIFO, traversal, numbers at their limits, durations that overflow, addresses that
# are no address, undefined enum values, forged objects), each call on top of values that work. Meant to run in a
# scratch network namespace with /etc/sysctl.d, /etc/mptcpd and /run/dbus bound over with empty folders
# (tests/Fuzz.Lab.Tests.ps1), as root or with capabilities dropped. Every call runs in a runspace with the module, is
# stopped after -CallSeconds (as Ctrl+C would), and is judged as the capture fuzzer judges: one JSON line per
# "failure" (an escape that is not an ErrorRecord with a documented id), "hang" (a call that did not stop), and "done".
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $AboutPath,
    [Parameter(Mandatory)] [string] $OutFile,
    [Parameter(Mandatory)] [string] $WorkDir,
    [Parameter(Mandatory)] [string] $CapturePath,
    [double] $CallSeconds = 3,
    [string[]] $Cmdlet = @()
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
. (Join-Path $PSScriptRoot 'FuzzSupport.ps1')
$allowed = Get-DocumentedErrorId $AboutPath
$out = [IO.StreamWriter]::new($OutFile, $false)
$out.AutoFlush = $true
function Write-Event([hashtable] $Event) { $out.WriteLine(($Event | ConvertTo-Json -Compress -Depth 4)) }

Import-Module (Resolve-Path $ModulePath).Path
$moduleFile = (Get-Module MptcpTools).Path
$fifo = Join-Path $WorkDir 'fifo'
if (-not (Test-Path $fifo)) { & mkfifo $fifo }
$measured = @(Measure-MptcpCapture -LiteralPath $CapturePath)
if (-not $measured) { throw "$CapturePath gives no measurement to chart." }

# A runspace with the module, in the work folder (relative paths land there).
function New-FuzzRunspace {
    $rs = [runspacefactory]::CreateRunspace()
    $rs.Open()
    $ps = [powershell]::Create(); $ps.Runspace = $rs
    $null = $ps.AddCommand('Import-Module').AddArgument($moduleFile).AddStatement().AddCommand('Set-Location').AddArgument($WorkDir).Invoke()
    $ps.Dispose()
    $rs
}

$strings = @('', ' ', "a`0b", ('x' * 300), ('y' * 70000), '[', '*', '?[', '../../../../../../etc/shadow', '/dev/zero', '/dev/full', $fifo, '/',
    '-1', "ÿ€😀", "a`nb", '$(id)', "'; id #", '%n%s%s', 'nosuch0')
$values = @{
    'String'             = $strings + @(, $null)
    'String[]'           = @($strings | ForEach-Object { , @($_) }) + @(, @()) + @(, @($null)) + @(, @('', $null)) + @(, @(1..1000 | ForEach-Object { "x$_" }))
    'Int32'              = @(0, -1, 1, 65536, [int]::MaxValue, [int]::MinValue, '12abc', $null)
    'Int32[]'            = @(@(-1), @(0), @([int]::MaxValue), @([int]::MinValue), @(, @()), @(, @(1..100)), @(, @($null)))
    'UInt16'             = @(0, 65535, -1, 70000, 'x')
    'UInt16[]'           = @(@(0), @(65535), @(-1), @(, @()))
    'Byte'               = @(0, 255, 256, -1)
    'Byte[]'             = @(@(0), @(255), @(256), @(, @()), @(, @(0..255)))
    'TimeSpan'           = @(0, -1, [TimeSpan]::MaxValue, [TimeSpan]::MinValue, 1e300, 'abc', '00:00:00.0000001', 1e-9, [double]::NaN, [double]::PositiveInfinity, $null)
    'IPAddress'          = @('0.0.0.0', '::', '255.255.255.255', '1.2.3', '999.1.1.1', '', 'fe80::1%lo', '::ffff:192.0.2.1', '224.0.0.1', '203.0.113.99', $null)
    'IPAddress[]'        = @(@('0.0.0.0'), @('1.2.3'), @(''), @(, @()), @(, @($null)), @(, @(1..300 | ForEach-Object { "198.51.100.$($_ % 250)" })))
    'SwitchParameter'    = @($true, $false)
    'PSObject[]'         = @($null, 'string', 42, [pscustomobject]@{ Id = 'SysctlMptcpDisabled' }, @{}, [pscustomobject]@{ Repair = 'forged'; Id = 'X' }, @(, @()))
    'MptcpRepair[]'      = @($null, 'string', 42, [pscustomobject]@{ Kind = 'SetSysctl'; Name = 'kernel.panic'; Value = '1' }) +
        @([MptcpTools.Diagnosis.MptcpRepair].Assembly.GetTypes() | Where-Object { $_.IsSubclassOf([MptcpTools.Diagnosis.MptcpRepair]) -and -not $_.IsAbstract } |
            ForEach-Object { , [Activator]::CreateInstance($_) })
    'MptcpConnectionMeasurement[]' = @($null, 'string', @(, @()), @(, $measured), @(, @($measured[0], $null)))
}
function Get-HostileValue([Type] $Type) {
    $name = $Type.Name
    if ($Type.IsGenericType -and $Type.GetGenericTypeDefinition() -eq [Nullable`1]) { $name = $Type.GetGenericArguments()[0].Name }
    if ($values.ContainsKey($name)) { return $values[$name] }
    $element = if ($Type.IsArray) { $Type.GetElementType() } else { $Type }
    if ($element.IsEnum) {
        $enumValues = @(0, 9999, 'Nope', '', -1, [int]::MaxValue, $null)
        if ($Type.IsArray) { return @($enumValues | ForEach-Object { , @($_) }) + @(, @()) }
        return $enumValues
    }
    Write-Event @{ event = 'untyped'; type = $Type.FullName }
    return @($null, '', 'x')
}

# Values that work, per cmdlet: the fuzzed parameter replaces its own. Nothing here reaches beyond the namespace.
$chart = Join-Path $WorkDir 'chart.png'
$base = @{
    'Add-MptcpEndpoint'              = @{ Address = '198.51.100.77'; Confirm = $false }
    'Compare-MptcpCapture'           = @{ ReferencePath = $CapturePath; DifferencePath = $CapturePath }
    'Export-MptcpChart'              = @{ Path = $chart; InputObject = $measured }
    'Measure-MptcpCapture'           = @{ LiteralPath = $CapturePath }
    'Read-MptcpCapture'              = @{ LiteralPath = $CapturePath }
    'Remove-MptcpEndpoint'           = @{ Id = [byte]200; Confirm = $false }
    'Repair-MptcpConfiguration'      = @{ Repair = @([MptcpTools.Diagnosis.LimitRepair]::new()); Confirm = $false }
    'Set-MptcpEndpoint'              = @{ Id = [byte]200; Flags = 'Subflow'; Confirm = $false }
    'Set-MptcpLimit'                 = @{ Confirm = $false }
    'Test-MptcpApplication'          = @{ Name = 'nosuchprogram' }
    'Test-MptcpConnectivity'         = @{ ComputerName = '203.0.113.2'; Port = 5201; Timeout = 0.5; Duration = 0 }
    'Watch-MptcpEvent'               = @{ Duration = 0.2 }
    'Watch-MptcpPackets'             = @{ Duration = 0.2 }
}
# A parameter whose set excludes the base's (Path against LiteralPath, All against Id) drops the other.
$exclusive = @{ Path = 'LiteralPath'; LiteralPath = 'Path'; All = 'Id'; Id = 'All'; Finding = 'Repair'; Repair = 'Finding'; ProcessId = 'Name'; Name = 'ProcessId' }

$common = [Management.Automation.PSCmdlet]::CommonParameters + [Management.Automation.PSCmdlet]::OptionalCommonParameters
$rs = New-FuzzRunspace
$clock = [Diagnostics.Stopwatch]::StartNew()
$calls = 0; $failures = 0; $stopped = 0
$ids = @{}
$ErrorActionPreference = 'Continue'
$commands = Get-Command -Module MptcpTools -CommandType Cmdlet | Where-Object { -not $Cmdlet -or $_.Name -in $Cmdlet } | Sort-Object Name
$perCmdlet = [ordered]@{}
foreach ($command in $commands) {
    $started = $clock.Elapsed.TotalSeconds
    foreach ($parameter in $command.Parameters.Values | Where-Object { $_.Name -notin $common } | Sort-Object Name) {
        foreach ($value in @(Get-HostileValue $parameter.ParameterType)) {
            $arguments = @{} + ($base[$command.Name] ?? @{})
            if ($exclusive.ContainsKey($parameter.Name)) { $arguments.Remove($exclusive[$parameter.Name]) }
            if ($command.Name -eq 'Test-MptcpApplication' -and $parameter.Name -eq 'ProcessId') { $arguments.Remove('Name') }
            $arguments[$parameter.Name] = $value
            $shown = if ($null -eq $value) { '$null' } elseif ("$value".Length -gt 60) { "$("$value".Substring(0, 60))... ($("$value".Length) chars)" } else { "$value" }
            $what = "$($command.Name) -$($parameter.Name) $shown"
            $calls++
            $ps = [powershell]::Create(); $ps.Runspace = $rs
            $null = $ps.AddCommand($command.Name)
            foreach ($k in $arguments.Keys) { $null = $ps.AddParameter($k, $arguments[$k]) }
            $records = [Collections.Generic.List[object]]::new()
            $async = $ps.BeginInvoke()
            $wasStopped = $false
            if (-not $async.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds($CallSeconds))) {
                # Ctrl+C, as a user would: the call must end at once.
                $stopped++; $wasStopped = $true
                $stop = $ps.BeginStop($null, $null)
                if (-not $stop.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds(15))) {
                    $failures++
                    Write-Event @{ event = 'hang'; call = $what; why = 'the call neither ended nor stopped within 15 s of Stop()' }
                    # The runspace is stuck with it: go on in a fresh one.
                    $rs = New-FuzzRunspace
                    continue
                }
            }
            try { $null = $ps.EndInvoke($async) }
            catch {
                $e = $_.Exception
                while ($e -is [System.Management.Automation.MethodInvocationException] -and $e.InnerException) { $e = $e.InnerException }
                # PowerShell refusing a value at binding is an answer (its record carries a ParentContainsErrorRecordException).
                if ($e -is [System.Management.Automation.ParameterBindingException]) { $ids['ParameterBinding']++ }
                elseif ($e -is [System.Management.Automation.PipelineStoppedException]) { }
                elseif ($e -is [System.Management.Automation.IContainsErrorRecord]) { $records.Add($e.ErrorRecord) }
                else { $records.Add([Management.Automation.ErrorRecord]::new($e, $e.GetType().FullName, 'NotSpecified', $null)) }
            }
            # The harness's own stop is reported as PipelineStopped: an answer to Ctrl+C, not an escape.
            foreach ($r in $ps.Streams.Error) { if (-not ($wasStopped -and "$($r.FullyQualifiedErrorId)" -like 'PipelineStopped*')) { $records.Add($r) } }
            $ps.Dispose()
            foreach ($r in $records) {
                $why = Test-FuzzError $r $allowed
                if ($why) {
                    $failures++
                    Write-Event @{ event = 'failure'; call = $what; why = $why; stack = "$($r.Exception.StackTrace)".Split("`n") | Select-Object -First 8 }
                }
                else { $ids["$($r.FullyQualifiedErrorId)".Split(',')[0]]++ }
            }
        }
    }
    $perCmdlet[$command.Name] = [math]::Round($clock.Elapsed.TotalSeconds - $started, 1)
}
Write-Event @{ event = 'done'; calls = $calls; failures = $failures; stopped = $stopped; cmdlets = @($commands).Count
    seconds = [math]::Round($clock.Elapsed.TotalSeconds, 1); errorIds = $ids; secondsPerCmdlet = $perCmdlet }
$out.Dispose()
