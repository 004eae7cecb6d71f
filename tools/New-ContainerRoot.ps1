# Makes (once) the Debian root file system that the container lab boots with systemd-nspawn, and writes its
# path. Roots are cached under output/containers/, keyed by release and package list: a root whose key
# matches is reused, any other is made anew with debootstrap from the Debian archive this machine's apt
# sources name (read here at run time, never written into the repository).
#   tools/New-ContainerRoot.ps1 -Release bookworm            # make it if missing, write its path
#   tools/New-ContainerRoot.ps1 -Release trixie -PathOnly    # only write where it is (or would be)
param(
    [Parameter(Mandatory)] [ValidateSet('bookworm', 'trixie')] [string] $Release,
    [string] $CacheRoot = (Join-Path $PSScriptRoot '../output/containers'),
    [switch] $PathOnly
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

# What every container needs: systemd as PID 1 and its bus, mptcpd with its plug-ins (only a Recommends of
# mptcpd: without them mptcp.service fails at boot), NetworkManager, and iproute2 and procps to compare with.
# libpam-systemd: polkitd (pulled in by NetworkManager) depends on a logind.
$packages = @('systemd', 'systemd-sysv', 'libpam-systemd', 'dbus', 'mptcpd', 'mptcpd-plugins', 'network-manager', 'iproute2', 'procps') | Sort-Object
$variant = 'minbase'
$keyText = "$Release|$variant|$($packages -join ',')"
$hash = [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes($keyText))).Substring(0, 12).ToLowerInvariant()
$cache = [IO.Path]::GetFullPath($CacheRoot)
$dir = Join-Path $cache "$Release-$hash"
$root = Join-Path $dir 'root'
if ($PathOnly -or (Test-Path (Join-Path $dir 'complete'))) { return $root }

# The archive URI of the host's own release in the apt sources (one-line and deb822 formats alike).
function Get-DebianMirror {
    $codename = (Get-Content /etc/os-release | Where-Object { $_ -like 'VERSION_CODENAME=*' }) -replace '^VERSION_CODENAME=', '' -replace '"', ''
    $entries = [Collections.Generic.List[object]]::new()
    foreach ($file in @(Get-Item /etc/apt/sources.list -ErrorAction Ignore) + @(Get-ChildItem /etc/apt/sources.list.d -File -ErrorAction Ignore)) {
        $text = Get-Content -LiteralPath $file.FullName -Raw
        if (-not $text) { continue }
        if ($file.Name -like '*.sources') {
            foreach ($stanza in $text -split "\r?\n\s*\r?\n") {
                $fields = @{}
                foreach ($line in $stanza -split "\r?\n") {
                    if ($line -match '^\s*#') { continue }
                    if ($line -match '^([A-Za-z-]+):\s*(.*)$') { $fields[$Matches[1].ToLowerInvariant()] = $Matches[2] }
                }
                if ($fields['types'] -notmatch '\bdeb\b' -or -not $fields['uris']) { continue }
                foreach ($uri in $fields['uris'] -split '\s+') {
                    $entries.Add([pscustomobject]@{ Uri = $uri; Suites = @($fields['suites'] -split '\s+'); Components = @("$($fields['components'])" -split '\s+') })
                }
            }
        }
        elseif ($file.Name -like '*.list') {
            foreach ($line in $text -split "\r?\n") {
                if ($line -match '^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.*)$') {
                    $entries.Add([pscustomobject]@{ Uri = $Matches[1]; Suites = @($Matches[2]); Components = @($Matches[3] -split '\s+') })
                }
            }
        }
    }
    $mirror = $entries | Where-Object { $_.Suites -contains $codename -and $_.Components -contains 'main' } | Select-Object -First 1
    if (-not $mirror) { throw "No apt source of this machine serves '$codename main': cannot tell which Debian archive to debootstrap from." }
    $mirror.Uri
}

foreach ($tool in 'debootstrap', 'systemd-nspawn') {
    if (-not (Get-Command $tool -CommandType Application -ErrorAction Ignore)) { throw "'$tool' is not installed (packages debootstrap, systemd-container)." }
}
New-Item -ItemType Directory -Path $cache -Force | Out-Null
# Roots of another key (an older package list) go: they are never used again.
Get-ChildItem $cache -Directory -Filter "$Release-*" | Where-Object Name -ne "$Release-$hash" | Remove-Item -Recurse -Force -ErrorAction Ignore

$building = Join-Path $cache ".building-$Release-$PID"
if (Test-Path $building) { Remove-Item $building -Recurse -Force }
$mirror = Get-DebianMirror
$started = [DateTime]::UtcNow
Write-Host "Making the $Release container root with debootstrap ($($packages.Count) packages); it is cached in $dir"
$log = Join-Path $cache "$Release-debootstrap.log"
& debootstrap "--variant=$variant" "--include=$($packages -join ',')" $Release (Join-Path $building 'root') $mirror *> $log
if ($LASTEXITCODE -ne 0) {
    $tail = (Get-Content $log -Tail 15) -join "`n"
    Remove-Item $building -Recurse -Force -ErrorAction Ignore
    throw "debootstrap $Release failed ($LASTEXITCODE); the end of $log`:`n$tail"
}
# An empty machine-id: systemd makes a new one at each boot, so no two containers share one.
Set-Content -LiteralPath (Join-Path $building 'root/etc/machine-id') -Value '' -NoNewline
Remove-Item (Join-Path $building 'root/var/cache/apt/archives/*.deb') -Force -ErrorAction Ignore
Set-Content -LiteralPath (Join-Path $building 'key') -Value $keyText
Set-Content -LiteralPath (Join-Path $building 'complete') -Value ([DateTime]::UtcNow.ToString('o'))
if (Test-Path $dir) { Remove-Item $dir -Recurse -Force }
Move-Item $building $dir
Write-Host ("Made the $Release root in {0:0} s" -f ([DateTime]::UtcNow - $started).TotalSeconds)
$root
