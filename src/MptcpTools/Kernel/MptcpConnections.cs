using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;

namespace MptcpTools.Kernel;

/// <summary>Lists MPTCP connections with their subflows and owners, from sock_diag.</summary>
public static class MptcpConnections
{
    private const ushort SUBFLOW_TOKEN_REM = 1, SUBFLOW_TOKEN_LOC = 2, SUBFLOW_MAP_SEQ = 4, SUBFLOW_MAP_SFSEQ = 5;
    private const ushort SUBFLOW_MAP_DATALEN = 7, SUBFLOW_FLAGS = 8, SUBFLOW_ID_REM = 9, SUBFLOW_ID_LOC = 10;

    public static MptcpConnection[] Read(bool listening, bool subflows, bool owners)
    {
        uint states = SockDiag.ConnectedStates | (listening ? SockDiag.ListenState : 0);
        // Three independent reads (two dumps and the fd scan) run side by side. The scan reads this namespace's
        // processes at once, and others only for the MPTCP sockets still without an owner, which it learns from
        // the MPTCP dump when that is done.
        var dumped = new TaskCompletionSource<MptcpConnection[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<PooledList<MptcpSubflow>> tcp = Task.Run(() => subflows ? ReadSubflows(new PooledList<MptcpSubflow>(1024)) : new PooledList<MptcpSubflow>(1));
        Task<SocketOwnerMap> owner = Task.Run(() => owners
            ? ProcessTable.FindSocketOwners(() => dumped.Task.GetAwaiter().GetResult().Select(c => c.Inode))
            : SocketOwnerMap.Empty);
        MptcpConnection[] connections;
        try
        {
            connections = ReadConnections(states);
            dumped.SetResult(connections);
        }
        catch (Exception e)
        {
            dumped.SetException(e);
            Task.WaitAll(new Task[] { tcp, owner }.Where(t => !t.IsCompleted).ToArray()); // leave nothing running
            throw;
        }

        try
        {
            using PooledList<MptcpSubflow> found = tcp.GetAwaiter().GetResult();
            using SocketOwnerMap map = owner.GetAwaiter().GetResult();
            Attach(connections, found.AsSpan(), map);
            return connections;
        }
        finally
        {
            // Surface nothing twice: a failed task rethrows above through GetResult.
            Task.WaitAll(new Task[] { tcp, owner }.Where(t => !t.IsCompleted).ToArray());
        }
    }

    /// <summary>The MPTCP sockets in the given states, read straight from the dump; subflows and owners come with <see cref="Attach"/>.</summary>
    public static MptcpConnection[] ReadConnections(uint states)
    {
        using var list = new PooledList<MptcpConnection>(1024);
        SockDiag.Dump(Native.IPPROTO_MPTCP, states, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (message) => list.Add(ParseConnection(message)));
        return list.ToArray();
    }

    /// <summary>Every TCP socket that is an MPTCP subflow (ULP "mptcp"); the others are skipped unread.</summary>
    public static MptcpSubflow[] ReadSubflows()
    {
        using PooledList<MptcpSubflow> list = ReadSubflows(new PooledList<MptcpSubflow>(1024));
        return list.ToArray();
    }

    private static PooledList<MptcpSubflow> ReadSubflows(PooledList<MptcpSubflow> list)
    {
        var interfaces = new Dictionary<int, string?>();
        SockDiag.Dump(SockDiag.IPPROTO_TCP, SockDiag.ConnectedStates, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (message) =>
        {
            if (ParseSubflow(message, interfaces) is { } subflow)
            {
                list.Add(subflow);
            }
        });
        return list;
    }

    // The MPTCP dump's message, with its mptcp_info, read straight into a connection.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static MptcpConnection ParseConnection(ReadOnlySpan<byte> m)
    {
        if (m.Length < SockDiag.MessageLength)
        {
            throw new FormatException($"inet_diag_msg of {m.Length} bytes, {SockDiag.MessageLength} expected");
        }

        ReadOnlySpan<byte> infoBytes = default, attributes = m[SockDiag.MessageLength..];
        int offset = 0;
        while (SockDiag.NextAttribute(attributes, ref offset, out ushort type, out ReadOnlySpan<byte> data))
        {
            if (type == SockDiag.INET_DIAG_INFO)
            {
                infoBytes = data;
            }
        }

        // mptcp_info read in place, as MptcpInfo.Parse does, without an object per connection.
        ReadOnlySpan<byte> i = infoBytes;
        bool hasInfo = i.Length >= MptcpInfo.MinimumLength;
        var state = (TcpState)m[1];
        bool v6 = m[0] == Native.AF_INET6;
        byte? total = hasInfo && i.Length > MptcpInfo.SubflowsTotalOffset ? i[MptcpInfo.SubflowsTotalOffset] : null;
        return new MptcpConnection
        {
            Family = v6 ? "IPv6" : "IPv4",
            State = state,
            LocalAddress = new IPAddress(v6 ? m.Slice(8, 16) : m.Slice(8, 4)),
            LocalPort = BinaryPrimitives.ReadUInt16BigEndian(m[4..]),
            RemoteAddress = new IPAddress(v6 ? m.Slice(24, 16) : m.Slice(24, 4)),
            RemotePort = BinaryPrimitives.ReadUInt16BigEndian(m[6..]),
            Token = hasInfo ? BinaryPrimitives.ReadUInt32LittleEndian(i[MptcpInfo.TokenOffset..]) : null,
            ExtraSubflows = hasInfo ? i[0] : null,
            SubflowCount = total is > 0 ? total
                : !hasInfo ? null
                : state == TcpState.Listen ? 0 : i[0] + 1,
            SubflowsMax = hasInfo ? i[3] : null,
            AddAddrSignal = hasInfo ? i[1] : null,
            AddAddrAccepted = hasInfo ? i[2] : null,
            AddAddrSignalMax = hasInfo ? i[4] : null,
            AddAddrAcceptedMax = hasInfo ? i[5] : null,
            Flags = hasInfo ? (MptcpInfoFlags)BinaryPrimitives.ReadUInt32LittleEndian(i[8..]) : MptcpInfoFlags.None,
            ChecksumEnabled = hasInfo && i.Length > MptcpInfo.ChecksumOffset && i[MptcpInfo.ChecksumOffset] != 0,
            BytesSent = MptcpInfo.UInt64At(i, MptcpInfo.BytesSentOffset),
            BytesReceived = MptcpInfo.UInt64At(i, MptcpInfo.BytesReceivedOffset),
            BytesAcked = MptcpInfo.UInt64At(i, MptcpInfo.BytesAckedOffset),
            BytesRetransmitted = MptcpInfo.UInt64At(i, MptcpInfo.BytesRetransmittedOffset),
            Uid = BinaryPrimitives.ReadUInt32LittleEndian(m[64..]),
            Inode = BinaryPrimitives.ReadUInt32LittleEndian(m[68..]),
        };
    }

    /// <summary>
    /// Gives each connection its subflows (matched by token, or without tokens the initial one by its addresses),
    /// its owner, and a note of what the kernel withheld.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Attach(MptcpConnection[] connections, ReadOnlySpan<MptcpSubflow> subflows, SocketOwnerMap owners)
    {
        // Subflows sorted by token: each connection takes its run, found by binary search (no list per token).
        using var tokens = new PooledList<uint>(Math.Max(1, subflows.Length));
        using var byToken = new PooledList<MptcpSubflow>(Math.Max(1, subflows.Length));
        bool tokensKnown = true;
        foreach (MptcpSubflow sf in subflows)
        {
            if (sf.LocalToken is { } t)
            {
                tokens.Add(t);
                byToken.Add(sf);
            }
            else
            {
                tokensKnown = false;
            }
        }

        tokens.AsSpan().Sort(byToken.AsSpan());
        ILookup<(IPAddress, ushort, IPAddress, ushort), MptcpSubflow>? byAddresses = null;
        foreach (MptcpConnection c in connections)
        {
            MptcpSubflow[] mine;
            if (c.Token is { } token && Run(tokens.AsSpan(), token) is (int first, int count) && count > 0)
            {
                mine = byToken.AsSpan().Slice(first, count).ToArray();
            }
            else if (c.State == TcpState.Listen)
            {
                mine = Array.Empty<MptcpSubflow>();
            }
            else
            {
                // Without tokens, only the initial subflow can be told: it has the connection's addresses.
                byAddresses ??= subflows.ToArray().ToLookup(f => (f.LocalAddress, f.LocalPort, f.RemoteAddress, f.RemotePort));
                mine = byAddresses[(c.LocalAddress, c.LocalPort, c.RemoteAddress, c.RemotePort)].ToArray();
            }

            c.Subflows = mine;
            if (owners.TryGet(c.Inode, out int pid, out string? name))
            {
                c.ProcessId = pid;
                c.ProcessName = name;
            }

            bool mappingWithheld = false;
            foreach (MptcpSubflow f in mine)
            {
                mappingWithheld |= f.MapSequence is null;
            }

            c.Note = !tokensKnown
                ? "The kernel gave no subflow tokens: only the initial subflow is matched, by its addresses."
                : mappingWithheld
                    ? "The kernel withholds the subflows' mapping sequence numbers from processes without CAP_NET_ADMIN."
                    : null;
        }
    }

    // The first index and the number of entries equal to token in a sorted span.
    private static (int First, int Count) Run(ReadOnlySpan<uint> sorted, uint token)
    {
        int at = sorted.BinarySearch(token);
        if (at < 0)
        {
            return (0, 0);
        }

        int first = at, last = at;
        while (first > 0 && sorted[first - 1] == token)
        {
            first--;
        }

        while (last + 1 < sorted.Length && sorted[last + 1] == token)
        {
            last++;
        }

        return (first, last - first + 1);
    }

    /// <summary>One inet_diag_msg of the TCP dump as a subflow; null when it is not one (its ULP is not "mptcp").</summary>
    public static MptcpSubflow? ParseSubflow(byte[] message) => ParseSubflow(message, null);

    /// <summary>One inet_diag_msg of the MPTCP dump as a connection without subflows or owner yet.</summary>
    public static MptcpConnection ParseConnection(byte[] message) => ParseConnection(message.AsSpan());

    // The TCP dump's message read straight into a subflow, in one pass over its attributes. interfaces: the
    // names already looked up in this dump (if_indextoname costs a socket and an ioctl per call).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static MptcpSubflow? ParseSubflow(ReadOnlySpan<byte> m, Dictionary<int, string?>? interfaces)
    {
        if (m.Length < SockDiag.MessageLength)
        {
            throw new FormatException($"inet_diag_msg of {m.Length} bytes, {SockDiag.MessageLength} expected");
        }

        ReadOnlySpan<byte> info = default, ulp = default, attributes = m[SockDiag.MessageLength..];
        bool subflow = false;
        int offset = 0;
        while (SockDiag.NextAttribute(attributes, ref offset, out ushort type, out ReadOnlySpan<byte> data))
        {
            if (type == SockDiag.INET_DIAG_INFO)
            {
                info = data;
            }
            else if (type == SockDiag.INET_DIAG_ULP_INFO)
            {
                int nestedOffset = 0;
                while (SockDiag.NextAttribute(data, ref nestedOffset, out ushort nestedType, out ReadOnlySpan<byte> nested))
                {
                    if (nestedType == SockDiag.INET_ULP_INFO_NAME)
                    {
                        int nul = nested.IndexOf((byte)0);
                        subflow = (nul >= 0 ? nested[..nul] : nested).SequenceEqual(SockDiag.MptcpUlp);
                    }
                    else if (nestedType == SockDiag.INET_ULP_INFO_MPTCP)
                    {
                        ulp = nested;
                    }
                }
            }
        }

        if (!subflow)
        {
            return null;
        }

        byte? localId = null, remoteId = null;
        uint flags = 0;
        uint? localToken = null, remoteToken = null, mapSubflowSequence = null;
        ulong? mapSequence = null;
        ushort? mapDataLength = null;
        offset = 0;
        while (SockDiag.NextAttribute(ulp, ref offset, out ushort type, out ReadOnlySpan<byte> d))
        {
            switch (type)
            {
                case SUBFLOW_ID_LOC: localId = d.Length >= 1 ? d[0] : throw Short(type, d, 1); break;
                case SUBFLOW_ID_REM: remoteId = d.Length >= 1 ? d[0] : throw Short(type, d, 1); break;
                case SUBFLOW_FLAGS: flags = U32(type, d); break;
                case SUBFLOW_TOKEN_LOC: localToken = U32(type, d); break;
                case SUBFLOW_TOKEN_REM: remoteToken = U32(type, d); break;
                case SUBFLOW_MAP_SEQ: mapSequence = d.Length >= 8 ? BinaryPrimitives.ReadUInt64LittleEndian(d) : null; break;
                case SUBFLOW_MAP_SFSEQ: mapSubflowSequence = U32(type, d); break;
                case SUBFLOW_MAP_DATALEN: mapDataLength = d.Length >= 2 ? BinaryPrimitives.ReadUInt16LittleEndian(d) : throw Short(type, d, 2); break;
            }
        }

        bool hasTcp = info.Length >= TcpInfo.MinimumLength; // tcp_info read in place, as TcpInfo.Parse does
        bool v6 = m[0] == Native.AF_INET6;
        int ifIndex = (int)BinaryPrimitives.ReadUInt32LittleEndian(m[40..]);
        return new MptcpSubflow
        {
            LocalAddress = new IPAddress(v6 ? m.Slice(8, 16) : m.Slice(8, 4)),
            LocalPort = BinaryPrimitives.ReadUInt16BigEndian(m[4..]),
            RemoteAddress = new IPAddress(v6 ? m.Slice(24, 16) : m.Slice(24, 4)),
            RemotePort = BinaryPrimitives.ReadUInt16BigEndian(m[6..]),
            Interface = ifIndex == 0 ? null : InterfaceName(ifIndex, interfaces),
            State = (TcpState)m[1],
            LocalId = localId,
            RemoteId = remoteId,
            Flags = (MptcpSubflowFlags)flags,
            LocalToken = localToken,
            RemoteToken = remoteToken,
            MapSequence = mapSequence,
            MapSubflowSequence = mapSubflowSequence,
            MapDataLength = mapDataLength,
            Rtt = hasTcp ? TcpInfo.RttAt(info) : null,
            Retransmissions = hasTcp ? BinaryPrimitives.ReadUInt32LittleEndian(info[TcpInfo.TotalRetransmitsOffset..]) : null,
            BytesSent = hasTcp ? MptcpInfo.UInt64At(info, TcpInfo.BytesSentOffset) : null,
            BytesAcked = hasTcp ? MptcpInfo.UInt64At(info, TcpInfo.BytesAckedOffset) : null,
            BytesReceived = hasTcp ? MptcpInfo.UInt64At(info, TcpInfo.BytesReceivedOffset) : null,
            Cookie = BinaryPrimitives.ReadUInt32LittleEndian(m[44..]) | ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(m[48..]) << 32),
        };

        static uint U32(ushort type, ReadOnlySpan<byte> d) => d.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(d) : throw Short(type, d, 4);
        static FormatException Short(ushort type, ReadOnlySpan<byte> d, int wanted) =>
            new($"netlink attribute {type} carries {d.Length} bytes, {wanted} expected");
    }

    private static string? InterfaceName(int index, Dictionary<int, string?>? known)
    {
        if (known is null)
        {
            return InterfaceNames.NameOf(index);
        }

        if (!known.TryGetValue(index, out string? name))
        {
            known[index] = name = InterfaceNames.NameOf(index);
        }

        return name;
    }
}
