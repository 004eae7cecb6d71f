# Helpers for the data-level tests: MPTCP option bytes written from RFC 8684's figures, crafted two-subflow
# captures (frames built by the module's PacketDotNet-based TcpFrameBuilder), tshark's MPTCP analysis of a file
# read into numbers, and a PNG decoder that lets a test look at the pixels of a chart.
. (Join-Path $PSScriptRoot 'PacketSupport.ps1')

function ConvertTo-HexBytes([uint64] $Value, [int] $Bytes) {
    $hex = $Value.ToString('x16')
    return ($hex.Substring(16 - 2 * $Bytes) -replace '(..)', '$1 ').Trim()
}

# DSS (RFC 8684 3.3, figure 9): data ACK and mapping, both 8 bytes here, optional checksum and DATA_FIN.
function New-DssOption {
    param([Nullable[uint64]] $Ack, [Nullable[uint64]] $Dsn, [uint32] $Ssn = 0, [uint16] $Length = 0, [Nullable[uint16]] $Checksum, [switch] $Fin)
    $flags = 0
    $body = ''
    if ($null -ne $Ack) { $flags = $flags -bor 0x03; $body += ' ' + (ConvertTo-HexBytes $Ack 8) }
    if ($null -ne $Dsn) {
        $flags = $flags -bor 0x0c
        $body += ' ' + (ConvertTo-HexBytes $Dsn 8) + ' ' + (ConvertTo-HexBytes $Ssn 4) + ' ' + (ConvertTo-HexBytes $Length 2)
        if ($null -ne $Checksum) { $body += ' ' + (ConvertTo-HexBytes $Checksum 2) }
    }
    if ($Fin) { $flags = $flags -bor 0x10 }
    $length = 4 + (($body.Trim() -split ' ') | Where-Object { $_ }).Count
    return ('1e {0:x2} 20 {1:x2}{2}' -f $length, $flags, $body)
}

# RFC 8684 3.3.1: the DSS checksum is the ones' complement of the ones' complement sum of the pseudo-header
# (64-bit DSN, subflow sequence number, data-level length, zero) and the data; here the data is all zeros.
function Get-DssChecksum([uint64] $Dsn, [uint32] $Ssn, [uint16] $Length) {
    [uint64] $sum = 0
    foreach ($shift in 48, 32, 16, 0) { $sum += ($Dsn -shr $shift) -band 0xffff }
    $sum += ($Ssn -shr 16) + ($Ssn -band 0xffff) + $Length
    while ($sum -gt 0xffff) { $sum = ($sum -band 0xffff) + ($sum -shr 16) }
    return [uint16](0xffff - $sum)
}

# Writes a capture from rows @{ From = 'c'|'s'|'j' (client, server, joining client); Flags; Seq; Ack; Len; Opt; T }.
# $Hosts maps each name to @(address, port); frames towards 'c' or 'j' come from 's'.
function Write-CraftedCapture([string] $Path, $Rows, [hashtable] $Hosts) {
    $frames = [Collections.Generic.List[object]]::new()
    $times = [Collections.Generic.List[object]]::new()
    foreach ($r in $Rows) {
        $from = $Hosts[$r.From]
        $to = if ($r.From -eq 's') { $Hosts[$r.To] } else { $Hosts['s'] }
        $frames.Add((New-TcpFrame $from[0] $to[0] $from[1] $to[1] $r.Flags ($r.Opt) -Seq $r.Seq -Ack $r.Ack -Payload $r.Len))
        $times.Add([pscustomobject]@{ Time = [DateTime]::UnixEpoch.AddSeconds(1700000000).AddTicks([long]($r.T * 1e7)) })
    }
    Write-PcapFile $Path 1 $times.ToArray() $frames.ToArray()
}

function Test-Tshark { [bool](Get-Command tshark -CommandType Application -ErrorAction Ignore) }

