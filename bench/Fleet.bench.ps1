# Benchmark: Invoke-MptcpDiagnosis across a fleet over SSH, and Test-MptcpPath on a healthy two-path pair.
#  - Fleet: 20 lab hosts (a network namespace each, its own sshd with pwsh as the PowerShell subsystem), diagnosed
#    from the lab's router namespace with -HostName and -ThrottleLimit 20; against the same 20 hosts in turn
#    (-ThrottleLimit 1), and against one local diagnosis (the same command in one host's namespace, no remoting): the
#    difference per host is what remoting costs (ssh, a pwsh started on the host, the module imported there).
#  - Path: Test-MptcpPath from the lab's client to its server (two client paths), the session already open; goal: under 10 s.
#   dotnet pwsh ./build.ps1 -Task Build; dotnet pwsh ./bench/Fleet.bench.ps1 [-Hosts 20] [-PathRuns 3]
# Traffic stays between the namespaces this script makes (192.0.2.100-179, /30 links to the router), all removed at the end.
param([int] $Hosts = 20, [int] $PathRuns = 3)
$ErrorActionPreference = 'Stop'
if ($Hosts -lt 1 -or $Hosts -gt 20) { throw '-Hosts is 1 to 20 (the /30 links fit in 192.0.2.100-179).' }
$root = Resolve-Path (Join-Path $PSScriptRoot '..')
Import-Module (Join-Path $root 'tests/Lab/MptcpLab.psm1') -Force
$noBus = 'unix:path=/nonexistent'

