# The container lab: booted Debian systems, with systemd as their PID 1, a real system bus, a real
# mptcp.service (mptcpd) and a real NetworkManager, for the tests of what the module reads from and changes
# through those daemons. systemd-nspawn boots a root file system that tools/New-ContainerRoot.ps1 made once
# with debootstrap (cached under output/containers/, keyed by release and package list).
#
# Each container boots from an overlay of that cached root (its own upper directory), so what a test changes
# survives a reboot of the same container (Restart-MptcpContainer) and never reaches the cache. The built
# module, pwsh and the .NET runtime are bind-mounted read-only, and Invoke-ContainerCmdlet runs pwsh inside
# all of the container's namespaces, as an administrator of that host would. Every container has a name
# unique to this run (its PID and a random part), its own network namespace, and its own cgroup; it is
# powered off and its overlay, cgroup and files removed when the test ends, also when it fails, and
# containers of runs whose process is gone are removed before a new one boots. At most two of them run
# mptcpd at once (Debian's unit has DynamicUser=yes and LimitNPROC=1: every container's mptcpd is the same
# host UID), which the tests respect by booting them one release at a time.

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

Import-Module (Join-Path $PSScriptRoot 'MptcpLab.psm1')

$script:Prefix = 'mptc'
$script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
$script:Containers = [System.Collections.Generic.List[object]]::new()
$script:Releases = 'bookworm', 'trixie'
# Where the container sees what the host lends it.
$script:Inside = @{ Dotnet = '/opt/mptcptools/dotnet'; Pwsh = '/opt/mptcptools/pwsh'; Module = '/opt/mptcptools/MptcpTools'; Work = '/mnt/mptcptools' }

function Get-ContainerReleases { $script:Releases }

# The cached root of a release (tools/New-ContainerRoot.ps1 decides where; it makes it when missing).
function Get-ContainerRoot {
    param([Parameter(Mandatory)] [string] $Release, [switch] $PathOnly)
    & (Join-Path $script:RepoRoot 'tools/New-ContainerRoot.ps1') -Release $Release -PathOnly:$PathOnly
}

<#
.SYNOPSIS
    Why the container lab cannot run here, or $null. Under CI=true a reason is an error, not a skip.
#>
function Get-ContainerSkipReason {
    $reasons = [System.Collections.Generic.List[string]]::new()
    if ((& id -u) -ne '0') { $reasons.Add('the container lab needs root') }
    foreach ($tool in 'systemd-nspawn', 'debootstrap', 'nsenter', 'mount', 'ip') {
        if (-not (Get-Command $tool -CommandType Application -ErrorAction Ignore)) { $reasons.Add("'$tool' is not installed") }
    }
    if (-not (Test-Path /sys/fs/cgroup/unified/cgroup.procs) -and -not (Test-Path /sys/fs/cgroup/cgroup.procs)) { $reasons.Add('no cgroup hierarchy to give containers') }
    foreach ($release in $script:Releases) {
        $root = Get-ContainerRoot -Release $release -PathOnly
        if (-not (Test-Path (Join-Path (Split-Path $root) 'complete'))) { $reasons.Add("the $release root is not made ($root); build.ps1 -Task Test makes it") }
    }
    if ($reasons.Count -eq 0) { return $null }
    $text = $reasons -join '; '
    if ($env:CI -eq 'true') { throw "Container lab prerequisites missing under CI=true: $text" }
    Write-Host "Container tests skipped: $text" -ForegroundColor Yellow
    return $text
}

# The cgroup directories a container gets, one per hierarchy nspawn needs (the named systemd one on a hybrid host).
function Get-CgroupDirectories([string] $Name) {
    if (Test-Path /sys/fs/cgroup/unified/cgroup.procs) {
        $dirs = @("/sys/fs/cgroup/unified/$Name")
        if (Test-Path /sys/fs/cgroup/systemd/cgroup.procs) { $dirs += "/sys/fs/cgroup/systemd/$Name" }
        return $dirs
    }
    return @("/sys/fs/cgroup/$Name")
}

function Remove-CgroupDirectories([string] $Name) {
    foreach ($dir in Get-CgroupDirectories $Name) {
        if (-not (Test-Path $dir)) { continue }
        # Deepest first: supervisor/ and payload/ (made by --keep-unit), then the container's own.
        foreach ($d in @(Get-ChildItem $dir -Directory -Recurse -ErrorAction Ignore | Sort-Object { $_.FullName.Length } -Descending) + @(Get-Item $dir)) {
            [void](& rmdir $d.FullName 2>$null)
        }
    }
}

