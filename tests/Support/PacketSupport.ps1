# Helpers for the packet tests: reading tcpdump's expected output into values, computing tokens the
# RFC way with .NET's own hashes, reading classic pcap files to re-encapsulate frames, and crafting
# frames and captures with the module's PacketDotNet-based TcpFrameBuilder.

function ConvertFrom-Hex([string] $Hex) {
    $clean = $Hex -replace '[^0-9a-fA-F]', ''
    return , [Convert]::FromHexString($clean)
}

function Get-KeyHash([uint64] $Key, [string] $Algorithm) {
    $bytes = [BitConverter]::GetBytes($Key)
    if ([BitConverter]::IsLittleEndian) { [Array]::Reverse($bytes) }
    if ($Algorithm -eq 'SHA1') { return , [Security.Cryptography.SHA1]::HashData($bytes) }
    return , [Security.Cryptography.SHA256]::HashData($bytes)
}

# RFC 8684 3.1: the token is the most significant 32 bits of the hash of the key.
function Get-ExpectedToken([uint64] $Key, [string] $Algorithm) {
    $h = Get-KeyHash $Key $Algorithm
    return [uint32](([uint32]$h[0] -shl 24) -bor ([uint32]$h[1] -shl 16) -bor ([uint32]$h[2] -shl 8) -bor [uint32]$h[3])
}

# ... and the initial data sequence number the least significant 64 bits.
function Get-ExpectedIdsn([uint64] $Key, [string] $Algorithm) {
    $h = Get-KeyHash $Key $Algorithm
    [uint64]$value = 0
    foreach ($b in $h[($h.Length - 8)..($h.Length - 1)]) { $value = ($value -shl 8) -bor $b }
    return $value
}

# Splits tcpdump's "options [ ... ]" list at the commas that are not inside brackets or braces.
function Split-TcpdumpOptions([string] $Text) {
    $items = [Collections.Generic.List[string]]::new()
    $depth = 0; $start = 0
    for ($i = 0; $i -lt $Text.Length; $i++) {
        switch ($Text[$i]) {
            { $_ -in '[', '{' } { $depth++ }
            { $_ -in ']', '}' } { $depth-- }
            ',' { if ($depth -eq 0) { $items.Add($Text.Substring($start, $i - $start)); $start = $i + 1 } }
        }
    }
    $items.Add($Text.Substring($start))
    return $items
}

$script:ResetReasons = @{
    'Unspecified error' = 'Unspecified'; 'MPTCP-specific error' = 'MptcpSpecificError'; 'Lack of resources' = 'LackOfResources'
    'Administratively prohibited' = 'AdministrativelyProhibited'; 'Too much outstanding data' = 'TooMuchOutstandingData'
    'Unacceptable performance' = 'UnacceptablePerformance'; 'Middlebox interference' = 'MiddleboxInterference'
}