$lab = New-MptcpLab
$extra = [System.Collections.Generic.List[string]]::new()
try {
    # The fleet: host i in its own namespace, linked to the router by a /30 (more specific than the router's 192.0.2.0/24).
    $fleet = foreach ($i in 0..($Hosts - 1)) {
        $ns = '{0}-h{1:d2}' -f $lab.Id, $i
        $hostAddress = "192.0.2.$(100 + 4 * $i + 2)"; $routerAddress = "192.0.2.$(100 + 4 * $i + 1)"
        Invoke-LabNative ip 'netns', 'add', $ns | Out-Null
        $extra.Add($ns)
        Invoke-LabNative ip '-n', $ns, 'link', 'set', 'lo', 'up' | Out-Null
        Invoke-LabNative ip '-n', $ns, 'link', 'add', 'h0', 'type', 'veth', 'peer', 'name', "f$i", 'netns', $lab.Router | Out-Null
        Invoke-LabNative ip '-n', $ns, 'addr', 'add', "$hostAddress/30", 'dev', 'h0' | Out-Null
        Invoke-LabNative ip '-n', $ns, 'link', 'set', 'h0', 'up' | Out-Null
        Invoke-LabNative ip '-n', $lab.Router, 'addr', 'add', "$routerAddress/30", 'dev', "f$i" | Out-Null
        Invoke-LabNative ip '-n', $lab.Router, 'link', 'set', "f$i", 'up' | Out-Null
        Invoke-LabNative ip '-n', $ns, 'route', 'add', 'default', 'via', $routerAddress | Out-Null
        Invoke-InNamespace $ns sysctl '-qw', 'net.mptcp.enabled=1' | Out-Null
        Start-LabSshd $lab $ns $hostAddress
    }
    $p = $fleet[0].SessionParameters
    $addresses = @($fleet | ForEach-Object Address)

    $fleetRun = Invoke-LabCmdlet $lab.Router {
        param($hosts, $p, $bus)
        $common = @{ UserName = 'root'; KeyFilePath = $p.KeyFilePath; Options = $p.Options; BusAddress = $bus; ConnectingTimeout = 120 }
        $w = [Diagnostics.Stopwatch]::StartNew()
        $parallel = @(Invoke-MptcpDiagnosis -HostName $hosts -ThrottleLimit $hosts.Count @common)
        $parallelSeconds = $w.Elapsed.TotalSeconds
        $w.Restart()
        $inTurn = @(Invoke-MptcpDiagnosis -HostName $hosts -ThrottleLimit 1 @common)
        $inTurnSeconds = $w.Elapsed.TotalSeconds
        [pscustomobject]@{
            ParallelSeconds = $parallelSeconds; InTurnSeconds = $inTurnSeconds
            ParallelHosts = @($parallel.ComputerName | Sort-Object -Unique).Count; InTurnHosts = @($inTurn.ComputerName | Sort-Object -Unique).Count
            Unreachable = @(($parallel + $inTurn) | Where-Object { $_.Id -in 'HostUnreachable', 'ModuleMissingOnHost' } | ForEach-Object { "$($_.Id) $($_.ComputerName): $($_.Summary)" })
        }
    } -ArgumentList $addresses, $p, $noBus
    if ($fleetRun.Errors) { throw "The fleet run failed: $($fleetRun.Errors | ForEach-Object Message)" }
    $f = $fleetRun.Output[0]

    # One local diagnosis in a host's namespace: the first in a fresh pwsh (as a remote host runs it), then warm.
    $local = Invoke-LabCmdlet $fleet[0].Namespace {
        param($bus)
        $w = [Diagnostics.Stopwatch]::StartNew(); Invoke-MptcpDiagnosis -BusAddress $bus | Out-Null; $first = $w.Elapsed.TotalSeconds
        $w.Restart(); foreach ($i in 1..3) { Invoke-MptcpDiagnosis -BusAddress $bus | Out-Null }; $warm = $w.Elapsed.TotalSeconds / 3
        [pscustomobject]@{ First = $first; Warm = $warm }
    } -ArgumentList $noBus
    $l = $local.Output[0]

    # Test-MptcpPath on the healthy pair: the client's two subflow endpoints to the server, over a session opened first.
    $serverSsh = Start-LabSshd $lab $lab.Server $lab.Addresses.ServerAddress
    $path = Invoke-LabCmdlet $lab.Client {
        param($session, $runs, $bus)
        $w = [Diagnostics.Stopwatch]::StartNew(); $s = New-PSSession @session; $open = $w.Elapsed.TotalSeconds
        try {
            foreach ($i in 1..$runs) {
                $w.Restart(); $t = Test-MptcpPath -Server $s -Detailed -BusAddress $bus; $seconds = $w.Elapsed.TotalSeconds
                [pscustomobject]@{ Open = $open; Seconds = $seconds; Paths = @($t.Paths | ForEach-Object { "$($_.Kind) $($_.From) $($_.Outcome)" }) -join ', ' }
            }
        }
        finally { Remove-PSSession $s }
    } -ArgumentList $serverSsh.SessionParameters, $PathRuns, $noBus
    if ($path.Errors) { throw "Test-MptcpPath failed: $($path.Errors | ForEach-Object Message)" }

    $perHostParallel = $f.ParallelSeconds / $Hosts
    $perHostInTurn = $f.InTurnSeconds / $Hosts
    [ordered]@{
        'Hosts'                                      = $Hosts
        'Hosts answered (parallel / in turn)'        = "$($f.ParallelHosts) / $($f.InTurnHosts)"
        'Unreachable or without the module'          = if ($f.Unreachable) { $f.Unreachable -join '; ' } else { 'none' }
        "-ThrottleLimit $Hosts, total (s)"           = [math]::Round($f.ParallelSeconds, 2)
        "-ThrottleLimit $Hosts, per host (s)"        = [math]::Round($perHostParallel, 2)
        'In turn (-ThrottleLimit 1), total (s)'      = [math]::Round($f.InTurnSeconds, 2)
        'In turn, per host (s)'                      = [math]::Round($perHostInTurn, 2)
        'Speed-up (in turn / parallel)'              = [math]::Round($f.InTurnSeconds / $f.ParallelSeconds, 2)
        'One local diagnosis, first in a pwsh (s)'   = [math]::Round($l.First, 2)
        'One local diagnosis, warm (s)'              = [math]::Round($l.Warm, 2)
        'Remoting overhead per host, in turn (s)'    = [math]::Round($perHostInTurn - $l.Warm, 2)
        'Ratio (in turn per host / local warm)'      = [math]::Round($perHostInTurn / $l.Warm, 1)
        'Test-MptcpPath: session opened in (s)'      = [math]::Round(@($path.Output)[0].Open, 2)
        'Test-MptcpPath runs (s)'                    = (@($path.Output) | ForEach-Object { [math]::Round($_.Seconds, 2) }) -join ', '
        'Test-MptcpPath paths'                       = @($path.Output)[0].Paths
        'Test-MptcpPath under 10 s (every run)'      = -not @($path.Output | Where-Object Seconds -ge 10)
    } | ForEach-Object { [pscustomobject]$_ } | Format-List | Out-String -Width 200
}
finally {
    Remove-MptcpLab $lab
    foreach ($ns in $extra) {
        foreach ($procId in @(Invoke-LabNative ip 'netns', 'pids', $ns -AllowFailure)) {
            if ("$procId" -match '^\d+$') { Stop-Process -Id ([int]$procId) -Force -ErrorAction Ignore }
        }
        Invoke-LabNative ip 'netns', 'del', $ns -AllowFailure | Out-Null
    }
}