# The processes of the container's cgroup (for a power-off that did not finish).
function Get-CgroupProcesses([string] $Name) {
    foreach ($dir in Get-CgroupDirectories $Name) {
        if (Test-Path $dir) {
            Get-ChildItem $dir -Recurse -Filter cgroup.procs -ErrorAction Ignore | ForEach-Object { Get-Content $_.FullName -ErrorAction Ignore }
        }
    }
}

# Removes what runs whose pwsh is gone left behind: their containers, overlays and cgroups.
function Clear-StaleContainer {
    $base = [System.IO.Path]::GetTempPath()
    foreach ($dir in @(Get-ChildItem $base -Directory -Filter "$script:Prefix-*" -ErrorAction Ignore)) {
        if ($dir.Name -match "^$script:Prefix-(\d+)-[0-9a-f]+$" -and -not (Get-Process -Id ([int]$Matches[1]) -ErrorAction Ignore)) {
            Remove-ContainerFiles ([pscustomobject]@{ Name = $dir.Name; Dir = $dir.FullName; NSpawn = $null; Leader = 0 })
        }
    }
}

# Stops whatever still runs in the container's cgroup, unmounts its overlay, removes its files and cgroup.
function Remove-ContainerFiles($Container) {
    foreach ($procId in @(Get-CgroupProcesses $Container.Name)) {
        if ("$procId" -match '^\d+$') { Stop-Process -Id ([int]$procId) -Force -ErrorAction Ignore }
    }
    Start-Sleep -Milliseconds 200
    Remove-CgroupDirectories $Container.Name
    $merged = Join-Path $Container.Dir 'merged'
    if ((Get-Content /proc/self/mounts) -match [regex]::Escape(" $merged ")) { & umount -l $merged 2>$null }
    Remove-Item $Container.Dir -Recurse -Force -ErrorAction Ignore
}

# Boots the container's merged root (again, for a reboot) and waits until systemd says the system runs.
function Start-ContainerBoot($Container) {
    $log = Join-Path $Container.Dir "boot-$($Container.Boots).log"
    $Container.Boots++
    $cgroups = Get-CgroupDirectories $Container.Name
    foreach ($d in $cgroups) { New-Item -ItemType Directory -Path $d -Force | Out-Null }
    $binds = @(
        "--bind-ro=$((Resolve-Path (Split-Path ([Environment]::ProcessPath))).Path):$($script:Inside.Dotnet)"
        "--bind-ro=$($PSHOME):$($script:Inside.Pwsh)"
        "--bind-ro=$((Resolve-Path (Get-LabModulePath)).Path):$($script:Inside.Module)"
        "--bind=$(Join-Path $Container.Dir 'work'):$($script:Inside.Work)"
    )
    # The shell joins the container's own cgroups first, so nspawn's supervisor and payload cgroups are made
    # under them (--keep-unit) and go with them; setsid keeps the test's terminal out of the container.
    $join = ($cgroups | ForEach-Object { "echo `$`$ > '$_/cgroup.procs'" }) -join '; '
    $nspawn = @('systemd-nspawn', '-q', '-D', (Join-Path $Container.Dir 'merged'), '-M', $Container.Name, '-b', '--register=no', '--keep-unit',
        '--private-network', '--console=read-only') + $binds
    $quoted = ($nspawn | ForEach-Object { "'" + ($_ -replace "'", "'\''") + "'" }) -join ' '
    $psi = [System.Diagnostics.ProcessStartInfo]::new('sh')
    $psi.ArgumentList.Add('-c'); $psi.ArgumentList.Add("$join; exec setsid $quoted >'$log' 2>&1 </dev/null")
    $psi.UseShellExecute = $false
    $Container.NSpawn = [System.Diagnostics.Process]::Start($psi)
    $Container.Leader = 0
    $ownPidNs = "$(& readlink /proc/self/ns/pid)"
    $deadline = [DateTime]::UtcNow.AddSeconds(60)
    while ($Container.Leader -eq 0) {
        if ($Container.NSpawn.HasExited -or [DateTime]::UtcNow -gt $deadline) {
            throw "systemd-nspawn did not boot $($Container.Name) ($($Container.Release)): $((Get-Content $log -ErrorAction Ignore) -join "`n")"
        }
        foreach ($child in @(Get-Content "/proc/$($Container.NSpawn.Id)/task/$($Container.NSpawn.Id)/children" -ErrorAction Ignore) -split '\s+' | Where-Object { $_ }) {
            $ns = "$(& readlink "/proc/$child/ns/pid" 2>$null)"
            if ($ns -and $ns -ne $ownPidNs) { $Container.Leader = [int]$child }
        }
        Start-Sleep -Milliseconds 50
    }
    $state = ''
    while ($state -notin 'running', 'degraded') {
        if ([DateTime]::UtcNow -gt $deadline) {
            throw "$($Container.Name) did not finish booting (systemctl is-system-running: $state): $((Get-Content $log -ErrorAction Ignore) -join "`n")"
        }
        Start-Sleep -Milliseconds 100
        $state = "$(& nsenter -t $Container.Leader -m -p systemctl is-system-running 2>$null)".Trim()
    }
    $Container.Bus = "unix:path=/proc/$($Container.Leader)/root/run/dbus/system_bus_socket"
}

