using System;
using System.Buffers.Binary;
using System.Net;
using System.Runtime.CompilerServices;

namespace MptcpTools.Packets;

/// <summary>An IPv4 or IPv6 address held by value, cheap to hash and compare on the hot path.</summary>
public readonly struct PacketAddress : IEquatable<PacketAddress>
{
    private readonly ulong _high;
    private readonly ulong _low;

    private PacketAddress(ulong high, ulong low, bool v6)
    {
        _high = high;
        _low = low;
        IsIPv6 = v6;
    }

    public bool IsIPv6 { get; }

    /// <summary>The low 32 bits (all of an IPv4 address), for cheap hashing.</summary>
    internal uint Low32 => (uint)_low ^ (uint)(_high >> 32) ^ (uint)_high;

    public static PacketAddress FromIPv4(ReadOnlySpan<byte> b) => new(0, BinaryPrimitives.ReadUInt32BigEndian(b), false);

    public static PacketAddress FromIPv6(ReadOnlySpan<byte> b) =>
        new(BinaryPrimitives.ReadUInt64BigEndian(b), BinaryPrimitives.ReadUInt64BigEndian(b[8..]), true);

    public IPAddress ToIPAddress()
    {
        if (!IsIPv6)
        {
            Span<byte> v4 = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(v4, (uint)_low);
            return new IPAddress(v4);
        }

        Span<byte> v6 = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(v6, _high);
        BinaryPrimitives.WriteUInt64BigEndian(v6[8..], _low);
        return new IPAddress(v6);
    }

    public int CompareTo(PacketAddress other) =>
        _high != other._high ? _high.CompareTo(other._high) : _low != other._low ? _low.CompareTo(other._low) : IsIPv6.CompareTo(other.IsIPv6);

    public bool Equals(PacketAddress other) => _high == other._high && _low == other._low && IsIPv6 == other.IsIPv6;
    public override bool Equals(object? obj) => obj is PacketAddress a && Equals(a);
    public override int GetHashCode() => HashCode.Combine(_high, _low, IsIPv6);
    public override string ToString() => ToIPAddress().ToString();
}

/// <summary>The parts of one captured TCP segment the decoder and the tracker need; points into the frame.</summary>
public ref struct TcpSegmentView
{
    public PacketAddress Source;
    public PacketAddress Destination;
    public ushort SourcePort;
    public ushort DestinationPort;
    public uint Sequence;
    public uint Acknowledgment;
    public TcpFlags Flags;
    public ushort Window;
    /// <summary>TCP payload length from the IP header (not limited by the snap length).</summary>
    public int PayloadLength;
    /// <summary>The captured option bytes (may be cut short by the snap length).</summary>
    public ReadOnlySpan<byte> Options;
    /// <summary>True when the snap length cut into the TCP options.</summary>
    public bool OptionsTruncated;
    /// <summary>The captured payload bytes (at most PayloadLength; fewer when the snap length cut them).</summary>
    public ReadOnlySpan<byte> Payload;
}

/// <summary>
/// Finds the TCP segment in a captured frame: Ethernet (with VLAN tags), Linux cooked v1 and v2, raw IP,
/// BSD loopback (DLT_NULL and DLT_LOOP) by hand, as fast as a capture at line rate needs; the rarer link
/// types PacketDotNet decodes through <see cref="LinkLayerFallback"/>; IPv4 (first fragments) and IPv6
/// (skipping extension headers). Never throws: what is not a readable TCP segment is simply not one.
/// </summary>
public static class FrameParser
{
    // Link-layer header types (tcpdump.org/linktypes.html).
    public const int LinkNull = 0;
    public const int LinkEthernet = 1;
    public const int LinkRaw = 101;
    public const int LinkRawOpenBsd = 12;
    public const int LinkRawBsd = 14;
    public const int LinkLoop = 108;
    public const int LinkLinuxSll = 113;
    public const int LinkIPv4 = 228;
    public const int LinkIPv6 = 229;
    public const int LinkLinuxSll2 = 276;

    /// <summary>The link types of the hand-written fast path.</summary>
    public static bool IsSupportedLinkType(int linkType) => linkType is LinkNull or LinkEthernet or LinkRaw or LinkRawOpenBsd
        or LinkRawBsd or LinkLoop or LinkLinuxSll or LinkIPv4 or LinkIPv6 or LinkLinuxSll2;

    /// <summary>The link types TryParse reads: the fast path's, and those PacketDotNet decodes for it.</summary>
    public static bool CanParseLinkType(int linkType) => IsSupportedLinkType(linkType) || LinkLayerFallback.Handles(linkType);

    public static bool TryParse(int linkType, ReadOnlySpan<byte> frame, out TcpSegmentView segment)
    {
        segment = default;
        int offset;
        int etherType;
        switch (linkType)
        {
            case LinkEthernet:
                if (frame.Length < 14) return false;
                etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);
                offset = 14;
                // 802.1Q / 802.1ad tags, possibly stacked.
                while (etherType is 0x8100 or 0x88a8 or 0x9100)
                {
                    if (frame.Length < offset + 4) return false;
                    etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[(offset + 2)..]);
                    offset += 4;
                }

