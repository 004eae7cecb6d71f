using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text;

namespace MptcpTools.Kernel;

/// <summary>TCP states as the kernel numbers them (include/net/tcp_states.h).</summary>
public enum TcpState : byte
{
    Unknown = 0,
    Established = 1,
    SynSent = 2,
    SynRecv = 3,
    FinWait1 = 4,
    FinWait2 = 5,
    TimeWait = 6,
    Close = 7,
    CloseWait = 8,
    LastAck = 9,
    Listen = 10,
    Closing = 11,
    NewSynRecv = 12,
}

/// <summary>mptcp_info flags.</summary>
[Flags]
public enum MptcpInfoFlags : uint
{
    None = 0,
    /// <summary>The connection fell back to plain TCP.</summary>
    Fallback = 1,
    /// <summary>The peer's key was received (the MPTCP handshake completed).</summary>
    RemoteKeyReceived = 2,
}

/// <summary>MPTCP subflow flags from the ULP info (MPTCP_SUBFLOW_FLAG_*).</summary>
[Flags]
public enum MptcpSubflowFlags : uint
{
    None = 0,
    MpCapableRemote = 1,
    MpCapableLocal = 2,
    MpJoinRemote = 4,
    MpJoinLocal = 8,
    BackupRemote = 16,
    BackupLocal = 32,
    FullyEstablished = 64,
    Connected = 128,
    MappingValid = 256,
}

/// <summary>One socket from an inet_diag dump: the header fields and the attributes this module reads.</summary>
public sealed class DiagSocket
{
    public int Family { get; init; }
    public TcpState State { get; init; }
    public IPAddress LocalAddress { get; init; } = IPAddress.None;
    public ushort LocalPort { get; init; }
    public IPAddress RemoteAddress { get; init; } = IPAddress.None;
    public ushort RemotePort { get; init; }
    public int InterfaceIndex { get; init; }
    public ulong Cookie { get; init; }
    public uint Uid { get; init; }
    public uint Inode { get; init; }
    public uint ReceiveQueue { get; init; }
    public uint SendQueue { get; init; }
    /// <summary>INET_DIAG_INFO: tcp_info for TCP sockets, mptcp_info for MPTCP sockets.</summary>
    public byte[]? Info { get; init; }
    /// <summary>The ULP name ("mptcp" for subflows) and its nested MPTCP attributes.</summary>
    public string? UlpName { get; init; }
    public IReadOnlyList<NetlinkAttribute>? UlpMptcp { get; init; }
}

/// <summary>
/// sock_diag (NETLINK_SOCK_DIAG, inet_diag) dumps: MPTCP sockets (protocol 262 through the
/// INET_DIAG_REQ_PROTOCOL attribute, since the request's protocol field is a u8) and TCP sockets with
/// their ULP info. The reference is `ss -Mni` and `ss -tni`.
/// </summary>
public static class SockDiag
{
    public const ushort SOCK_DIAG_BY_FAMILY = 20;
    public const byte IPPROTO_TCP = 6;
    private const ushort INET_DIAG_REQ_PROTOCOL = 3;
    internal const ushort INET_DIAG_INFO = 2;
    internal const ushort INET_DIAG_ULP_INFO = 19;
    internal const ushort INET_ULP_INFO_NAME = 1;
    internal const ushort INET_ULP_INFO_MPTCP = 3;

    /// <summary>Every state except LISTEN, CLOSE and NEW_SYN_RECV: what `ss` shows without -a.</summary>
    public const uint ConnectedStates = 0x1fff & ~((1u << 10) | (1u << 7) | (1u << 12));
    public const uint ListenState = 1u << 10;

    /// <summary>Dumps MPTCP sockets (IPv4 and IPv6) in the given states.</summary>
    public static List<DiagSocket> DumpMptcp(uint states) => Dump(Native.IPPROTO_MPTCP, states);

    /// <summary>Dumps TCP sockets (IPv4 and IPv6) in the given states, with tcp_info and ULP info.</summary>
    public static List<DiagSocket> DumpTcp(uint states) => Dump(IPPROTO_TCP, states);

    private static List<DiagSocket> Dump(int protocol, uint states)
    {
        var sockets = new List<DiagSocket>();
        Dump(protocol, states, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (payload) => sockets.Add(Parse(payload)));
        return sockets;
    }

