# Installs what the tests need on Debian or Ubuntu when run as root, and writes the names of the
# packages still missing to the pipeline (nothing when all is there). Without root it only names them.
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

# package => how to tell it is installed
$needed = [ordered]@{
    iproute2   = { Get-Command ip, ss, nstat -CommandType Application -ErrorAction Ignore | Measure-Object | ForEach-Object { $_.Count -eq 3 } }
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
    'util-linux' = { [bool](Get-Command setpriv -CommandType Application -ErrorAction Ignore) }
}

$missing = @($needed.Keys | Where-Object { -not (& $needed[$_]) })
if (-not $missing) { return }

$isRoot = (& id -u) -eq '0'
$apt = Get-Command apt-get -CommandType Application -ErrorAction Ignore
if (-not $isRoot -or -not $apt) {
    $why = if (-not $isRoot) { 'not root' } else { 'no apt-get on this machine' }
    Write-Host "Test prerequisites missing ($why): $($missing -join ', '). Install them with: sudo apt-get install $($missing -join ' ')" -ForegroundColor Yellow
    return $missing
}

# libpcap's package is libpcap0.8 on Debian 12 and libpcap0.8t64 on Ubuntu 24.04.
$packages = foreach ($name in $missing) {
    if ($name -eq 'libpcap') {
        if ((& apt-cache show libpcap0.8t64 2>$null)) { 'libpcap0.8t64' } else { 'libpcap0.8' }
    }
    else { $name }
}
Write-Host "Installing test prerequisites: $($packages -join ' ')"
$env:DEBIAN_FRONTEND = 'noninteractive'
& apt-get update -qq | Out-Host
& apt-get install -y -qq --no-install-recommends @packages | Out-Host
$still = @($missing | Where-Object { -not (& $needed[$_]) })
if ($still) { Write-Host "Still missing after apt-get: $($still -join ', ')" -ForegroundColor Red }
return $still
