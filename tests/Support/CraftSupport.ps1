# Crafted captures for the hostile-input tests, from tests/tools/CaptureFuzzer (built by build.ps1 -Task Test into
# output/tools/CaptureFuzzer): its classes are loaded here, so a test writes exactly the bytes it means.
$script:FuzzerDll = Join-Path $PSScriptRoot '../../output/tools/CaptureFuzzer/CaptureFuzzer.dll'
if (-not (Test-Path $script:FuzzerDll)) { throw "The capture fuzzer is not built ($script:FuzzerDll): run build.ps1 -Task Test." }
Add-Type -Path $script:FuzzerDll

# One MPTCP v1 connection (handshake, a join, data, signalling, close), as timed segments, from a seed.
function New-CraftedConnection([int] $Seed = 1, [switch] $IPv6, [long] $Start = [CaptureFuzzer.Scenario]::Start, [int] $ClientPort = 40000) {
    [CaptureFuzzer.Scenario]::Connection([Random]::new($Seed), [bool]$IPv6, $Start, [uint16]$ClientPort)
}

# A classic pcap of timed segments; -Stamps replaces the timestamp of frame i with (seconds, fraction).
function Write-CraftedPcap([string] $Path, $Segments, [int] $LinkType = 1, [switch] $Nanoseconds, [hashtable] $Stamps = @{}) {
    $file = [CaptureFuzzer.PcapFile]::Create($Path, $LinkType, [bool]$Nanoseconds, $false)
    try {
        $i = 0
        foreach ($t in $Segments) {
            $bytes = [CaptureFuzzer.Link]::Wrap($LinkType, $t.Segment.ToIp())
            if ($Stamps.ContainsKey($i)) { $file.Write([uint32]$Stamps[$i][0], [uint32]$Stamps[$i][1], $bytes, $null, $null) }
            else { $file.Write([long]$t.Microseconds, $bytes) }
            $i++
        }
    }
    finally { $file.Dispose() }
}

# A pcapng of timed segments: -Options for the interface (9 if_tsresol, 14 if_tsoffset), -Stamps raw 64-bit timestamps by frame.
function Write-CraftedPcapNg([string] $Path, $Segments, [int] $LinkType = 1, [object[]] $Options = @(), [hashtable] $Stamps = @{}) {
    $file = [CaptureFuzzer.PcapNgFile]::Create($Path, $false)
    try {
        $opts = [System.ValueTuple[uint16, byte[]][]]@($Options | ForEach-Object { [System.ValueTuple[uint16, byte[]]]::new([uint16]$_[0], [byte[]]$_[1]) })
        $file.Interface($LinkType, 262144, $opts)
        $i = 0
        foreach ($t in $Segments) {
            $stamp = if ($Stamps.ContainsKey($i)) { [uint64]$Stamps[$i] } else { [uint64]$t.Microseconds }
            $file.Packet(0, $stamp, [CaptureFuzzer.Link]::Wrap($LinkType, $t.Segment.ToIp()), $null, $null)
            $i++
        }
    }
    finally { $file.Dispose() }
}

# A flood capture (addaddr, removeaddr, connections, synflood, joins, prio, coverage, longcapture) of Count segments.
function New-FloodCapture([string] $Kind, [long] $Count, [string] $Path) {
    [CaptureFuzzer.Floods]::Write($Kind, $Count, $Path) | Out-Null
    $Path
}
