// IP/TCP segments, MPTCP options (RFC 8684 figures; RFC 6824 for version 0) and every link-layer header the module
// reads, built byte by byte. Nothing here validates: the point is to make what a hostile capture can hold.
using System.Buffers.Binary;

namespace CaptureFuzzer;

public static class Tcp
{
    public const byte Fin = 0x01, Syn = 0x02, Rst = 0x04, Psh = 0x08, Ack = 0x10;
}

/// <summary>One TCP segment to build: addresses (4 or 16 bytes), ports, numbers, flags, option bytes, payload.</summary>
public sealed class Segment
{
    public byte[] Source = { 192, 0, 2, 2 };
    public byte[] Destination = { 203, 0, 113, 2 };
    public ushort SourcePort = 40000;
    public ushort DestinationPort = 5201;
    public uint Sequence = 1;
    public uint Acknowledgment;
    public byte Flags = Tcp.Ack;
    public byte[] Options = Array.Empty<byte>();
    public int Payload;

    public bool IsIPv6 => Source.Length == 16;

    public Segment Reply(byte flags, byte[]? options = null) => new()
    {
        Source = Destination, Destination = Source, SourcePort = DestinationPort, DestinationPort = SourcePort,
        Sequence = Acknowledgment, Acknowledgment = Sequence, Flags = flags, Options = options ?? Array.Empty<byte>(),
    };

    /// <summary>The IP packet (v4 or v6 by the address length), checksums computed.</summary>
    public byte[] ToIp()
    {
        byte[] options = Mptcp.Pad(Options);
        int tcpLength = 20 + options.Length + Payload;
        int ipHeader = IsIPv6 ? 40 : 20;
        byte[] p = new byte[ipHeader + tcpLength];
        Span<byte> ip = p;
        if (IsIPv6)
        {
            ip[0] = 0x60;
            BinaryPrimitives.WriteUInt16BigEndian(ip[4..], (ushort)tcpLength);
            ip[6] = 6;
            ip[7] = 64;
            Source.CopyTo(ip[8..]);
            Destination.CopyTo(ip[24..]);
        }
        else
        {
            ip[0] = 0x45;
            BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)Math.Min(0xffff, p.Length));
            ip[8] = 64;
            ip[9] = 6;
            Source.CopyTo(ip[12..]);
            Destination.CopyTo(ip[16..]);
            BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum.Fold(Checksum.Sum(ip[..20], 0)));
        }

        Span<byte> t = ip[ipHeader..];
        BinaryPrimitives.WriteUInt16BigEndian(t, SourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(t[2..], DestinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(t[4..], Sequence);
        BinaryPrimitives.WriteUInt32BigEndian(t[8..], Acknowledgment);
        t[12] = (byte)(((20 + options.Length) / 4) << 4);
        t[13] = Flags;
        BinaryPrimitives.WriteUInt16BigEndian(t[14..], 64240);
        options.CopyTo(t[20..]);
        ulong sum = Checksum.Sum(Source, 0) + Checksum.Sum(Destination, 0) + 6 + (ulong)tcpLength;
        BinaryPrimitives.WriteUInt16BigEndian(t[16..], Checksum.Fold(Checksum.Sum(t, sum)));
        return p;
    }
}

internal static class Checksum
{
    public static ulong Sum(ReadOnlySpan<byte> data, ulong sum)
    {
        int i = 0;
        for (; i + 1 < data.Length; i += 2) sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        if (i < data.Length) sum += (ulong)data[i] << 8;
        return sum;
    }

    public static ushort Fold(ulong sum)
    {
        while ((sum >> 16) != 0) sum = (sum & 0xffff) + (sum >> 16);
        return (ushort)~sum;
    }
}

/// <summary>MPTCP option bytes (kind 30), by subtype.</summary>
public static class Mptcp
{
    private static byte[] Option(byte subtypeAndFlags, byte second, params byte[][] parts)
    {
        int length = 4 + parts.Sum(p => p.Length);
        var o = new byte[length];
        o[0] = 30;
        o[1] = (byte)length;
        o[2] = subtypeAndFlags;
        o[3] = second;
        int at = 4;
        foreach (byte[] part in parts)
        {
            part.CopyTo(o, at);
            at += part.Length;
        }

        return o;
    }

    public static byte[] U16(ushort v) { var b = new byte[2]; BinaryPrimitives.WriteUInt16BigEndian(b, v); return b; }
    public static byte[] U32(uint v) { var b = new byte[4]; BinaryPrimitives.WriteUInt32BigEndian(b, v); return b; }
    public static byte[] U64(ulong v) { var b = new byte[8]; BinaryPrimitives.WriteUInt64BigEndian(b, v); return b; }

    /// <summary>MP_CAPABLE: a v1 SYN has no key, a v0 SYN and every SYN-ACK one, the third ACK both, with data its length (and checksum).</summary>
    public static byte[] Capable(int version, ulong? senderKey = null, ulong? receiverKey = null, ushort? dataLength = null, ushort? checksum = null, bool checksumRequired = false)
    {
        byte flags = (byte)(0x01 | (checksumRequired ? 0x80 : 0));
        var parts = new List<byte[]>();
        if (senderKey is { } s) parts.Add(U64(s));
        if (receiverKey is { } r) parts.Add(U64(r));
        if (dataLength is { } d) parts.Add(U16(d));
        if (checksum is { } c) parts.Add(U16(c));
        return Option((byte)(0x00 | (version & 0x0f)), flags, parts.ToArray());
    }

    public static byte[] JoinSyn(uint token, uint nonce, byte addressId, bool backup = false) =>
        Option((byte)(0x10 | (backup ? 1 : 0)), addressId, U32(token), U32(nonce));