    /// <summary>
    /// Dumps the sockets of one protocol (IPv4, then IPv6) in the given states, handing each inet_diag_msg to
    /// <paramref name="handler"/> straight from the receive buffer, so a caller that keeps only some of them
    /// (the subflows among all TCP sockets) allocates nothing for the rest.
    /// </summary>
    public static void Dump(int protocol, uint states, NetlinkPayloadHandler handler)
    {
        using NetlinkSocket netlink = NetlinkSocket.Open(Native.NETLINK_SOCK_DIAG);
        string operation = $"list {(protocol == IPPROTO_TCP ? "TCP" : "MPTCP")} sockets";
        foreach (int family in new[] { Native.AF_INET, Native.AF_INET6 })
        {
            netlink.Dump(BuildRequest(family, protocol, states), operation, SOCK_DIAG_BY_FAMILY, handler);
        }
    }

    /// <summary>The request: struct inet_diag_req_v2, plus the protocol attribute for MPTCP.</summary>
    public static NetlinkRequestBuilder BuildRequest(int family, int protocol, uint states)
    {
        Span<byte> req = stackalloc byte[56];
        req.Clear();
        req[0] = (byte)family;
        req[1] = protocol > 255 ? IPPROTO_TCP : (byte)protocol;
        req[2] = 1 << (INET_DIAG_INFO - 1); // idiag_ext: ask for INET_DIAG_INFO
        BinaryPrimitives.WriteUInt32LittleEndian(req[4..], states);
        BinaryPrimitives.WriteUInt32LittleEndian(req[48..], 0xffffffff); // cookie: none
        BinaryPrimitives.WriteUInt32LittleEndian(req[52..], 0xffffffff);
        var builder = new NetlinkRequestBuilder(SOCK_DIAG_BY_FAMILY, Netlink.NLM_F_REQUEST | Netlink.NLM_F_DUMP).Raw(req);
        if (protocol > 255)
        {
            builder.UInt32(INET_DIAG_REQ_PROTOCOL, (uint)protocol);
        }

        return builder;
    }

    /// <summary>Reads struct inet_diag_msg and its attributes.</summary>
    public static DiagSocket Parse(ReadOnlyMemory<byte> payload) => Parse(payload.Span);

    /// <summary>Reads struct inet_diag_msg and its attributes; the attributes kept are copied out of the buffer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static DiagSocket Parse(ReadOnlySpan<byte> m)
    {
        if (m.Length < MessageLength)
        {
            throw new FormatException($"inet_diag_msg of {m.Length} bytes, {MessageLength} expected");
        }

        int family = m[0];
        bool v6 = family == Native.AF_INET6;
        byte[]? info = null;
        string? ulpName = null;
        IReadOnlyList<NetlinkAttribute>? ulpMptcp = null;
        ReadOnlySpan<byte> attributes = m[MessageLength..];
        int offset = 0;
        while (NextAttribute(attributes, ref offset, out ushort type, out ReadOnlySpan<byte> data))
        {
            if (type == INET_DIAG_INFO)
            {
                info = data.ToArray();
            }
            else if (type == INET_DIAG_ULP_INFO)
            {
                int nestedOffset = 0;
                while (NextAttribute(data, ref nestedOffset, out ushort nestedType, out ReadOnlySpan<byte> nested))
                {
                    if (nestedType == INET_ULP_INFO_NAME)
                    {
                        int nul = nested.IndexOf((byte)0);
                        ReadOnlySpan<byte> text = nul >= 0 ? nested[..nul] : nested;
                        ulpName = text.SequenceEqual(MptcpUlp) ? "mptcp" : Encoding.UTF8.GetString(text);
                    }
                    else if (nestedType == INET_ULP_INFO_MPTCP)
                    {
                        ulpMptcp = NetlinkAttributes.Parse(nested.ToArray());
                    }
                }
            }
        }

        return new DiagSocket
        {
            Family = family,
            State = (TcpState)m[1],
            LocalPort = BinaryPrimitives.ReadUInt16BigEndian(m[4..]),
            RemotePort = BinaryPrimitives.ReadUInt16BigEndian(m[6..]),
            LocalAddress = new IPAddress(v6 ? m.Slice(8, 16) : m.Slice(8, 4)),
            RemoteAddress = new IPAddress(v6 ? m.Slice(24, 16) : m.Slice(24, 4)),
            InterfaceIndex = (int)BinaryPrimitives.ReadUInt32LittleEndian(m[40..]),
            Cookie = BinaryPrimitives.ReadUInt32LittleEndian(m[44..]) | ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(m[48..]) << 32),
            ReceiveQueue = BinaryPrimitives.ReadUInt32LittleEndian(m[56..]),
            SendQueue = BinaryPrimitives.ReadUInt32LittleEndian(m[60..]),
            Uid = BinaryPrimitives.ReadUInt32LittleEndian(m[64..]),
            Inode = BinaryPrimitives.ReadUInt32LittleEndian(m[68..]),
            Info = info,
            UlpName = ulpName,
            UlpMptcp = ulpMptcp,
        };
    }

    internal const int MessageLength = 72;
    internal static ReadOnlySpan<byte> MptcpUlp => "mptcp"u8;

    // The next attribute of a run; false at its end. Throws on an attribute that claims more than the buffer holds.
    internal static bool NextAttribute(ReadOnlySpan<byte> buffer, scoped ref int offset, out ushort type, out ReadOnlySpan<byte> data)
    {
        if (offset + 4 > buffer.Length)
        {
            type = 0;
            data = default;
            return false;
        }

        ushort length = BinaryPrimitives.ReadUInt16LittleEndian(buffer[offset..]);
        type = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(buffer[(offset + 2)..]) & Netlink.NLA_TYPE_MASK);
        if (length < 4 || offset + length > buffer.Length)
        {
            throw new FormatException($"netlink attribute at offset {offset} claims {length} bytes, {buffer.Length - offset} remain");
        }

        data = buffer.Slice(offset + 4, length - 4);
        offset += Netlink.Align(length);
        return true;
    }
}