                break;
            case LinkLinuxSll:
                if (frame.Length < 16) return false;
                etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[14..]);
                offset = 16;
                break;
            case LinkLinuxSll2:
                if (frame.Length < 20) return false;
                etherType = BinaryPrimitives.ReadUInt16BigEndian(frame);
                offset = 20;
                break;
            case LinkNull:
            case LinkLoop:
                if (frame.Length < 4) return false;
                uint family = linkType == LinkLoop
                    ? BinaryPrimitives.ReadUInt32BigEndian(frame)
                    : BinaryPrimitives.ReadUInt32LittleEndian(frame) is var le && le <= 0xffff ? le : BinaryPrimitives.ReadUInt32BigEndian(frame);
                etherType = family switch { 2 => 0x0800, 10 or 24 or 28 or 30 => 0x86dd, _ => 0 };
                offset = 4;
                break;
            case LinkRaw:
            case LinkRawOpenBsd:
            case LinkRawBsd:
            case LinkIPv4:
            case LinkIPv6:
                if (frame.Length < 1) return false;
                etherType = (frame[0] >> 4) switch { 4 => 0x0800, 6 => 0x86dd, _ => 0 };
                offset = 0;
                break;
            default:
                return TryOtherLinkType(linkType, frame, ref segment);
        }

        return etherType switch
        {
            0x0800 => TryIPv4(frame[offset..], ref segment),
            0x86dd => TryIPv6(frame[offset..], ref segment),
            _ => false,
        };
    }

    // Apart from TryParse, and not inlined into it, so that its locals are never address-taken, which would
    // keep them out of registers on the hot path.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool TryOtherLinkType(int linkType, ReadOnlySpan<byte> frame, ref TcpSegmentView segment)
    {
        if (!LinkLayerFallback.TryFindNetworkLayer(linkType, frame, out int offset, out int etherType))
        {
            return false;
        }

        return etherType == 0x86dd ? TryIPv6(frame[offset..], ref segment) : TryIPv4(frame[offset..], ref segment);
    }

    private static bool TryIPv4(ReadOnlySpan<byte> ip, ref TcpSegmentView segment)
    {
        if (ip.Length < 20 || (ip[0] >> 4) != 4) return false;
        int headerLength = (ip[0] & 0x0f) * 4;
        if (headerLength < 20 || ip.Length < headerLength || ip[9] != 6) return false;
        if ((BinaryPrimitives.ReadUInt16BigEndian(ip[6..]) & 0x1fff) != 0) return false; // not the first fragment
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
        segment.Source = PacketAddress.FromIPv4(ip[12..]);
        segment.Destination = PacketAddress.FromIPv4(ip[16..]);
        // TSO captures on the sender show a total length of 0; then the captured length is all we know.
        int ipPayload = totalLength >= headerLength ? totalLength - headerLength : ip.Length - headerLength;
        return TryTcp(ip[headerLength..], ipPayload, ref segment);
    }

    private static bool TryIPv6(ReadOnlySpan<byte> ip, ref TcpSegmentView segment)
    {
        if (ip.Length < 40 || (ip[0] >> 4) != 6) return false;
        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(ip[4..]);
        int next = ip[6];
        segment.Source = PacketAddress.FromIPv6(ip[8..]);
        segment.Destination = PacketAddress.FromIPv6(ip[24..]);
        int offset = 40;
        for (int hops = 0; hops < 8 && next != 6; hops++)
        {
            if (ip.Length < offset + 8) return false;
            switch (next)
            {
                case 0 or 43 or 60:
                    next = ip[offset];
                    offset += (ip[offset + 1] + 1) * 8;
                    break;
                case 44:
                    if ((BinaryPrimitives.ReadUInt16BigEndian(ip[(offset + 2)..]) & 0xfff8) != 0) return false;
                    next = ip[offset];
                    offset += 8;
                    break;
                case 51:
                    next = ip[offset];
                    offset += (ip[offset + 1] + 2) * 4;
                    break;
                default:
                    return false;
            }
        }

        if (next != 6 || ip.Length < offset) return false;
        int tcpLength = payloadLength > 0 ? payloadLength - (offset - 40) : ip.Length - offset;
        return TryTcp(ip[offset..], tcpLength, ref segment);
    }

    private static bool TryTcp(ReadOnlySpan<byte> tcp, int tcpLength, ref TcpSegmentView segment)
    {
        if (tcp.Length < 20) return false;
        int headerLength = (tcp[12] >> 4) * 4;
        if (headerLength < 20) return false;
        segment.SourcePort = BinaryPrimitives.ReadUInt16BigEndian(tcp);
        segment.DestinationPort = BinaryPrimitives.ReadUInt16BigEndian(tcp[2..]);
        segment.Sequence = BinaryPrimitives.ReadUInt32BigEndian(tcp[4..]);
        segment.Acknowledgment = BinaryPrimitives.ReadUInt32BigEndian(tcp[8..]);
        segment.Flags = (TcpFlags)tcp[13];
        segment.Window = BinaryPrimitives.ReadUInt16BigEndian(tcp[14..]);
        segment.PayloadLength = Math.Max(0, tcpLength - headerLength);
        int captured = Math.Min(headerLength, tcp.Length);
        segment.Options = tcp[20..captured];
        segment.OptionsTruncated = captured < headerLength;
        segment.Payload = tcp.Length > headerLength ? tcp.Slice(headerLength, Math.Min(tcp.Length - headerLength, segment.PayloadLength)) : default;
        return true;
    }
}