<#
.SYNOPSIS
    Boots a container of a release (bookworm or trixie) from an overlay of its cached root. -Prepare runs
    with the path of its root file system before the first boot (to write files into it). Returns the
    container: Name, Release, Leader (its PID 1 as the host sees it), Bus (its system bus from the host),
    Root (its root file system from the host).
#>
function Start-MptcpContainer {
    param([Parameter(Mandatory)] [ValidateSet('bookworm', 'trixie')] [string] $Release, [scriptblock] $Prepare)
    Clear-StaleContainer
    $name = '{0}-{1}-{2}' -f $script:Prefix, $PID, ([guid]::NewGuid().ToString('n').Substring(0, 6))
    $dir = Join-Path ([System.IO.Path]::GetTempPath()) $name
    $container = [pscustomobject]@{
        Name = $name; Release = $Release; Dir = $dir; Root = (Join-Path $dir 'merged'); Work = (Join-Path $dir 'work')
        NSpawn = $null; Leader = 0; Bus = $null; Boots = 0
    }
    $script:Containers.Add($container)
    try {
        $lower = Get-ContainerRoot -Release $Release -PathOnly
        if (-not (Test-Path (Join-Path (Split-Path $lower) 'complete'))) { throw "The $Release root is not made: run tools/New-ContainerRoot.ps1 -Release $Release" }
        foreach ($d in 'upper', 'ovl', 'merged', 'work') { New-Item -ItemType Directory -Path (Join-Path $dir $d) -Force | Out-Null }
        Invoke-LabNative mount '-t', 'overlay', 'overlay', '-o', "lowerdir=$lower,upperdir=$dir/upper,workdir=$dir/ovl", "$dir/merged" | Out-Null
        if ($Prepare) { & $Prepare $container.Root | Out-Null }
        Start-ContainerBoot $container
        return $container
    }
    catch {
        Remove-MptcpContainer $container
        throw
    }
}

<#
.SYNOPSIS
    Powers the container off cleanly (SIGRTMIN+4 to its systemd) and waits for it; its files stay.
#>
function Stop-MptcpContainer {
    param([Parameter(Mandatory)] $Container)
    $p = $Container.NSpawn
    if ($null -eq $p) { return }
    if (-not $p.HasExited -and $Container.Leader -gt 0) {
        & kill -s RTMIN+4 $Container.Leader 2>$null
        if (-not $p.WaitForExit(30000)) {
            # nspawn shuts the container down on SIGTERM too; then nothing is left to ask.
            & kill -s TERM $p.Id 2>$null
            if (-not $p.WaitForExit(10000)) { foreach ($procId in @(Get-CgroupProcesses $Container.Name)) { Stop-Process -Id ([int]$procId) -Force -ErrorAction Ignore } }
        }
    }
    $p.Dispose()
    $Container.NSpawn = $null
    $Container.Leader = 0
    Remove-CgroupDirectories $Container.Name
}

<#
.SYNOPSIS
    Powers the container off and boots it again on the same root file system: what a reboot of that host keeps.
#>
function Restart-MptcpContainer {
    param([Parameter(Mandatory)] $Container)
    Stop-MptcpContainer $Container
    Start-ContainerBoot $Container
}

<#
.SYNOPSIS
    Powers the container off and removes its overlay, files and cgroup. Safe to call twice.
#>
function Remove-MptcpContainer {
    param([Parameter(ValueFromPipeline)] $Container)
    process {
        if ($null -eq $Container) { return }
        try { Stop-MptcpContainer $Container } catch { Write-Warning "Stopping $($Container.Name): $_" }
        Remove-ContainerFiles $Container
        [void]$script:Containers.Remove($Container)
    }
}

<#
.SYNOPSIS
    Runs a command inside all of the container's namespaces (nsenter -t LEADER -a); throws when it fails
    unless -AllowFailure.