    public static byte[] JoinSynAck(ulong truncatedHmac, uint nonce, byte addressId, bool backup = false) =>
        Option((byte)(0x10 | (backup ? 1 : 0)), addressId, U64(truncatedHmac), U32(nonce));

    public static byte[] JoinAck(byte[] hmac20) => Option(0x10, 0, hmac20);

    /// <summary>DSS with a data ACK (4 or 8 bytes) and/or a mapping (DSN 4 or 8 bytes, subflow sequence, length, optional checksum).</summary>
    public static byte[] Dss(ulong? dataAck = null, bool ack8 = false, ulong? dsn = null, bool dsn8 = false, uint ssn = 0, ushort length = 0,
        ushort? checksum = null, bool dataFin = false)
    {
        byte flags = 0;
        var parts = new List<byte[]>();
        if (dataAck is { } a)
        {
            flags |= 0x01;
            if (ack8) flags |= 0x02;
            parts.Add(ack8 ? U64(a) : U32((uint)a));
        }

        if (dsn is { } d)
        {
            flags |= 0x04;
            if (dsn8) flags |= 0x08;
            parts.Add(dsn8 ? U64(d) : U32((uint)d));
            parts.Add(U32(ssn));
            parts.Add(U16(length));
            if (checksum is { } c) parts.Add(U16(c));
        }

        if (dataFin) flags |= 0x10;
        return Option(0x20, flags, parts.ToArray());
    }

    /// <summary>ADD_ADDR v1 (echo or with its truncated HMAC), IPv4 or IPv6 by the address length, optional port.</summary>
    public static byte[] AddAddr(byte id, byte[] address, ushort? port = null, bool echo = false, ulong hmac = 0x0102030405060708)
    {
        var parts = new List<byte[]> { address };
        if (port is { } p) parts.Add(U16(p));
        if (!echo) parts.Add(U64(hmac));
        return Option((byte)(0x30 | (echo ? 1 : 0)), id, parts.ToArray());
    }

    public static byte[] RemoveAddr(params byte[] ids)
    {
        var o = new byte[3 + ids.Length];
        o[0] = 30;
        o[1] = (byte)o.Length;
        o[2] = 0x40;
        ids.CopyTo(o, 3);
        return o;
    }

    public static byte[] Prio(bool backup, byte? addressId = null) =>
        addressId is { } id ? new byte[] { 30, 4, (byte)(0x50 | (backup ? 1 : 0)), id } : new byte[] { 30, 3, (byte)(0x50 | (backup ? 1 : 0)) };

    public static byte[] Fail(ulong dsn) => Option(0x60, 0, U64(dsn));
    public static byte[] FastClose(ulong key) => Option(0x70, 0, U64(key));
    public static byte[] TcpRst(byte flags, byte reason) => new byte[] { 30, 4, (byte)(0x80 | (flags & 0x0f)), reason };

    /// <summary>Option bytes padded with NOPs to the 4-byte boundary; at most 40 bytes are kept, as a TCP header holds no more.</summary>
    public static byte[] Pad(byte[] options)
    {
        int length = Math.Min(40, options.Length);
        var padded = new byte[(length + 3) & ~3];
        options.AsSpan(0, length).CopyTo(padded);
        padded.AsSpan(length).Fill(1);
        return padded;
    }

    public static byte[] Concat(params byte[][] options) => options.SelectMany(o => o).ToArray();
}

/// <summary>Link-layer headers around an IP packet, for every link type the module reads.</summary>
public static class Link
{
    public static readonly int[] Types = { 0, 1, 9, 12, 14, 50, 101, 105, 108, 113, 127, 192, 228, 229, 276 };

    public static byte[] Wrap(int linkType, byte[] ip)
    {
        bool v6 = ip.Length > 0 && ip[0] >> 4 == 6;
        byte[] etherType = v6 ? new byte[] { 0x86, 0xdd } : new byte[] { 0x08, 0x00 };
        byte[] mac1 = { 0x02, 0, 0, 0, 0, 1 }, mac2 = { 0x02, 0, 0, 0, 0, 2 };
        byte[] dot11 = Cat(new byte[] { 0x88, 0x01, 0, 0 }, mac1, mac2, mac1, new byte[] { 0x10, 0, 0, 0 }, new byte[] { 0xaa, 0xaa, 0x03, 0, 0, 0 }, etherType, ip);
        return linkType switch
        {
            1 => Cat(mac2, mac1, etherType, ip),
            113 => Cat(new byte[] { 0, 0, 0, 1, 0, 6 }, mac1, new byte[] { 0, 0 }, etherType, ip),
            276 => Cat(etherType, new byte[] { 0, 0, 0, 0, 0, 2, 0, 1, 0, 6 }, mac1, new byte[] { 0, 0 }, ip),
            0 => Cat(BitConverter.GetBytes((uint)(v6 ? 10 : 2)), ip),
            108 => Cat(Mptcp.U32((uint)(v6 ? 24 : 2)), ip),
            9 => Cat(new byte[] { 0, (byte)(v6 ? 0x57 : 0x21) }, ip),
            50 => Cat(new byte[] { 0xff, 0x03, 0, (byte)(v6 ? 0x57 : 0x21) }, ip),
            105 => dot11,
            127 => Cat(new byte[] { 0, 0, 8, 0, 0, 0, 0, 0 }, dot11),
            192 => Cat(new byte[] { 0, 0, 8, 0, 105, 0, 0, 0 }, dot11),
            _ => ip, // 12, 14, 101, 228, 229: raw IP
        };
    }

    public static byte[] Cat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();
}