# tshark's MPTCP analysis of a file, with the preferences the issue names: the frames it marks as reinjections,
# and per TCP stream and source the payload bytes and the DSS mappings.
function Get-TsharkMptcp([string] $Path) {
    $prefs = @('-o', 'mptcp.analyze_mappings:TRUE', '-o', 'mptcp.intersubflows_retransmission:TRUE')
    $reinjections = [Collections.Generic.List[long]]::new()
    $bytes = @{}; $mappings = @{}
    $fields = 'frame.number', 'tcp.stream', 'ip.src', 'ipv6.src', 'tcp.len', 'tcp.options.mptcp.dseqnpresent.flag', 'mptcp.reinjection_of'
    foreach ($line in & tshark -n -r $Path @prefs -Y tcp -T fields @($fields | ForEach-Object { '-e', $_ }) -E occurrence=f 2>$null) {
        $f = $line -split "`t"
        $key = "$($f[1]) $($f[2])$($f[3])"
        $bytes[$key] = [long]$bytes[$key] + [long]$f[4]
        if ($f[5] -eq '1') { $mappings[$key] = [long]$mappings[$key] + 1 }
        if ($f[6]) { $reinjections.Add([long]$f[0]) }
    }
    [pscustomobject]@{ Reinjections = $reinjections.Count; ReinjectionFrames = [long[]]$reinjections; Bytes = $bytes; Mappings = $mappings }
}

# Our numbers in tshark's shape: per stream and source address, payload bytes and DSS mappings.
function Get-OurPerSource($Measurement) {
    $bytes = @{}; $mappings = @{}
    foreach ($s in $Measurement.Subflows) {
        # A subflow the connection's client opened: its client is the connection's client side.
        $clientSide = "$($s.Stream) $($s.ClientAddress)"; $serverSide = "$($s.Stream) $($s.ServerAddress)"
        $bytes[$clientSide] = $s.PayloadBytesFromClient; $bytes[$serverSide] = $s.PayloadBytesFromServer
        $mappings[$clientSide] = $s.MappingsFromClient; $mappings[$serverSide] = $s.MappingsFromServer
    }
    [pscustomobject]@{ Bytes = $bytes; Mappings = $mappings }
}

if (-not ('MptcpTest.PngPixels' -as [type])) {
    Add-Type -TypeDefinition @'
using System;
using System.IO;
using System.IO.Compression;
namespace MptcpTest {
public static class PngPixels {
    // Decodes an 8-bit RGB or RGBA, non-interlaced PNG into 0xRRGGBB values (what Skia writes).
    public static int[] Read(string path, out int width, out int height) {
        byte[] b = File.ReadAllBytes(path);
        if (b.Length < 8 || b[0] != 0x89 || b[1] != 0x50) throw new InvalidDataException("not a PNG");
        int at = 8, depth = 0, type = 0; width = 0; height = 0;
        var idat = new MemoryStream();
        while (at + 8 <= b.Length) {
            int len = (b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3];
            string kind = System.Text.Encoding.ASCII.GetString(b, at + 4, 4);
            if (kind == "IHDR") {
                width = (b[at + 8] << 24) | (b[at + 9] << 16) | (b[at + 10] << 8) | b[at + 11];
                height = (b[at + 12] << 24) | (b[at + 13] << 16) | (b[at + 14] << 8) | b[at + 15];
                depth = b[at + 16]; type = b[at + 17];
                if (b[at + 20] != 0) throw new InvalidDataException("interlaced");
            } else if (kind == "IDAT") idat.Write(b, at + 8, len);
            else if (kind == "IEND") break;
            at += 12 + len;
        }
        if (depth != 8 || (type != 2 && type != 6)) throw new InvalidDataException("depth " + depth + " type " + type);
        int bpp = type == 6 ? 4 : 3, stride = width * bpp;
        idat.Position = 0;
        var raw = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionMode.Decompress)) z.CopyTo(raw);
        byte[] data = raw.ToArray();
        var prev = new byte[stride]; var cur = new byte[stride];
        var pixels = new int[width * height];
        for (int y = 0; y < height; y++) {
            int f = data[y * (stride + 1)];
            Array.Copy(data, y * (stride + 1) + 1, cur, 0, stride);
            for (int x = 0; x < stride; x++) {
                int a = x >= bpp ? cur[x - bpp] : 0, up = prev[x], c = x >= bpp ? prev[x - bpp] : 0;
                int v = cur[x];
                switch (f) {
                    case 1: v += a; break;
                    case 2: v += up; break;
                    case 3: v += (a + up) / 2; break;
                    case 4: { int p = a + up - c, pa = Math.Abs(p - a), pb = Math.Abs(p - up), pc = Math.Abs(p - c);
                        v += pa <= pb && pa <= pc ? a : pb <= pc ? up : c; break; }
                }
                cur[x] = (byte)v;
            }
            for (int x = 0; x < width; x++) pixels[y * width + x] = (cur[x * bpp] << 16) | (cur[x * bpp + 1] << 8) | cur[x * bpp + 2];
            var t = prev; prev = cur; cur = t;
        }
        return pixels;
    }

    // How many pixels are within the tolerance of the colour (#rrggbb), per channel.
    public static int Count(int[] pixels, string hex, int tolerance) {
        int want = Convert.ToInt32(hex.TrimStart('#'), 16), n = 0;
        foreach (int p in pixels)
            if (Math.Abs(((p >> 16) & 255) - ((want >> 16) & 255)) <= tolerance && Math.Abs(((p >> 8) & 255) - ((want >> 8) & 255)) <= tolerance
                && Math.Abs((p & 255) - (want & 255)) <= tolerance) n++;
        return n;
    }
}
}
'@
}
# Helpers for the data-level tests: MPTCP option bytes written from RFC 8684's figures, crafted two-subflow
# captures (frames built by the module's PacketDotNet-based TcpFrameBuilder), tshark's MPTCP analysis of a file
# read into numbers, and a PNG decoder that lets a test look at the pixels of a chart.
. (Join-Path $PSScriptRoot 'PacketSupport.ps1')