# One tcpdump option text ("mptcp 12 dss ack 3502078703") into the values it states.
function ConvertFrom-TcpdumpOption([string] $Text) {
    $t = $Text.Trim()
    $m = $null
    if ($t -match '^mptcp (\d+) (\w[\w-]*)\[bad opt\]$') { return @{ Length = [int]$Matches[1]; Kind = $Matches[2]; Bad = $true } }
    if ($t -match '^mptcp (\d+) capable v(\d)(?: flags \[([A-H]*)\])?( csum)?(?: \{([^}]*)\})?$') {
        $r = @{ Length = [int]$Matches[1]; Kind = 'capable'; Version = [int]$Matches[2]; Letters = $Matches[3]; Csum = [bool]$Matches[4] }
        if ($Matches[5]) {
            $keys = @(); foreach ($part in $Matches[5] -split ',') {
                if ($part -match '^0x([0-9a-f]+)$') { $keys += [Convert]::ToUInt64($Matches[1], 16) }
                elseif ($part -match '^data_len=(\d+)$') { $r.DataLength = [int]$Matches[1] }
                elseif ($part -match '^csum=0x([0-9a-f]+)$') { $r.Checksum = [Convert]::ToUInt16($Matches[1], 16) }
                else { return $null }
            }
            $r.KeyValues = $keys
        }
        return $r
    }
    if ($t -match '^mptcp (\d+) join( backup)? id (\d+) token 0x([0-9a-f]+) nonce 0x([0-9a-f]+)$') {
        return @{ Length = [int]$Matches[1]; Kind = 'join'; Backup = [bool]$Matches[2]; Id = [int]$Matches[3]; Token = [Convert]::ToUInt32($Matches[4], 16); Nonce = [Convert]::ToUInt32($Matches[5], 16) }
    }
    if ($t -match '^mptcp (\d+) join( backup)? id (\d+) hmac 0x([0-9a-f]+) nonce 0x([0-9a-f]+)$') {
        return @{ Length = [int]$Matches[1]; Kind = 'join'; Backup = [bool]$Matches[2]; Id = [int]$Matches[3]; Hmac = $Matches[4].PadLeft(16, '0'); Nonce = [Convert]::ToUInt32($Matches[5], 16) }
    }
    if ($t -match '^mptcp (\d+) join hmac 0x([0-9a-f]+)$') { return @{ Length = [int]$Matches[1]; Kind = 'join'; Hmac = $Matches[2] } }
    if ($t -match '^mptcp (\d+) dss( fin)?(?: ack (\d+))?(?: seq (\d+) subseq (\d+) len (\d+)(?: csum 0x([0-9a-f]+))?)?$') {
        $r = @{ Length = [int]$Matches[1]; Kind = 'dss'; Fin = [bool]$Matches[2] }
        if ($Matches[3]) { $r.Ack = [uint64]$Matches[3] }
        if ($Matches[4]) { $r.Seq = [uint64]$Matches[4]; $r.SubSeq = [uint32]$Matches[5]; $r.Len = [int]$Matches[6] }
        if ($Matches[7]) { $r.Csum = [Convert]::ToUInt16($Matches[7], 16) }
        return $r
    }
    if ($t -match '^mptcp (\d+) add-addr v(0-ip4|0-ip6|1|1-echo) id (\d+) (\S+?)(?::(\d+))?(?: hmac 0x([0-9a-f]+))?$') {
        $r = @{ Length = [int]$Matches[1]; Kind = 'add-addr'; Version = [int]$Matches[2].Substring(0, 1); Echo = $Matches[2] -eq '1-echo'; Id = [int]$Matches[3]; Address = $Matches[4] }
        if ($Matches[5]) { $r.Port = [int]$Matches[5] }
        if ($Matches[6]) { $r.Hmac = [Convert]::ToUInt64($Matches[6], 16) }
        return $r
    }
    if ($t -match '^mptcp (\d+) rem-addr id ([\d ]+)$') { return @{ Length = [int]$Matches[1]; Kind = 'rem-addr'; Ids = @($Matches[2] -split ' ' | ForEach-Object { [int]$_ }) } }
    if ($t -match '^mptcp (\d+) prio (backup|non-backup)(?: id (\d+))?$') { return @{ Length = [int]$Matches[1]; Kind = 'prio'; Backup = $Matches[2] -eq 'backup' } }
    if ($t -match '^mptcp (\d+) fail seq (\d+)$') { return @{ Length = [int]$Matches[1]; Kind = 'fail'; Seq = [uint64]$Matches[2] } }
    if ($t -match '^mptcp (\d+) fast-close key 0x([0-9a-f]+)$') { return @{ Length = [int]$Matches[1]; Kind = 'fast-close'; Key = [Convert]::ToUInt64($Matches[2], 16) } }
    if ($t -match '^mptcp (\d+) tcprst flags \[([A-Za-z]*)\] reason (.+)$') {
        return @{ Length = [int]$Matches[1]; Kind = 'tcprst'; Transient = $Matches[2] -eq 'T'; Reason = $script:ResetReasons[$Matches[3]] }
    }
    return $null
}

