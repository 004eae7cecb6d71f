# The namespace lab: real topologies out of network namespaces, for every test that needs a kernel.
#
#   client ==(path 1: 192.0.2.0/24, 2001:db8:1::/64)==  router  ==(203.0.113.0/24, 2001:db8:3::/64)== server
#          ==(path 2: 198.51.100.0/24, 2001:db8:2::/64)==
#
# The client reaches the server over path 1 by default and over path 2 through source-based routing
# (rule "from <path-2 address> table 100"). Every name carries this process's PID and a random part, so
# two runs never collide; namespaces of runs whose process is gone are swept before a new lab is built.
# Only documentation addresses are used, and traffic never leaves the lab's namespaces.

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$script:Prefix = 'mptl'
$script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
. (Join-Path $script:RepoRoot 'tools/common.ps1')   # Get-PwshCommand
$script:Labs = [System.Collections.Generic.List[object]]::new()

$script:Addresses = [ordered]@{
    ClientPath1   = '192.0.2.2';    RouterPath1   = '192.0.2.1'
    ClientPath2   = '198.51.100.2'; RouterPath2   = '198.51.100.1'
    ServerAddress = '203.0.113.2';  RouterServer  = '203.0.113.1'
    ClientPath1V6 = '2001:db8:1::2'; RouterPath1V6 = '2001:db8:1::1'
    ClientPath2V6 = '2001:db8:2::2'; RouterPath2V6 = '2001:db8:2::1'
    ServerV6      = '2001:db8:3::2'; RouterServerV6 = '2001:db8:3::1'
}

function Get-LabModulePath {
    if ($env:MPTCPTOOLS_MODULE) { return $env:MPTCPTOOLS_MODULE }
    return Join-Path $script:RepoRoot 'output/MptcpTools'
}

function Get-LabPeerPath { Join-Path $script:RepoRoot 'output/tools/MptcpPeer/MptcpPeer' }

<#
.SYNOPSIS
    Why the lab cannot run here, or $null when it can. Under CI=true a reason is an error, not a skip.
#>
function Get-LabSkipReason {
    $reasons = [System.Collections.Generic.List[string]]::new()
    if ((& id -u) -ne '0') { $reasons.Add('the lab needs root (network namespaces, veth, nftables)') }
    foreach ($tool in 'ip', 'nft', 'iptables', 'ss', 'nstat', 'sysctl', 'setpriv', 'ssh', 'ssh-keygen') {
        if (-not (Get-Command $tool -CommandType Application -ErrorAction Ignore)) { $reasons.Add("'$tool' is not installed") }
    }
    if (-not (Test-Path /proc/sys/net/mptcp)) { $reasons.Add('this kernel has no MPTCP') }
    if (-not (Test-Path /usr/sbin/sshd)) { $reasons.Add("sshd is not installed (openssh-server)") }
    if (-not (Test-Path (Get-LabPeerPath))) { $reasons.Add("the lab peer is not built ($(Get-LabPeerPath)); run build.ps1 -Task Test") }
    if ($env:MPTCPTOOLS_MISSING) { $reasons.Add("missing packages: $($env:MPTCPTOOLS_MISSING)") }
    if ($reasons.Count -eq 0) { return $null }
    $text = $reasons -join '; '
    if ($env:CI -eq 'true') { throw "Lab prerequisites missing under CI=true: $text" }
    Write-Host "Lab tests skipped: $text" -ForegroundColor Yellow
    return $text
}

# Runs a native command; throws with its stderr when it fails.
function Invoke-LabNative {
    param([Parameter(Mandatory)] [string] $Command, [string[]] $Arguments = @(), [switch] $AllowFailure)
    $stderr = [System.IO.Path]::GetTempFileName()
    try {
        $out = & $Command @Arguments 2>$stderr
        if ($LASTEXITCODE -ne 0 -and -not $AllowFailure) {
            throw "'$Command $($Arguments -join ' ')' failed ($LASTEXITCODE): $(Get-Content $stderr -Raw)"
        }
        return $out
    }
    finally { Remove-Item $stderr -ErrorAction Ignore }
}