#>
function Invoke-InContainer {
    param([Parameter(Mandatory)] $Container, [Parameter(Mandatory)] [string] $Command, [string[]] $Arguments = @(), [switch] $AllowFailure)
    Invoke-LabNative -Command nsenter -Arguments (@('-t', "$($Container.Leader)", '-a', $Command) + $Arguments) -AllowFailure:$AllowFailure
}

# Waits until a command in the container prints what the test waits for (a unit's state after a start).
function Wait-InContainer {
    param([Parameter(Mandatory)] $Container, [Parameter(Mandatory)] [string] $Command, [string[]] $Arguments = @(),
        [Parameter(Mandatory)] [scriptblock] $Until, [int] $TimeoutSeconds = 30)
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    do {
        $out = Invoke-InContainer $Container $Command $Arguments -AllowFailure
        if (& $Until $out) { return $out }
        Start-Sleep -Milliseconds 200
    } while ([DateTime]::UtcNow -lt $deadline)
    throw "Waited $TimeoutSeconds s in $($Container.Name) for '$Command $($Arguments -join ' ')'; it last said: $($out -join ' ')"
}

<#
.SYNOPSIS
    Runs a script block in a fresh pwsh inside the container (all its namespaces: its root file system, its
    processes, its system bus, its network), with the built module imported, as an administrator of that
    host would; returns its objects and errors as Invoke-LabCmdlet does.
#>
function Invoke-ContainerCmdlet {
    param([Parameter(Mandatory)] $Container, [Parameter(Mandatory)] [scriptblock] $ScriptBlock, [object[]] $ArgumentList = @())
    $id = [guid]::NewGuid().ToString('n')
    $argsFile = Join-Path $Container.Work "$id-args.xml"; $resultFile = Join-Path $Container.Work "$id-result.xml"
    try {
        [System.Management.Automation.PSSerializer]::Serialize($ArgumentList, 5) | Set-Content -LiteralPath $argsFile
        $script = New-LabCmdletScript -ModulePath $script:Inside.Module -ArgsFile "$($script:Inside.Work)/$id-args.xml" `
            -ResultFile "$($script:Inside.Work)/$id-result.xml" -ScriptBlock $ScriptBlock
        $encoded = [Convert]::ToBase64String([System.Text.Encoding]::Unicode.GetBytes($script))
        $dotnet = "$($script:Inside.Dotnet)/$([System.IO.Path]::GetFileName([Environment]::ProcessPath))"
        $pwsh = if ([System.IO.Path]::GetFileNameWithoutExtension([Environment]::ProcessPath) -eq 'dotnet') { @($dotnet, "$($script:Inside.Pwsh)/pwsh.dll") } else { @($dotnet) }
        # A clean environment, as a login on that host has; ICU is not in the minimal root, so invariant globalization.
        $command = @('nsenter', '-t', "$($Container.Leader)", '-a', 'env', '-i', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
            'HOME=/root', 'TERM=dumb', "DOTNET_ROOT=$($script:Inside.Dotnet)", 'DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1', 'DOTNET_CLI_TELEMETRY_OPTOUT=1',
            'POWERSHELL_TELEMETRY_OPTOUT=1', 'POWERSHELL_UPDATECHECK=Off') + $pwsh + @('-NoLogo', '-NoProfile', '-NonInteractive', '-EncodedCommand', $encoded)
        $console = & $command[0] @($command | Select-Object -Skip 1) 2>&1
        if (-not (Test-Path $resultFile)) { throw "pwsh in $($Container.Name) produced no result: $($console -join "`n")" }
        $result = [System.Management.Automation.PSSerializer]::Deserialize((Get-Content -LiteralPath $resultFile -Raw))
        [pscustomobject]@{ Output = @($result.Output); Errors = @($result.Errors) }
    }
    finally { Remove-Item $argsFile, $resultFile -ErrorAction Ignore }
}

# Whatever happens to the test run, the containers this process booted go with it.
$ExecutionContext.SessionState.Module.OnRemove = { foreach ($c in @($script:Containers)) { Remove-MptcpContainer $c } }
Register-EngineEvent -SourceIdentifier PowerShell.Exiting -Action { foreach ($c in @($script:Containers)) { Remove-MptcpContainer $c } } | Out-Null

Export-ModuleMember -Function Get-ContainerReleases, Get-ContainerRoot, Get-ContainerSkipReason, Start-MptcpContainer, Stop-MptcpContainer,
    Restart-MptcpContainer, Remove-MptcpContainer, Invoke-InContainer, Wait-InContainer, Invoke-ContainerCmdlet, Clear-StaleContainer