# Reads a tcpdump .out file: frame number => the MPTCP options it printed, parsed into values.
function Read-TcpdumpExpectation([string] $Path) {
    $frames = [ordered]@{}; $all = [Collections.Generic.List[object]]::new(); $unparsed = [Collections.Generic.List[string]]::new()
    $current = $null; $text = @{}
    foreach ($line in Get-Content -LiteralPath $Path) {
        if ($line -match '^\s*(\d+)\s\s(.*)$') { $current = $Matches[1]; $text[$current] = $Matches[2] }
        elseif ($current) { $text[$current] += ' ' + $line.Trim() }
    }
    foreach ($frame in $text.Keys | Sort-Object { [int]$_ }) {
        $line = $text[$frame]
        $start = $line.IndexOf('options [')
        if ($start -lt 0) { continue }
        # The list ends at the bracket that closes "options [".
        $depth = 0; $end = -1
        for ($i = $start + 8; $i -lt $line.Length; $i++) {
            if ($line[$i] -in '[', '{') { $depth++ } elseif ($line[$i] -in ']', '}') { $depth--; if ($depth -eq 0) { $end = $i; break } }
        }
        $list = if ($end -gt 0) { $line.Substring($start + 9, $end - $start - 9) } else { $line.Substring($start + 9) }
        foreach ($item in Split-TcpdumpOptions $list) {
            if ($item.Trim() -notlike 'mptcp *') { continue }
            $parsed = ConvertFrom-TcpdumpOption $item
            if ($null -eq $parsed) { $unparsed.Add("frame ${frame}: $item"); continue }
            if (-not $frames.Contains($frame)) { $frames[$frame] = [Collections.Generic.List[object]]::new() }
            $frames[$frame].Add($parsed); $all.Add($parsed)
        }
    }
    return @{ Frames = $frames; Options = $all; Unparsed = $unparsed }
}

$script:KindOf = @{ capable = 'MpCapable'; join = 'MpJoin'; dss = 'Dss'; 'add-addr' = 'AddAddr'; 'rem-addr' = 'RemoveAddr'; prio = 'MpPrio'; fail = 'MpFail'; 'fast-close' = 'MpFastClose'; tcprst = 'MpTcpRst' }

# Compares one of our options with what tcpdump printed for it, value by value.
function Assert-SameOption($Ours, [hashtable] $Theirs, [string] $Frame) {
    $because = "frame $Frame, tcpdump: $($Theirs | ConvertTo-Json -Compress)"
    $Ours.Length | Should -Be $Theirs.Length -Because $because
    if ($Theirs.Bad) { $Ours.IsValid | Should -BeFalse -Because $because; return }
    $Ours.IsValid | Should -BeTrue -Because "$because; ours: $Ours"
    "$($Ours.Subtype)" | Should -Be $script:KindOf[$Theirs.Kind] -Because $because
    switch ($Theirs.Kind) {
        'capable' {
            $Ours.Version | Should -Be $Theirs.Version -Because $because
            if ($null -ne $Theirs.Letters) { $Ours.FlagLetters | Should -Be $Theirs.Letters -Because $because }
            if ($Theirs.Csum) { $Ours.ChecksumRequired | Should -BeTrue -Because $because }
            if ($Theirs.KeyValues) {
                $Ours.SenderKey | Should -Be $Theirs.KeyValues[0] -Because $because
                if ($Theirs.KeyValues.Count -gt 1) { $Ours.ReceiverKey | Should -Be $Theirs.KeyValues[1] -Because $because }
                else { $Ours.ReceiverKey | Should -BeNullOrEmpty -Because $because }
            }
            else { $Ours.SenderKey | Should -BeNullOrEmpty -Because $because }
            if ($Theirs.ContainsKey('DataLength')) { $Ours.DataLength | Should -Be $Theirs.DataLength -Because $because }
        }
        'join' {
            if ($Theirs.ContainsKey('Id')) { $Ours.AddressId | Should -Be $Theirs.Id -Because $because; $Ours.Backup | Should -Be $Theirs.Backup -Because $because }
            if ($Theirs.ContainsKey('Token')) { $Ours.Token | Should -Be $Theirs.Token -Because $because }
            if ($Theirs.ContainsKey('Nonce')) { $Ours.Nonce | Should -Be $Theirs.Nonce -Because $because }
            if ($Theirs.ContainsKey('Hmac')) { $Ours.Hmac | Should -Be $Theirs.Hmac -Because $because }
        }
        'dss' {
            $Ours.DataFin | Should -Be $Theirs.Fin -Because $because
            if ($Theirs.ContainsKey('Ack')) { $Ours.DataAck | Should -Be $Theirs.Ack -Because $because } else { $Ours.DataAck | Should -BeNullOrEmpty -Because $because }
            if ($Theirs.ContainsKey('Seq')) {
                $Ours.DataSequence | Should -Be $Theirs.Seq -Because $because
                $Ours.SubflowSequence | Should -Be $Theirs.SubSeq -Because $because
                $Ours.DataLength | Should -Be $Theirs.Len -Because $because
            }
            else { $Ours.HasMapping | Should -BeFalse -Because $because }
            if ($Theirs.ContainsKey('Csum')) { $Ours.Checksum | Should -Be $Theirs.Csum -Because $because }
            else { $Ours.Checksum | Should -BeNullOrEmpty -Because $because }
        }
        'add-addr' {
            $Ours.Version | Should -Be $Theirs.Version -Because $because
            $Ours.Echo | Should -Be $Theirs.Echo -Because $because
            $Ours.AddressId | Should -Be $Theirs.Id -Because $because
            "$($Ours.Address)" | Should -Be $Theirs.Address -Because $because
            if ($Theirs.ContainsKey('Port')) { $Ours.Port | Should -Be $Theirs.Port -Because $because } else { $Ours.Port | Should -BeNullOrEmpty -Because $because }
            if ($Theirs.ContainsKey('Hmac')) { $Ours.Hmac | Should -Be $Theirs.Hmac -Because $because } else { $Ours.Hmac | Should -BeNullOrEmpty -Because $because }
        }
        'rem-addr' { @($Ours.AddressIds | ForEach-Object { [int]$_ }) | Should -Be $Theirs.Ids -Because $because }
        'prio' { $Ours.Backup | Should -Be $Theirs.Backup -Because $because }
        'fail' { $Ours.DataSequence | Should -Be $Theirs.Seq -Because $because }
        'fast-close' { $Ours.ReceiverKey | Should -Be $Theirs.Key -Because $because }
        'tcprst' {
            $Ours.Transient | Should -Be $Theirs.Transient -Because $because
            "$($Ours.Reason)" | Should -Be $Theirs.Reason -Because $because
        }
    }
}

