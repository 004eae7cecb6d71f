# Installs what the tests (or the diagnosis) need on Debian or Ubuntu when run as root, and writes the
# names of the packages still missing to the pipeline (nothing when all is there). Without root, or
# without apt-get, it only names them.
param([ValidateSet('Test', 'Diagnose')] [string] $For = 'Test')
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

# package => how to tell it is installed
$needed = [ordered]@{
    iproute2   = { -not ('ip', 'ss', 'nstat' | Where-Object { -not (Get-Command $_ -CommandType Application -ErrorAction Ignore) }) }
    procps     = { [bool](Get-Command sysctl -CommandType Application -ErrorAction Ignore) }
    nftables   = { [bool](Get-Command nft -CommandType Application -ErrorAction Ignore) }
    iptables   = { [bool](Get-Command iptables-save -CommandType Application -ErrorAction Ignore) }
    libpcap    = { [bool](& ldconfig -p | Select-String -SimpleMatch 'libpcap.so.0.8') }
    tcpdump    = { [bool](Get-Command tcpdump -CommandType Application -ErrorAction Ignore) }
    mptcpd     = { Test-Path /usr/libexec/mptcpd }
    'mptcpd-plugins' = { [bool](Get-ChildItem /usr/lib/*/mptcpd/*.so -ErrorAction Ignore) }
    mptcpize   = { [bool](Get-Command mptcpize -CommandType Application -ErrorAction Ignore) }
    dbus       = { [bool](Get-Command dbus-daemon -CommandType Application -ErrorAction Ignore) }
    iperf3     = { [bool](Get-Command iperf3 -CommandType Application -ErrorAction Ignore) }
    'util-linux' = { -not ('setpriv', 'nsenter' | Where-Object { -not (Get-Command $_ -CommandType Application -ErrorAction Ignore) }) }
    # The container lab: Debian roots made with debootstrap, booted with systemd-nspawn.
    debootstrap = { [bool](Get-Command debootstrap -CommandType Application -ErrorAction Ignore) }
    'systemd-container' = { [bool](Get-Command systemd-nspawn -CommandType Application -ErrorAction Ignore) }
    # Real programs of the kinds Test-MptcpApplication tells apart: a Go program (built from tests/tools/GoProbe),
    # a statically linked one, a socket-activated one (systemd's own activator), and readelf to check its ELF reader.
    'golang-go' = { [bool](Get-Command go -CommandType Application -ErrorAction Ignore) }
    'busybox-static' = { "$(& dpkg-query -W -f='${Status}' busybox-static 2>$null)" -eq 'install ok installed' }
    systemd    = { [bool](Get-Command systemd-socket-activate -CommandType Application -ErrorAction Ignore) }
    binutils   = { [bool](Get-Command readelf -CommandType Application -ErrorAction Ignore) }
    # The reference for Measure-MptcpCapture's mapping and reinjection counts.
    tshark     = { [bool](Get-Command tshark -CommandType Application -ErrorAction Ignore) }
    # Two hosts reached over PowerShell remoting: a real sshd per lab namespace, and the ssh client New-PSSession runs.
    'openssh-server' = { Test-Path /usr/sbin/sshd }
    'openssh-client' = { -not ('ssh', 'ssh-keygen' | Where-Object { -not (Get-Command $_ -CommandType Application -ErrorAction Ignore) }) }
}

# The diagnosis only reads the host: it gets the libraries and read-only tools the module reads through,
# never a daemon (installing mptcpd would change how the host manages MPTCP).
$forDiagnosis = 'iproute2', 'libpcap', 'nftables', 'iptables'
$candidates = if ($For -eq 'Diagnose') { $forDiagnosis } else { $needed.Keys }
$missing = @($candidates | Where-Object { -not (& $needed[$_]) })
if (-not $missing) { return }

$isRoot = (& id -u) -eq '0'
$apt = Get-Command apt-get -CommandType Application -ErrorAction Ignore
if (-not $isRoot -or -not $apt) {
    $why = if (-not $isRoot) { 'not root' } else { 'no apt-get on this machine' }
    Write-Host "Prerequisites missing ($why): $($missing -join ', '). Install them with: sudo apt-get install $($missing -join ' ')" -ForegroundColor Yellow
    return $missing
}

# libpcap's package is libpcap0.8 on Debian 12 and libpcap0.8t64 on Ubuntu 24.04.
$packages = @(foreach ($name in $missing) {
    if ($name -eq 'libpcap') {
        if ((& apt-cache show libpcap0.8t64 2>$null)) { 'libpcap0.8t64' } else { 'libpcap0.8' }
    }
    else { $name }
})
$env:DEBIAN_FRONTEND = 'noninteractive'
# wireshark-common asks whether non-root users may capture; answer no in advance, so the install never waits on it.
if ('tshark' -in $packages -and (Get-Command debconf-set-selections -CommandType Application -ErrorAction Ignore)) {
    'wireshark-common wireshark-common/install-setuid boolean false' | & debconf-set-selections
}
& apt-get update -qq | Out-Host
# Install what this release has; a name it lacks (a split it does not make) must not sink the rest.
$available = @($packages | Where-Object { & apt-cache show $_ 2>$null | Select-String -Quiet '^Package:' })
$absent = @($packages | Where-Object { $_ -notin $available })
if ($absent) { Write-Host "Not in this release's archive: $($absent -join ', ')" -ForegroundColor Yellow }
Write-Host "Installing prerequisites ($For): $($available -join ' ')"
# openssh-server's package starts the machine's own sshd; the lab runs sshds of its own in its namespaces and never
# needs that one, so it is kept from starting during the install (Debian's policy-rc.d, only where none exists).
$policy = '/usr/sbin/policy-rc.d'
$holdSsh = 'openssh-server' -in $available -and -not (Test-Path $policy)
if ($holdSsh) {
    Set-Content $policy "#!/bin/sh`nfor a in `"`$@`"; do [ `"`$a`" = ssh ] && exit 101; done`nexit 0`n"
    & chmod 755 $policy
}
try {
    if ($available) { & apt-get install -y -qq --no-install-recommends @available | Out-Host }
}
finally {
    if ($holdSsh) { Remove-Item $policy -Force -ErrorAction Ignore }
}
$still = @($missing | Where-Object { -not (& $needed[$_]) })
if ($still) { Write-Host "Still missing after apt-get: $($still -join ', ')" -ForegroundColor Red }
return $still
