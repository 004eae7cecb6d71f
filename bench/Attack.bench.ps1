# The figures of issue 16's attack, rerun on the current module: what each reproduction costs now.
#   dotnet pwsh ./build.ps1 -Task Test -ExcludeTag Lab   (builds the module and the capture fuzzer)
#   dotnet pwsh ./bench/Attack.bench.ps1 [-RemoveAddr 6000000] [-Connections 1000000] [-AddAddr 100000]
# Needs root for the live parts (a lab namespace). Each line: the reproduction, then wall time, peak working set of the
# pwsh that ran it, and what came out (objects, error ids, exception types that were not ErrorRecords of the module).
param([long] $AddAddr = 100000, [long] $RemoveAddr = 6000000, [long] $Connections = 1000000)
$ErrorActionPreference = 'Stop'
$root = Resolve-Path (Join-Path $PSScriptRoot '..')
Import-Module (Join-Path $root 'tests/Lab/MptcpLab.psm1') -Force
. (Join-Path $root 'tools/common.ps1')
$module = Join-Path $root 'output/MptcpTools'
$fuzzer = Join-Path $root 'output/tools/CaptureFuzzer/CaptureFuzzer.dll'
foreach ($needed in $module, $fuzzer) { if (-not (Test-Path $needed)) { throw "$needed is missing: run build.ps1 -Task Test -ExcludeTag Lab first." } }
$pwshCommand = Get-PwshCommand; $pwsh = $pwshCommand[0]; $pwshArgs = @($pwshCommand | Select-Object -Skip 1)
$work = Join-Path ([IO.Path]::GetTempPath()) "mptcp-attack-$PID"
New-Item -ItemType Directory -Path $work | Out-Null