function ConvertTo-HexBytes([uint64] $Value, [int] $Bytes) {
    $hex = $Value.ToString('x16')
    return ($hex.Substring(16 - 2 * $Bytes) -replace '(..)', '$1 ').Trim()
}

# DSS (RFC 8684 3.3, figure 9): data ACK and mapping, both 8 bytes here, optional checksum and DATA_FIN.
function New-DssOption {
    param([Nullable[uint64]] $Ack, [Nullable[uint64]] $Dsn, [uint32] $Ssn = 0, [uint16] $Length = 0, [Nullable[uint16]] $Checksum, [switch] $Fin)
    $flags = 0
    $body = ''
    if ($null -ne $Ack) { $flags = $flags -bor 0x03; $body += ' ' + (ConvertTo-HexBytes $Ack 8) }
    if ($null -ne $Dsn) {
        $flags = $flags -bor 0x0c
        $body += ' ' + (ConvertTo-HexBytes $Dsn 8) + ' ' + (ConvertTo-HexBytes $Ssn 4) + ' ' + (ConvertTo-HexBytes $Length 2)
        if ($null -ne $Checksum) { $body += ' ' + (ConvertTo-HexBytes $Checksum 2) }
    }
    if ($Fin) { $flags = $flags -bor 0x10 }
    $length = 4 + (($body.Trim() -split ' ') | Where-Object { $_ }).Count
    return ('1e {0:x2} 20 {1:x2}{2}' -f $length, $flags, $body)
}

# RFC 8684 3.3.1: the DSS checksum is the ones' complement of the ones' complement sum of the pseudo-header
# (64-bit DSN, subflow sequence number, data-level length, zero) and the data; here the data is all zeros.
function Get-DssChecksum([uint64] $Dsn, [uint32] $Ssn, [uint16] $Length) {
    [uint64] $sum = 0
    foreach ($shift in 48, 32, 16, 0) { $sum += ($Dsn -shr $shift) -band 0xffff }
    $sum += ($Ssn -shr 16) + ($Ssn -band 0xffff) + $Length
    while ($sum -gt 0xffff) { $sum = ($sum -band 0xffff) + ($sum -shr 16) }
    return [uint16](0xffff - $sum)
}