<#
.SYNOPSIS
    Runs a command inside a namespace: ip netns exec NS COMMAND ARGS.
#>
function Invoke-InNamespace {
    param([Parameter(Mandatory)] [string] $Namespace, [Parameter(Mandatory)] [string] $Command,
        [string[]] $Arguments = @(), [switch] $AllowFailure)
    Invoke-LabNative -Command ip -Arguments (@('netns', 'exec', $Namespace, $Command) + $Arguments) -AllowFailure:$AllowFailure
}

# Loads an nftables ruleset into a namespace: nft -f of a temporary file, removed after.
function Add-LabNftRules([string] $Namespace, [string] $Rules) {
    $file = [System.IO.Path]::GetTempFileName()
    try { Set-Content -LiteralPath $file -Value $Rules; Invoke-InNamespace $Namespace nft '-f', $file | Out-Null }
    finally { Remove-Item -LiteralPath $file -ErrorAction Ignore }
}

# Removes the namespaces (and their processes) of lab runs whose pwsh process no longer exists.
function Clear-StaleLab {
    foreach ($line in @(Invoke-LabNative -Command ip -Arguments 'netns', 'list' -AllowFailure)) {
        if ("$line" -match "^($script:Prefix-(\d+)-\S+)") {
            $name = $Matches[1]; $owner = [int]$Matches[2]
            if (-not (Get-Process -Id $owner -ErrorAction Ignore)) { Remove-LabNamespace $name }
        }
    }
    # The SSH material of those runs (their sshds went with their namespaces).
    foreach ($dir in Get-ChildItem ([System.IO.Path]::GetTempPath()) -Directory -Filter "$script:Prefix-*-ssh" -ErrorAction Ignore) {
        if ($dir.Name -match "^$script:Prefix-(\d+)-" -and -not (Get-Process -Id ([int]$Matches[1]) -ErrorAction Ignore)) {
            Remove-Item $dir.FullName -Recurse -Force -ErrorAction Ignore
        }
    }
}

function Remove-LabNamespace([string] $Name) {
    foreach ($procId in @(Invoke-LabNative -Command ip -Arguments 'netns', 'pids', $Name -AllowFailure)) {
        if ("$procId" -match '^\d+$') { Stop-Process -Id ([int]$procId) -Force -ErrorAction Ignore }
    }
    Invoke-LabNative -Command ip -Arguments 'netns', 'del', $Name -AllowFailure | Out-Null
}

<#
.SYNOPSIS
    Builds client, router and server namespaces joined by two paths. Returns the lab object.