/// <summary>struct mptcp_info (include/uapi/linux/mptcp.h), read as far as the kernel's copy reaches.</summary>
public sealed class MptcpInfo
{
    public byte ExtraSubflows { get; init; }
    public byte AddAddrSignal { get; init; }
    public byte AddAddrAccepted { get; init; }
    public byte SubflowsMax { get; init; }
    public byte AddAddrSignalMax { get; init; }
    public byte AddAddrAcceptedMax { get; init; }
    public MptcpInfoFlags Flags { get; init; }
    public uint Token { get; init; }
    public ulong WriteSequence { get; init; }
    public ulong SendUnacknowledged { get; init; }
    public ulong ReceiveNext { get; init; }
    public byte LocalAddressesUsed { get; init; }
    public byte LocalAddressesMax { get; init; }
    public bool ChecksumEnabled { get; init; }
    public uint? Retransmits { get; init; }
    public ulong? BytesRetransmitted { get; init; }
    public ulong? BytesSent { get; init; }
    public ulong? BytesReceived { get; init; }
    public ulong? BytesAcked { get; init; }
    /// <summary>Subflows including the initial one (newer kernels only).</summary>
    public byte? SubflowsTotal { get; init; }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static MptcpInfo Parse(ReadOnlySpan<byte> b)
    {
        if (b.Length < 40)
        {
            throw new FormatException($"mptcp_info of {b.Length} bytes is shorter than its first fields (40)");
        }

        return new MptcpInfo
        {
            ExtraSubflows = b[0],
            AddAddrSignal = b[1],
            AddAddrAccepted = b[2],
            SubflowsMax = b[3],
            AddAddrSignalMax = b[4],
            AddAddrAcceptedMax = b[5],
            Flags = (MptcpInfoFlags)BinaryPrimitives.ReadUInt32LittleEndian(b[8..]),
            Token = BinaryPrimitives.ReadUInt32LittleEndian(b[TokenOffset..]),
            WriteSequence = BinaryPrimitives.ReadUInt64LittleEndian(b[16..]),
            SendUnacknowledged = BinaryPrimitives.ReadUInt64LittleEndian(b[24..]),
            ReceiveNext = BinaryPrimitives.ReadUInt64LittleEndian(b[32..]),
            LocalAddressesUsed = b.Length > 40 ? b[40] : (byte)0,
            LocalAddressesMax = b.Length > 41 ? b[41] : (byte)0,
            ChecksumEnabled = b.Length > ChecksumOffset && b[ChecksumOffset] != 0,
            Retransmits = b.Length >= 48 ? BinaryPrimitives.ReadUInt32LittleEndian(b[44..]) : null,
            BytesRetransmitted = UInt64At(b, BytesRetransmittedOffset),
            BytesSent = UInt64At(b, BytesSentOffset),
            BytesReceived = UInt64At(b, BytesReceivedOffset),
            BytesAcked = UInt64At(b, BytesAckedOffset),
            SubflowsTotal = b.Length > SubflowsTotalOffset ? b[SubflowsTotalOffset] : null,
        };
    }