# Writes a capture from rows @{ From = 'c'|'s'|'j' (client, server, joining client); Flags; Seq; Ack; Len; Opt; T }.
# $Hosts maps each name to @(address, port); frames towards 'c' or 'j' come from 's'.
function Write-CraftedCapture([string] $Path, $Rows, [hashtable] $Hosts) {
    $frames = [Collections.Generic.List[object]]::new()
    $times = [Collections.Generic.List[object]]::new()
    foreach ($r in $Rows) {
        $from = $Hosts[$r.From]
        $to = if ($r.From -eq 's') { $Hosts[$r.To] } else { $Hosts['s'] }
        $frames.Add((New-TcpFrame $from[0] $to[0] $from[1] $to[1] $r.Flags ($r.Opt) -Seq $r.Seq -Ack $r.Ack -Payload $r.Len))
        $times.Add([pscustomobject]@{ Time = [DateTime]::UnixEpoch.AddSeconds(1700000000).AddTicks([long]($r.T * 1e7)) })
    }
    Write-PcapFile $Path 1 $times.ToArray() $frames.ToArray()
}

function Test-Tshark { [bool](Get-Command tshark -CommandType Application -ErrorAction Ignore) }

# tshark's MPTCP analysis of a file, with the preferences the issue names: the frames it marks as reinjections,
# and per TCP stream and source the payload bytes and the DSS mappings.
function Get-TsharkMptcp([string] $Path) {
    $prefs = @('-o', 'mptcp.analyze_mappings:TRUE', '-o', 'mptcp.intersubflows_retransmission:TRUE')
    $reinjections = [Collections.Generic.List[long]]::new()
    $bytes = @{}; $mappings = @{}
    $fields = 'frame.number', 'tcp.stream', 'ip.src', 'ipv6.src', 'tcp.len', 'tcp.options.mptcp.dseqnpresent.flag', 'mptcp.reinjection_of'
    foreach ($line in & tshark -n -r $Path @prefs -Y tcp -T fields @($fields | ForEach-Object { '-e', $_ }) -E occurrence=f 2>$null) {
        $f = $line -split "`t"
        $key = "$($f[1]) $($f[2])$($f[3])"
        $bytes[$key] = [long]$bytes[$key] + [long]$f[4]
        if ($f[5] -eq '1') { $mappings[$key] = [long]$mappings[$key] + 1 }
        if ($f[6]) { $reinjections.Add([long]$f[0]) }
    }
    [pscustomobject]@{ Reinjections = $reinjections.Count; ReinjectionFrames = [long[]]$reinjections; Bytes = $bytes; Mappings = $mappings }
}

# Our numbers in tshark's shape: per stream and source address, payload bytes and DSS mappings.
function Get-OurPerSource($Measurement) {
    $bytes = @{}; $mappings = @{}
    foreach ($s in $Measurement.Subflows) {
        # A subflow the connection's client opened: its client is the connection's client side.
        $clientSide = "$($s.Stream) $($s.ClientAddress)"; $serverSide = "$($s.Stream) $($s.ServerAddress)"
        $bytes[$clientSide] = $s.PayloadBytesFromClient; $bytes[$serverSide] = $s.PayloadBytesFromServer
        $mappings[$clientSide] = $s.MappingsFromClient; $mappings[$serverSide] = $s.MappingsFromServer
    }
    [pscustomobject]@{ Bytes = $bytes; Mappings = $mappings }
}