# Runs a pipeline in a fresh pwsh (in a namespace when given); prints one line of figures.
function Invoke-Attack([string] $Title, [string] $Pipeline, [string] $Namespace) {
    $script = @"
Import-Module '$module'
`$w = [Diagnostics.Stopwatch]::StartNew()
`$n = 0
`$Error.Clear()
try { $Pipeline 2>`$null 3>`$null | ForEach-Object { `$n++ } } catch { }
`$errors = @(`$Error | ForEach-Object { if (`$_ -is [System.Management.Automation.ErrorRecord]) { `$_ } elseif (`$_ -is [System.Management.Automation.IContainsErrorRecord]) { `$_.ErrorRecord } })
`$ids = @(`$errors | ForEach-Object { if (`$_.Exception -is [System.Management.Automation.ParameterBindingException]) { 'ParameterBinding' } else { "`$(`$_.FullyQualifiedErrorId)".Split(',')[0] } }) | Group-Object | ForEach-Object { "`$(`$_.Name) x`$(`$_.Count)" }
`$raw = @(`$errors | Where-Object { "`$(`$_.FullyQualifiedErrorId)" -notmatch ',MptcpTools\.' -and `$_.Exception -isnot [System.Management.Automation.ParameterBindingException] } | ForEach-Object { `$_.Exception.GetType().Name })
'{0:N1} s, peak {1:N0} MB, {2} objects; errors: {3}; not the module''s ErrorRecords: {4}' -f `$w.Elapsed.TotalSeconds, ([Diagnostics.Process]::GetCurrentProcess().PeakWorkingSet64 / 1MB), `$n, (`$ids -join ', '), ((`$raw -join ', ') ?? '')
"@
    $command = @($pwsh) + $pwshArgs + @('-NoProfile', '-NonInteractive', '-Command', $script)
    if ($Namespace) { $command = @('ip', 'netns', 'exec', $Namespace) + $command }
    $out = & $command[0] @($command | Select-Object -Skip 1) 2>&1
    "{0,-70} {1}" -f $Title, ($out | Select-Object -Last 1)
}

function New-Flood([string] $Kind, [long] $Count) {
    $file = Join-Path $work "$Kind-$Count.pcap"
    & dotnet $fuzzer flood --kind $Kind --count $Count --out $file | Out-Null
    if ($LASTEXITCODE) { throw "capture-fuzzer flood $Kind failed" }
    $file
}

try {
    "Item 1: hostile files"
    & mkfifo (Join-Path $work 'fifo')
    Invoke-Attack 'Get-MptcpCounter -Path /dev/zero' 'Get-MptcpCounter -Path /dev/zero'
    Invoke-Attack 'Get-MptcpCounter -Path FIFO' "Get-MptcpCounter -Path '$work/fifo'"
    Invoke-Attack 'Get-MptcpDaemonStatus -ConfigPath /dev/zero' 'Get-MptcpDaemonStatus -ConfigPath /dev/zero'
    Invoke-Attack 'Get-MptcpDaemonStatus -ConfigPath FIFO' "Get-MptcpDaemonStatus -ConfigPath '$work/fifo'"
    Invoke-Attack 'Invoke-MptcpDiagnosis -DaemonConfigPath /dev/full' 'Invoke-MptcpDiagnosis -DaemonConfigPath /dev/full'
    # A process of nobody named zero that maps /dev/zero (python's mmap; any program would do).
    $zero = Join-Path $work 'zero'
    # The interpreter itself, not a wrapper script (pyenv and the like) that would not run under another name.
    Copy-Item (& readlink -f /usr/bin/python3) $zero
    & chmod 0755 $work $zero
    $mapper = Start-Process setpriv -ArgumentList '--reuid=nobody', '--regid=nogroup', '--clear-groups', $zero, '-c',
        '"import mmap,os,time; f=os.open(''/dev/zero'',os.O_RDONLY); m=mmap.mmap(f,1<<30,mmap.MAP_PRIVATE,mmap.PROT_READ); time.sleep(120)"' -PassThru
    try {
        Start-Sleep -Seconds 1
        Invoke-Attack 'Test-MptcpApplication -Name zero (maps /dev/zero)' 'Test-MptcpApplication -Name zero'
        Invoke-Attack 'Test-MptcpApplication -Name *' "Test-MptcpApplication -Name '*'"
        Invoke-Attack 'Invoke-MptcpDiagnosis -ProcessName zero' 'Invoke-MptcpDiagnosis -ProcessName zero'
    }
    finally { if (-not $mapper.HasExited) { $mapper.Kill($true) } }

    "Item 5: timestamps no date holds (the fuzz corpus's time-* captures, all in one pipeline)"
    Invoke-Attack 'Read-MptcpCapture -Summary of every time-*.pcap(ng)' "Get-ChildItem '$root/tests/Fuzz/corpus/time-*' | Read-MptcpCapture -Summary"

    "Item 8: crafted floods"
    $file = New-Flood addaddr $AddAddr
    Invoke-Attack "Read-MptcpCapture, $AddAddr ADD_ADDR segments" "Read-MptcpCapture -LiteralPath '$file'"
    Invoke-Attack "Read-MptcpCapture -Summary, $AddAddr ADD_ADDR segments" "Read-MptcpCapture -LiteralPath '$file' -Summary"
    Remove-Item $file
    $file = New-Flood removeaddr $RemoveAddr
    Invoke-Attack "Read-MptcpCapture -Summary, $RemoveAddr REMOVE_ADDR segments" "Read-MptcpCapture -LiteralPath '$file' -Summary"
    Remove-Item $file
    $file = New-Flood connections $Connections
    Invoke-Attack "Read-MptcpCapture -Summary, $Connections connections" "Read-MptcpCapture -LiteralPath '$file' -Summary"
    Invoke-Attack "Measure-MptcpCapture, $Connections connections" "Measure-MptcpCapture -LiteralPath '$file'"
    Remove-Item $file

    "Items 6 and 7: live, in a lab namespace under a full-rate transfer"
    $lab = New-MptcpLab
    try {
        Start-LabPeer $lab $lab.Server 'serve', '--port', '5201' | Out-Null
        $send = "'$(Get-LabPeerPath)' send --to $($lab.Addresses.ServerAddress) --port 5201 --bytes $([long]1e12) --delay 1 >/dev/null 2>&1"
        foreach ($case in @(
                @{ Title = 'Watch-MptcpPackets -Duration 3, consumer 1 ms per object'; Pipeline = 'Watch-MptcpPackets -Port 5201 -Duration 3 | ForEach-Object { Start-Sleep -Milliseconds 1; $_ }' },
                @{ Title = 'Watch-MptcpPackets -Duration 30, consumer 2 ms per object'; Pipeline = 'Watch-MptcpPackets -Port 5201 -Duration 30 | ForEach-Object { Start-Sleep -Milliseconds 2; $_ }' },
                @{ Title = 'Watch-MptcpPackets -Duration 10 -Summary -SaveAs /dev/full'; Pipeline = 'Watch-MptcpPackets -Port 5201 -Duration 10 -Summary -SaveAs /dev/full' })) {
            $psi = [Diagnostics.ProcessStartInfo]::new('ip')
            foreach ($a in 'netns', 'exec', $lab.Client, 'sh', '-c', $send) { $psi.ArgumentList.Add($a) }
            $sender = [Diagnostics.Process]::Start($psi)
            try { Invoke-Attack $case.Title $case.Pipeline $lab.Client }
            finally { if (-not $sender.HasExited) { $sender.Kill($true); $null = $sender.WaitForExit(10000) } }
        }
    }
    finally { Remove-MptcpLab $lab }
}
finally {
    Remove-Item $work -Recurse -Force -ErrorAction Ignore
}