# Classic pcap files: enough to read the corpus's frames and write them back with another link type.
function Read-PcapFrames([string] $Path) {
    $b = [IO.File]::ReadAllBytes($Path)
    $magic = [BitConverter]::ToUInt32($b, 0)
    if ($magic -notin 0xa1b2c3d4u, 0xa1b23c4du) { throw "$Path is not a little-endian classic pcap" }
    $nano = $magic -eq 0xa1b23c4du
    $frames = [Collections.Generic.List[object]]::new()
    $o = 24
    while ($o + 16 -le $b.Length) {
        $sec = [BitConverter]::ToUInt32($b, $o); $frac = [BitConverter]::ToUInt32($b, $o + 4); $incl = [BitConverter]::ToInt32($b, $o + 8)
        $ticks = if ($nano) { [long]($frac / 100) } else { [long]$frac * 10 }
        $frames.Add([pscustomobject]@{ Time = [DateTime]::UnixEpoch.AddSeconds($sec).AddTicks($ticks); Data = [byte[]]$b[($o + 16)..($o + 15 + $incl)] })
        $o += 16 + $incl
    }
    return $frames
}

# Replaces an Ethernet header with another link type's header for the same packet.
function Convert-EthernetFrame([byte[]] $Data, [int] $LinkType, [switch] $Vlan, [switch] $HdlcFraming) {
    $etherType = [byte[]]$Data[12..13]
    $payload = [byte[]]$Data[14..($Data.Length - 1)]
    $isV6 = $etherType[0] -eq 0x86 -and $etherType[1] -eq 0xdd
    $isIp = $isV6 -or ($etherType[0] -eq 0x08 -and $etherType[1] -eq 0x00)
    # IEEE 802.11 QoS data to the AP (ToDS): receiver = BSSID, transmitter = source, then destination,
    # sequence control, QoS control; then LLC/SNAP with the EtherType (802.2, RFC 1042).
    $dot11 = [byte[]](@(0x88, 0x01, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01) + $Data[6..11] + $Data[0..5] + @(0x10, 0x00, 0x00, 0x00) +
        @(0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00) + $etherType + $payload)
    switch ($LinkType) {
        1 {
            if (-not $Vlan) { return , $Data }
            # Two 802.1ad/802.1Q tags between the MAC addresses and the EtherType.
            return , [byte[]]($Data[0..11] + @(0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0x0a) + $Data[12..($Data.Length - 1)])
        }
        113 { return , [byte[]](@(0, 0, 0, 1, 0, 6) + $Data[6..11] + @(0, 0) + $etherType + $payload) }
        276 { return , [byte[]]($etherType + @(0, 0, 0, 0, 0, 2, 0, 1, 0, 6) + $Data[6..11] + @(0, 0) + $payload) }
        101 { if (-not $isIp) { return , [byte[]]@() }; return , $payload }
        0 { $family = if ($isV6) { 10 } else { 2 }; return , [byte[]]([BitConverter]::GetBytes([uint32]$family) + $payload) }
        108 { $family = if ($isV6) { 24 } else { 2 }; $f = [BitConverter]::GetBytes([uint32]$family); [Array]::Reverse($f); return , [byte[]]($f + $payload) }
        # PPP (RFC 1661): the protocol field, 0x0021 IPv4 or 0x0057 IPv6; with RFC 1662's ff 03 in front when framed.
        { $_ -in 9, 50 } {
            if (-not $isIp) { return , [byte[]]@() }
            $protocol = if ($isV6) { [byte[]](0x00, 0x57) } else { [byte[]](0x00, 0x21) }
            $framing = if ($HdlcFraming -or $LinkType -eq 50) { [byte[]](0xff, 0x03) } else { [byte[]]@() }
            return , [byte[]]($framing + $protocol + $payload)
        }
        105 { return , $dot11 }
        # A radiotap header with no fields: version 0, pad, length 8 (little-endian), no present bits.
        127 { return , [byte[]](@(0, 0, 8, 0, 0, 0, 0, 0) + $dot11) }
        # A PPI header with no fields: version 0, flags 0, length 8, then the DLT of what follows (105), little-endian.
        192 { return , [byte[]](@(0, 0, 8, 0, 105, 0, 0, 0) + $dot11) }
    }
    throw "link type $LinkType not handled"
}