if (-not ('MptcpTest.PngPixels' -as [type])) {
    Add-Type -TypeDefinition @'
using System;
using System.IO;
using System.IO.Compression;
namespace MptcpTest {
public static class PngPixels {
    // Decodes an 8-bit RGB or RGBA, non-interlaced PNG into 0xRRGGBB values (what Skia writes).
    public static int[] Read(string path, out int width, out int height) {
        byte[] b = File.ReadAllBytes(path);
        if (b.Length < 8 || b[0] != 0x89 || b[1] != 0x50) throw new InvalidDataException("not a PNG");
        int at = 8, depth = 0, type = 0; width = 0; height = 0;
        var idat = new MemoryStream();
        while (at + 8 <= b.Length) {
            int len = (b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3];
            string kind = System.Text.Encoding.ASCII.GetString(b, at + 4, 4);
            if (kind == "IHDR") {
                width = (b[at + 8] << 24) | (b[at + 9] << 16) | (b[at + 10] << 8) | b[at + 11];
                height = (b[at + 12] << 24) | (b[at + 13] << 16) | (b[at + 14] << 8) | b[at + 15];
                depth = b[at + 16]; type = b[at + 17];
                if (b[at + 20] != 0) throw new InvalidDataException("interlaced");
            } else if (kind == "IDAT") idat.Write(b, at + 8, len);
            else if (kind == "IEND") break;
            at += 12 + len;
        }
        if (depth != 8 || (type != 2 && type != 6)) throw new InvalidDataException("depth " + depth + " type " + type);
        int bpp = type == 6 ? 4 : 3, stride = width * bpp;
        idat.Position = 0;
        var raw = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionMode.Decompress)) z.CopyTo(raw);
        byte[] data = raw.ToArray();
        var prev = new byte[stride]; var cur = new byte[stride];
        var pixels = new int[width * height];
        for (int y = 0; y < height; y++) {
            int f = data[y * (stride + 1)];
            Array.Copy(data, y * (stride + 1) + 1, cur, 0, stride);
            for (int x = 0; x < stride; x++) {
                int a = x >= bpp ? cur[x - bpp] : 0, up = prev[x], c = x >= bpp ? prev[x - bpp] : 0;
                int v = cur[x];
                switch (f) {
                    case 1: v += a; break;
                    case 2: v += up; break;
                    case 3: v += (a + up) / 2; break;
                    case 4: { int p = a + up - c, pa = Math.Abs(p - a), pb = Math.Abs(p - up), pc = Math.Abs(p - c);
                        v += pa <= pb && pa <= pc ? a : pb <= pc ? up : c; break; }
                }
                cur[x] = (byte)v;
            }
            for (int x = 0; x < width; x++) pixels[y * width + x] = (cur[x * bpp] << 16) | (cur[x * bpp + 1] << 8) | cur[x * bpp + 2];
            var t = prev; prev = cur; cur = t;
        }
        return pixels;
    }

    // How many pixels are within the tolerance of the colour (#rrggbb), per channel.
    public static int Count(int[] pixels, string hex, int tolerance) {
        int want = Convert.ToInt32(hex.TrimStart('#'), 16), n = 0;
        foreach (int p in pixels)
            if (Math.Abs(((p >> 16) & 255) - ((want >> 16) & 255)) <= tolerance && Math.Abs(((p >> 8) & 255) - ((want >> 8) & 255)) <= tolerance
                && Math.Abs((p & 255) - (want & 255)) <= tolerance) n++;
        return n;
    }
}
}
'@
}