    // Offsets of the fields a connection listing reads straight from the dump (MptcpConnections.ParseConnection).
    internal const int MinimumLength = 40, TokenOffset = 12, ChecksumOffset = 42, BytesRetransmittedOffset = 48, BytesSentOffset = 56;
    internal const int BytesReceivedOffset = 64, BytesAckedOffset = 72, SubflowsTotalOffset = 80;

    /// <summary>A u64 field, or null when the kernel's copy of the struct ends before it.</summary>
    internal static ulong? UInt64At(ReadOnlySpan<byte> b, int offset) =>
        b.Length >= offset + 8 ? BinaryPrimitives.ReadUInt64LittleEndian(b[offset..]) : null;
}

/// <summary>The struct tcp_info figures that matter to MPTCP diagnosis.</summary>
public sealed class TcpInfo
{
    public TcpState State { get; init; }
    public TimeSpan Rtt { get; init; }
    public TimeSpan RttVariance { get; init; }
    public uint Retransmits { get; init; }
    public uint TotalRetransmits { get; init; }
    public uint Mss { get; init; }
    public uint CongestionWindow { get; init; }
    public ulong? BytesAcked { get; init; }
    public ulong? BytesReceived { get; init; }
    public ulong? BytesSent { get; init; }
    public ulong? BytesRetransmitted { get; init; }
    public uint? SegmentsOut { get; init; }
    public uint? SegmentsIn { get; init; }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static TcpInfo Parse(ReadOnlySpan<byte> b)
    {
        if (b.Length < 104)
        {
            throw new FormatException($"tcp_info of {b.Length} bytes is shorter than its classic part (104)");
        }

        return new TcpInfo
        {
            State = (TcpState)b[0],
            Retransmits = b[2],
            Mss = BinaryPrimitives.ReadUInt32LittleEndian(b[16..]),
            Rtt = RttAt(b),
            RttVariance = TimeSpan.FromTicks(BinaryPrimitives.ReadUInt32LittleEndian(b[72..]) * 10L),
            CongestionWindow = BinaryPrimitives.ReadUInt32LittleEndian(b[80..]),
            TotalRetransmits = BinaryPrimitives.ReadUInt32LittleEndian(b[TotalRetransmitsOffset..]),
            BytesAcked = MptcpInfo.UInt64At(b, BytesAckedOffset),
            BytesReceived = MptcpInfo.UInt64At(b, BytesReceivedOffset),
            SegmentsOut = b.Length >= 140 ? BinaryPrimitives.ReadUInt32LittleEndian(b[136..]) : null,
            SegmentsIn = b.Length >= 144 ? BinaryPrimitives.ReadUInt32LittleEndian(b[140..]) : null,
            BytesSent = MptcpInfo.UInt64At(b, BytesSentOffset),
            BytesRetransmitted = b.Length >= 216 ? BinaryPrimitives.ReadUInt64LittleEndian(b[208..]) : null,
        };
    }

    // Offsets of the fields a connection listing reads straight from the dump (MptcpConnections.ParseSubflow).
    internal const int MinimumLength = 104, TotalRetransmitsOffset = 100, BytesAckedOffset = 120, BytesReceivedOffset = 128, BytesSentOffset = 200;

    /// <summary>tcpi_rtt, in microseconds in the struct.</summary>
    internal static TimeSpan RttAt(ReadOnlySpan<byte> b) => TimeSpan.FromTicks(BinaryPrimitives.ReadUInt32LittleEndian(b[68..]) * 10L);
}