# Writes a capture of one link type through the module's writer (libpcap's for pcap), one timestamp per frame.
function Write-PcapFile([string] $Path, [int] $LinkType, $Frames, $Data, [MptcpTools.Packets.CaptureFileFormat] $Format = 'Pcap') {
    $times = [DateTime[]]@($Frames | ForEach-Object Time)
    $bytes = [byte[][]]::new(@($Data).Count)
    for ($i = 0; $i -lt $bytes.Length; $i++) { $bytes[$i] = [byte[]]$Data[$i] }
    [MptcpTools.Packets.TcpFrameBuilder]::WriteCapture($Path, $Format, $LinkType, $times, $bytes)
}

function ConvertTo-Hex([byte[]] $Bytes) { ($Bytes | ForEach-Object { $_.ToString('x2') }) -join ' ' }

# An Ethernet/IPv4 or IPv6/TCP frame built by PacketDotNet (TcpFrameBuilder), checksums included, with the
# given TCP option bytes (NOP-padded to the 4-byte boundary) and a payload of that many zero bytes.
function New-TcpFrame([string] $Src, [string] $Dst, [int] $SPort, [int] $DPort, [string] $Flags, [string] $OptionsHex = '', [uint32] $Seq = 1, [int] $Payload = 0, [uint32] $Ack = 0) {
    $builder = [MptcpTools.Packets.TcpFrameBuilder]::new([ipaddress]$Src, $SPort, [ipaddress]$Dst, $DPort)
    if ($Flags) { $builder.Flags = [MptcpTools.Packets.TcpFlags]$Flags }
    $builder.Sequence = $Seq
    $builder.Acknowledgment = $Ack
    $builder.PayloadLength = $Payload
    if ($OptionsHex) { $builder.Options.Add((ConvertFrom-Hex $OptionsHex)) }
    return , $builder.Build()
}