<#
  The crafted connection the data-level tests know by construction:
  One MPTCP v1 connection, 192.0.2.2:40000 -> 203.0.113.2:5201, joined from 198.51.100.2:40001 (token of the
  server's key), 10 ms between frames. Client data: DSN 1-1000 on subflow 0, 1001-2000 on 1, 2001-3000 on 0 and
  again on 1 (frame 10, the reinjection of frame 9), MP_PRIO backup on 1, 4001-4500 on 0 (so 3001-4000 is a gap),
  the same subflow bytes mapped again to DSN 9001 (an inconsistent overlap), DATA_FIN at 4501, the server's data ACK.
#>
function Get-CraftedConnection {
    $clientKey = [uint64]'0xaabbccddeeff0011'; $serverKey = [uint64]'0x1122334455667788'
    $idsn = [MptcpTools.Packets.MptcpKeys]::InitialDataSequence($clientKey, 1)
    $token = [MptcpTools.Packets.MptcpKeys]::Token($serverKey, 1)
    $hosts = @{ c = @('192.0.2.2', 40000); j = @('198.51.100.2', 40001); s = @('203.0.113.2', 5201) }
    $kc = ConvertTo-HexBytes $clientKey 8; $ks = ConvertTo-HexBytes $serverKey 8
    $hmac20 = (@('ab') * 20) -join ' '
    $rows = @(
        @{ From = 'c'; Flags = 'Syn'; Seq = 1000; Ack = 0; Len = 0; Opt = '1e 04 01 01' }
        @{ From = 's'; To = 'c'; Flags = 'Syn,Ack'; Seq = 5000; Ack = 1001; Len = 0; Opt = "1e 0c 01 01 $ks" }
        @{ From = 'c'; Flags = 'Ack'; Seq = 1001; Ack = 5001; Len = 0; Opt = "1e 14 01 01 $kc $ks" }
        @{ From = 'j'; Flags = 'Syn'; Seq = 2000; Ack = 0; Len = 0; Opt = "1e 0c 10 02 $(ConvertTo-HexBytes $token 4) 00 00 00 07" }
        @{ From = 's'; To = 'j'; Flags = 'Syn,Ack'; Seq = 6000; Ack = 2001; Len = 0; Opt = '1e 10 10 00 01 02 03 04 05 06 07 08 00 00 00 09' }
        @{ From = 'j'; Flags = 'Ack'; Seq = 2001; Ack = 6001; Len = 0; Opt = "1e 18 10 00 $hmac20" }
        @{ From = 'c'; Flags = 'Ack'; Seq = 1001; Ack = 5001; Len = 1000; Opt = (New-DssOption -Dsn ($idsn + 1) -Ssn 1 -Length 1000) }
        @{ From = 'j'; Flags = 'Ack'; Seq = 2001; Ack = 6001; Len = 1000; Opt = (New-DssOption -Dsn ($idsn + 1001) -Ssn 1 -Length 1000) }
        @{ From = 'c'; Flags = 'Ack'; Seq = 2001; Ack = 5001; Len = 1000; Opt = (New-DssOption -Dsn ($idsn + 2001) -Ssn 1001 -Length 1000) }
        @{ From = 'j'; Flags = 'Ack'; Seq = 3001; Ack = 6001; Len = 1000; Opt = (New-DssOption -Dsn ($idsn + 2001) -Ssn 1001 -Length 1000) }
        @{ From = 'j'; Flags = 'Ack'; Seq = 4001; Ack = 6001; Len = 0; Opt = '1e 03 51' }
        @{ From = 'c'; Flags = 'Ack'; Seq = 3001; Ack = 5001; Len = 500; Opt = (New-DssOption -Dsn ($idsn + 4001) -Ssn 2001 -Length 500) }
        @{ From = 'c'; Flags = 'Ack'; Seq = 3001; Ack = 5001; Len = 500; Opt = (New-DssOption -Dsn ($idsn + 9001) -Ssn 2001 -Length 500) }
        @{ From = 'c'; Flags = 'Ack'; Seq = 3501; Ack = 5001; Len = 0; Opt = (New-DssOption -Dsn ($idsn + 4501) -Ssn 0 -Length 1 -Fin) }
        @{ From = 's'; To = 'c'; Flags = 'Ack'; Seq = 5001; Ack = 3501; Len = 0; Opt = (New-DssOption -Ack ($idsn + 4502)) }
    )
    for ($i = 0; $i -lt $rows.Count; $i++) { $rows[$i].T = $i * 0.01 }
    @{ ClientKey = $clientKey; ServerKey = $serverKey; Idsn = $idsn; Token = $token; Hosts = $hosts; Rows = $rows }
}

# The same connection as the server captured it: its clock 5 s ahead, each direction 1 ms on the way; frame 8
# (subflow 1's first data) lost; frame 9's DSS stripped; frame 15's data ACK rewritten. The caller picks the hosts
# (a NAT rewrites the join's address and port in the unit test).
function Get-CraftedServerRows($Rows, [uint64] $Idsn) {
    $serverRows = @()
    for ($i = 0; $i -lt $Rows.Count; $i++) {
        $r = $Rows[$i].Clone()
        $r.T = if ($r.From -eq 's') { $r.T + 5 - 0.001 } else { $r.T + 5 + 0.001 }
        switch ($i + 1) {
            8 { continue }
            9 { $r.Opt = '' }
            15 { $r.Opt = New-DssOption -Ack ($Idsn + 4000) }
        }
        if ($i + 1 -ne 8) { $serverRows += $r }
    }
    $serverRows
}