.PARAMETER NoEndpoints
    Leave the client without MPTCP endpoints (and the limits at the kernel's defaults).
#>
function New-MptcpLab {
    param([switch] $NoEndpoints)
    Clear-StaleLab
    $id = '{0}-{1}-{2}' -f $script:Prefix, $PID, ([guid]::NewGuid().ToString('n').Substring(0, 6))
    $lab = [pscustomobject]@{
        Id         = $id
        Client     = "$id-c"
        Router     = "$id-r"
        Server     = "$id-s"
        Addresses  = [pscustomobject]$script:Addresses
        Processes  = [System.Collections.Generic.List[System.Diagnostics.Process]]::new()
    }
    $script:Labs.Add($lab)
    try {
        $a = $script:Addresses
        foreach ($ns in $lab.Client, $lab.Router, $lab.Server) {
            Invoke-LabNative ip 'netns', 'add', $ns | Out-Null
            Invoke-LabNative ip '-n', $ns, 'link', 'set', 'lo', 'up' | Out-Null
        }
        # veths are created inside the namespaces, so their names never meet another run's in the root namespace.
        $links = @(
            @($lab.Client, 'c0', $lab.Router, 'r0'),
            @($lab.Client, 'c1', $lab.Router, 'r1'),
            @($lab.Server, 's0', $lab.Router, 'r2')
        )
        foreach ($l in $links) {
            Invoke-LabNative ip '-n', $l[0], 'link', 'add', $l[1], 'type', 'veth', 'peer', 'name', $l[3], 'netns', $l[2] | Out-Null
        }
        $addresses = @(
            @($lab.Client, 'c0', "$($a.ClientPath1)/24", "$($a.ClientPath1V6)/64"),
            @($lab.Client, 'c1', "$($a.ClientPath2)/24", "$($a.ClientPath2V6)/64"),
            @($lab.Router, 'r0', "$($a.RouterPath1)/24", "$($a.RouterPath1V6)/64"),
            @($lab.Router, 'r1', "$($a.RouterPath2)/24", "$($a.RouterPath2V6)/64"),
            @($lab.Router, 'r2', "$($a.RouterServer)/24", "$($a.RouterServerV6)/64"),
            @($lab.Server, 's0', "$($a.ServerAddress)/24", "$($a.ServerV6)/64")
        )
        foreach ($x in $addresses) {
            Invoke-LabNative ip '-n', $x[0], 'addr', 'add', $x[2], 'dev', $x[1] | Out-Null
            Invoke-LabNative ip '-n', $x[0], 'addr', 'add', $x[3], 'dev', $x[1], 'nodad' | Out-Null
            Invoke-LabNative ip '-n', $x[0], 'link', 'set', $x[1], 'up' | Out-Null
        }
        Invoke-InNamespace $lab.Router sysctl '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1' | Out-Null
        $c = $lab.Client
        Invoke-LabNative ip '-n', $c, 'route', 'add', 'default', 'via', $a.RouterPath1, 'dev', 'c0' | Out-Null
        Invoke-LabNative ip '-n', $c, '-6', 'route', 'add', 'default', 'via', $a.RouterPath1V6, 'dev', 'c0' | Out-Null
        Invoke-LabNative ip '-n', $c, 'rule', 'add', 'from', $a.ClientPath2, 'table', '100' | Out-Null
        Invoke-LabNative ip '-n', $c, 'route', 'add', 'default', 'via', $a.RouterPath2, 'dev', 'c1', 'table', '100' | Out-Null
        Invoke-LabNative ip '-n', $c, '-6', 'rule', 'add', 'from', $a.ClientPath2V6, 'table', '100' | Out-Null
        Invoke-LabNative ip '-n', $c, '-6', 'route', 'add', 'default', 'via', $a.RouterPath2V6, 'dev', 'c1', 'table', '100' | Out-Null
        Invoke-LabNative ip '-n', $lab.Server, 'route', 'add', 'default', 'via', $a.RouterServer | Out-Null
        Invoke-LabNative ip '-n', $lab.Server, '-6', 'route', 'add', 'default', 'via', $a.RouterServerV6 | Out-Null
        foreach ($ns in $lab.Client, $lab.Server) {
            Invoke-InNamespace $ns sysctl '-qw', 'net.mptcp.enabled=1' | Out-Null
        }
        if (-not $NoEndpoints) {
            foreach ($ns in $lab.Client, $lab.Server) {
                Invoke-LabNative ip '-n', $ns, 'mptcp', 'limits', 'set', 'subflows', '2', 'add_addr_accepted', '2' | Out-Null
            }
            Invoke-LabNative ip '-n', $c, 'mptcp', 'endpoint', 'add', $a.ClientPath2, 'dev', 'c1', 'subflow' | Out-Null
            Invoke-LabNative ip '-n', $c, 'mptcp', 'endpoint', 'add', $a.ClientPath2V6, 'dev', 'c1', 'subflow' | Out-Null
        }
        return $lab
    }
    catch {
        Remove-MptcpLab $lab
        throw
    }
}

<#
.SYNOPSIS
    Stops the lab's processes and deletes its namespaces. Safe to call twice.
#>
function Remove-MptcpLab {
    param([Parameter(ValueFromPipeline)] $Lab)
    process {
        if ($null -eq $Lab) { return }
        foreach ($p in $Lab.Processes) {
            if (-not $p.HasExited) { try { $p.Kill($true) } catch { } }
            $p.Dispose()
        }
        $Lab.Processes.Clear()
        foreach ($ns in $Lab.Client, $Lab.Router, $Lab.Server) { Remove-LabNamespace $ns }
        Remove-Item (Join-Path ([System.IO.Path]::GetTempPath()) "$($Lab.Id)-dbus") -Recurse -Force -ErrorAction Ignore
        Remove-Item (Get-LabSshDirectory $Lab) -Recurse -Force -ErrorAction Ignore
        [void]$script:Labs.Remove($Lab)
    }
}

<#
.SYNOPSIS
    Starts the lab peer (MPTCP sink or source) in a namespace, in the background. For `serve` it waits
    until the peer listens; for `send` it returns the JSON line the peer prints once connected.
#>
function Start-LabPeer {
    param([Parameter(Mandatory)] $Lab, [Parameter(Mandatory)] [string] $Namespace,
        [Parameter(Mandatory)] [string[]] $Arguments, [int] $TimeoutSeconds = 20)
    $psi = [System.Diagnostics.ProcessStartInfo]::new('ip')
    foreach ($arg in @('netns', 'exec', $Namespace, (Get-LabPeerPath)) + $Arguments) { $psi.ArgumentList.Add($arg) }
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $psi.UseShellExecute = $false
    $process = [System.Diagnostics.Process]::Start($psi)
    $Lab.Processes.Add($process)
    $line = $process.StandardOutput.ReadLineAsync()
    if (-not $line.Wait([TimeSpan]::FromSeconds($TimeoutSeconds)) -or $null -eq $line.Result) {
        $err = if ($process.HasExited) { $process.StandardError.ReadToEnd() } else { 'no answer' }
        throw "lab peer '$($Arguments -join ' ')' in $Namespace did not start: $err"
    }
    [pscustomobject]@{
        Process = $process
        Pid     = $process.Id
        Line    = $line.Result
        Result  = if ($line.Result.StartsWith('{')) { $line.Result | ConvertFrom-Json } else { $null }
    }
}

<#
.SYNOPSIS
    Starts any program in a namespace in the background (iperf3, mptcpd, mptcpize run ...); the lab
    stops it when it is removed. Returns the process.
.PARAMETER KeepInputOpen
    Give it a standard input that stays open (and empty) until the lab is removed, for programs that end at
    the end of their input (busybox nc).
#>
function Start-LabProcess {
    param([Parameter(Mandatory)] $Lab, [Parameter(Mandatory)] [string] $Namespace,
        [Parameter(Mandatory)] [string] $Command, [string[]] $Arguments = @(), [switch] $KeepInputOpen)
    $psi = [System.Diagnostics.ProcessStartInfo]::new('ip')
    foreach ($arg in @('netns', 'exec', $Namespace, $Command) + $Arguments) { $psi.ArgumentList.Add($arg) }
    $psi.RedirectStandardInput = [bool]$KeepInputOpen
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $psi.UseShellExecute = $false
    $process = [System.Diagnostics.Process]::Start($psi)
    # Drain the output so a chatty program never blocks on a full pipe.
    $null = $process.StandardOutput.ReadToEndAsync()
    $null = $process.StandardError.ReadToEndAsync()
    $Lab.Processes.Add($process)
    return $process
}

<#
.SYNOPSIS
    Starts a private dbus-daemon for the lab (once) and, with -Scenario, the D-Bus stand-in that answers
    as systemd and NetworkManager from that scenario (a hashtable; see tests/tools/DBusStandIn). Returns
    @{ Address; StandIn }. The stand-in is a test double of the real daemons' interfaces, not the daemons.
#>
function Start-LabDBus {
    param([Parameter(Mandatory)] $Lab, [hashtable] $Scenario)
    $dir = Join-Path ([System.IO.Path]::GetTempPath()) "$($Lab.Id)-dbus"
    $bus = Join-Path $dir 'bus'
    if (-not (Test-Path $bus)) {
        New-Item -ItemType Directory -Path $dir -Force | Out-Null
        Set-Content (Join-Path $dir 'bus.conf') @"
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>
</busconfig>
"@
        Start-LabProcess $Lab $Lab.Client dbus-daemon '--config-file', (Join-Path $dir 'bus.conf'), '--nofork' | Out-Null
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        while (-not (Test-Path $bus) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
    }
    $standIn = $null
    if ($Scenario) {
        $file = Join-Path $dir "scenario-$([guid]::NewGuid().ToString('n')).json"
        $Scenario | ConvertTo-Json -Depth 6 | Set-Content $file
        $psi = [System.Diagnostics.ProcessStartInfo]::new((Join-Path $script:RepoRoot 'output/tools/DBusStandIn/DBusStandIn'))
        $psi.ArgumentList.Add("unix:path=$bus"); $psi.ArgumentList.Add($file)
        $psi.RedirectStandardOutput = $true; $psi.UseShellExecute = $false
        $standIn = [System.Diagnostics.Process]::Start($psi)
        $Lab.Processes.Add($standIn)
        if (-not $standIn.StandardOutput.ReadLineAsync().Wait(15000)) { throw 'the D-Bus stand-in did not start' }
    }
    [pscustomobject]@{ Address = "unix:path=$bus"; StandIn = $standIn }
}

# The run's SSH material (keys, known hosts, sshd configurations): a directory of the lab's own, never /etc/ssh or ~/.ssh.
function Get-LabSshDirectory($Lab) { Join-Path ([System.IO.Path]::GetTempPath()) "$($Lab.Id)-ssh" }

<#
.SYNOPSIS
    Starts a real sshd (Debian's openssh-server) in a namespace of the lab, with pwsh as its `powershell` subsystem,
    and returns how to reach it: SessionParameters splat into New-PSSession -HostName (from a namespace that routes
    to Address). Host keys, the client key, authorized_keys and known_hosts are made for the run in the lab's own
    directory; the sshd is a process of the lab, killed by PID when the lab is removed (and with its namespace).
.PARAMETER WithoutModule
    The subsystem's pwsh gets no module path to the built module: a host that lacks MptcpTools.
.PARAMETER SubsystemDelay
    Seconds the subsystem waits before pwsh starts: a slow host.
#>
function Start-LabSshd {
    param([Parameter(Mandatory)] $Lab, [Parameter(Mandatory)] [string] $Namespace, [Parameter(Mandatory)] [string[]] $Address,
        [switch] $WithoutModule, [double] $SubsystemDelay = 0, [int] $TimeoutSeconds = 20)
    $dir = Get-LabSshDirectory $Lab
    if (-not (Test-Path (Join-Path $dir 'client'))) {
        New-Item -ItemType Directory -Path $dir -Force | Out-Null
        Invoke-LabNative ssh-keygen '-q', '-t', 'ed25519', '-N', '', '-C', "mptcptools-lab-$($Lab.Id)", '-f', (Join-Path $dir 'client') | Out-Null
        Copy-Item (Join-Path $dir 'client.pub') (Join-Path $dir 'authorized_keys')
        # The module the subsystem's pwsh finds by name: a module directory holding only a link to the built module.
        $modules = New-Item -ItemType Directory -Path (Join-Path $dir 'modules') -Force
        New-Item -ItemType SymbolicLink -Path (Join-Path $modules 'MptcpTools') -Target (Get-LabModulePath) | Out-Null
        # sshd's privilege separation directory (Debian's unit makes it at boot; this machine may not have booted one).
        if (-not (Test-Path /run/sshd)) { New-Item -ItemType Directory -Path /run/sshd | Out-Null }
    }
    $name = "sshd-$Namespace-$([guid]::NewGuid().ToString('n').Substring(0, 6))"
    $hostKey = Join-Path $dir "$name-host"
    Invoke-LabNative ssh-keygen '-q', '-t', 'ed25519', '-N', '', '-C', $name, '-f', $hostKey | Out-Null
    $pwshCommand = Get-PwshCommand
    $pwsh = $pwshCommand[0]
    $pwshArgs = -join @($pwshCommand | Select-Object -Skip 1 | ForEach-Object { "'$_' " })
    $modulePath = if ($WithoutModule) { '' } else { "export PSModulePath='$(Join-Path $dir 'modules')'`n" }
    $subsystem = Join-Path $dir "$name-subsystem"
    $delay = if ($SubsystemDelay -gt 0) { "sleep $($SubsystemDelay.ToString([cultureinfo]::InvariantCulture))`n" } else { '' }
    Set-Content -LiteralPath $subsystem "#!/bin/sh`n$delay$($modulePath)exec '$pwsh' $($pwshArgs)-sshs -NoLogo -NoProfile`n"
    Invoke-LabNative chmod '755', $subsystem | Out-Null
    $config = Join-Path $dir "$name.conf"
    Set-Content -LiteralPath $config (@(
        $Address | ForEach-Object { "ListenAddress $_" }
        'Port 22'
        "HostKey $hostKey"
        "PidFile $(Join-Path $dir "$name.pid")"
        "AuthorizedKeysFile $(Join-Path $dir 'authorized_keys')"
        'PermitRootLogin prohibit-password', 'PubkeyAuthentication yes', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no'
        # The files live under /tmp (world-writable), which StrictModes refuses.
        'StrictModes no', 'UsePAM no', 'UseDNS no', 'LogLevel INFO', 'MaxStartups 100:30:200', 'MaxSessions 100'
        "Subsystem powershell $subsystem"
    ) -join "`n")
    $knownHosts = Join-Path $dir 'known_hosts'
    $hostPublic = ((Get-Content -LiteralPath "$hostKey.pub" -Raw).Trim() -split ' ')[0..1] -join ' '
    Add-Content -LiteralPath $knownHosts ($Address | ForEach-Object { "$_ $hostPublic" })

    # sshd logs to a file of the run (what a failing test can look at), and says there when it listens. It reads root's
    # account from a shadow file of the run, bound over /etc/shadow in a mount namespace of its own: key logins work
    # whatever state the machine's account database is in, and the machine's files are never touched.
    $shadow = Join-Path $dir 'shadow'
    if (-not (Test-Path $shadow)) { Set-Content -LiteralPath $shadow 'root:*:19000:0:99999:7:::' }
    $logFile = Join-Path $dir "$name.log"
    $process = Start-LabProcess $Lab $Namespace unshare '-m', 'sh', '-c', 'mount --bind "$1" /etc/shadow && exec /usr/sbin/sshd -D -E "$2" -f "$3"', 'sh',
        $shadow, $logFile, $config
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    while (@(Get-Content -LiteralPath $logFile -ErrorAction Ignore | Where-Object { $_ -match 'Server listening on ' }).Count -lt $Address.Count) {
        if ($process.HasExited -or [DateTime]::UtcNow -gt $deadline) {
            throw "sshd in $Namespace did not start: $((Get-Content -LiteralPath $logFile -ErrorAction Ignore) -join '; ')"
        }
        Start-Sleep -Milliseconds 50
    }
    [pscustomobject]@{
        Namespace         = $Namespace
        Address           = $Address[0]
        Addresses         = $Address
        Process           = $process
        Pid               = $process.Id
        LogFile           = $logFile
        KeyFilePath       = Join-Path $dir 'client'
        KnownHostsFile    = $knownHosts
        SessionParameters = @{
            HostName    = $Address[0]
            UserName    = 'root'
            KeyFilePath = Join-Path $dir 'client'
            # The run's own known hosts, checked strictly; nothing read from or written to ~/.ssh.
            Options     = @{ UserKnownHostsFile = $knownHosts; GlobalKnownHostsFile = '/dev/null'; StrictHostKeyChecking = 'yes'; UpdateHostKeys = 'no'; IdentitiesOnly = 'yes' }
        }
    }
}

<#
.SYNOPSIS
    The pwsh script Invoke-LabCmdlet runs (and the container lab's Invoke-ContainerCmdlet): it imports the
    module from ModulePath, runs the script block with the arguments serialized in ArgsFile, and writes its
    objects (property bags, enums by name) and errors to ResultFile. Paths are as the running pwsh sees them.
#>
function New-LabCmdletScript {
    param([Parameter(Mandatory)] [string] $ModulePath, [Parameter(Mandatory)] [string] $ArgsFile,
        [Parameter(Mandatory)] [string] $ResultFile, [Parameter(Mandatory)] [scriptblock] $ScriptBlock)
    @"
`$ErrorActionPreference = 'Continue'
Import-Module '$ModulePath'
`$__args = [System.Management.Automation.PSSerializer]::Deserialize((Get-Content -LiteralPath '$ArgsFile' -Raw))
`$__out = [System.Collections.Generic.List[object]]::new()
`$__err = [System.Collections.Generic.List[object]]::new()
# Serialisation turns enums into bare numbers and ErrorRecords into shells; carry names instead.
function ConvertTo-LabError(`$e) {
    [pscustomobject]@{
        PSTypeName = 'MptcpLab.ErrorRecord'
        FullyQualifiedErrorId = `$e.FullyQualifiedErrorId
        Category = "`$(`$e.CategoryInfo.Category)"
        TargetObject = if (`$null -ne `$e.TargetObject) { "`$(`$e.TargetObject)" } else { `$null }
        Message = `$e.Exception.Message
        ErrorDetails = if (`$e.ErrorDetails) { `$e.ErrorDetails.Message } else { `$null }
        RecommendedAction = if (`$e.ErrorDetails) { `$e.ErrorDetails.RecommendedAction } else { `$null }
    }
}
function ConvertTo-LabValue(`$v, [int] `$depth) {
    if (`$null -eq `$v) { return `$null }
    if (`$v -is [enum]) { return `$v.ToString() }
    if (`$v -is [string] -or `$v -is [ValueType] -or `$depth -gt 6) { return `$v }
    if (`$v -is [System.Collections.IDictionary]) { return `$v }
    if (`$v -is [System.Collections.IEnumerable]) { return ,@(foreach (`$item in `$v) { ConvertTo-LabValue `$item (`$depth + 1) }) }
    if (`$v.GetType().FullName -notlike 'MptcpTools.*') { return `$v }
    `$copy = [ordered]@{}
    foreach (`$p in `$v.PSObject.Properties) { `$copy[`$p.Name] = ConvertTo-LabValue `$p.Value (`$depth + 1) }
    `$r = [pscustomobject]`$copy
    `$r.PSTypeNames.Insert(0, `$v.GetType().FullName)
    `$r
}
function ConvertTo-LabObject(`$o) { ConvertTo-LabValue `$o 0 }
try {
    & { $ScriptBlock } @__args 2>&1 | ForEach-Object {
        if (`$_ -is [System.Management.Automation.ErrorRecord]) { `$__err.Add((ConvertTo-LabError `$_)) } else { `$__out.Add((ConvertTo-LabObject `$_)) }
    }
}
catch { `$__err.Add((ConvertTo-LabError `$_)) }
[System.Management.Automation.PSSerializer]::Serialize([pscustomobject]@{ Output = `$__out.ToArray(); Errors = `$__err.ToArray() }, 10) |
    Set-Content -LiteralPath '$ResultFile'
"@
}

<#
.SYNOPSIS
    Runs a script block in a fresh pwsh inside a namespace, with the built module imported, and returns
    its output and its errors. Objects come back as property bags (enums by name, the original type name
    first in PSTypeNames); errors as FullyQualifiedErrorId, Category, TargetObject, Message, ErrorDetails
    and RecommendedAction.
.PARAMETER DropCapability
    Capabilities to remove (bounding and inheritable sets) before pwsh starts, such as net_admin.
#>
function Invoke-LabCmdlet {
    param([Parameter(Mandatory)] [string] $Namespace, [Parameter(Mandatory)] [scriptblock] $ScriptBlock,
        [object[]] $ArgumentList = @(), [string[]] $DropCapability = @(),
        # Paths to bind over others for this call only, in a private mount namespace: @{ '/etc/sysctl.d' = $dir }
        [hashtable] $BindMount = @{})
    $work = Join-Path ([System.IO.Path]::GetTempPath()) "mptl-call-$([guid]::NewGuid().ToString('n'))"
    New-Item -ItemType Directory -Path $work | Out-Null
    try {
        $argsFile = Join-Path $work 'args.xml'; $resultFile = Join-Path $work 'result.xml'
        [System.Management.Automation.PSSerializer]::Serialize($ArgumentList, 5) | Set-Content -LiteralPath $argsFile
        $script = New-LabCmdletScript -ModulePath (Get-LabModulePath) -ArgsFile $argsFile -ResultFile $resultFile -ScriptBlock $ScriptBlock
        $encoded = [Convert]::ToBase64String([System.Text.Encoding]::Unicode.GetBytes($script))
        $pwshCommand = Get-PwshCommand
        $pwsh = $pwshCommand[0]
        $pwshArgs = @($pwshCommand | Select-Object -Skip 1)
        $pwshArgs += '-NoLogo', '-NoProfile', '-NonInteractive', '-EncodedCommand', $encoded
        $command = @('ip', 'netns', 'exec', $Namespace)
        if ($BindMount.Count) {
            $binds = foreach ($target in $BindMount.Keys) { $BindMount[$target]; $target }
            $command += @('unshare', '-m', 'sh', '-c', 'while [ "$1" != "--" ]; do mount --bind "$1" "$2" || exit 1; shift 2; done; shift; exec "$@"', 'sh') + $binds + @('--')
        }
        # Capabilities go last, right before pwsh: entering the namespace and mounting need CAP_SYS_ADMIN themselves.
        if ($DropCapability) {
            $drop = ($DropCapability | ForEach-Object { "-$_" }) -join ','
            $command += @('setpriv', "--inh-caps=$drop", "--bounding-set=$drop")
        }
        $command += @($pwsh) + $pwshArgs
        $console = & $command[0] @($command | Select-Object -Skip 1) 2>&1
        if (-not (Test-Path $resultFile)) { throw "pwsh in $Namespace produced no result: $($console -join "`n")" }
        $result = [System.Management.Automation.PSSerializer]::Deserialize((Get-Content -LiteralPath $resultFile -Raw))
        [pscustomobject]@{ Output = @($result.Output); Errors = @($result.Errors) }
    }
    finally { Remove-Item $work -Recurse -Force -ErrorAction Ignore }
}

# Whatever happens to the test run, the labs this process built go with it.
$ExecutionContext.SessionState.Module.OnRemove = { foreach ($lab in @($script:Labs)) { Remove-MptcpLab $lab } }
Register-EngineEvent -SourceIdentifier PowerShell.Exiting -Action { foreach ($lab in @($script:Labs)) { Remove-MptcpLab $lab } } | Out-Null

Export-ModuleMember -Function Get-LabSkipReason, Add-LabNftRules, Get-PwshCommand, New-MptcpLab, Remove-MptcpLab, Start-LabPeer, Invoke-LabCmdlet,
    Invoke-InNamespace, Invoke-LabNative, Clear-StaleLab, Get-LabModulePath, Get-LabPeerPath, Start-LabProcess, Start-LabDBus,
    New-LabCmdletScript, Start-LabSshd
