using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;

namespace MptcpTools.Kernel;

/// <summary>Lists MPTCP connections with their subflows and owners, from sock_diag.</summary>
public static class MptcpConnections
{
    private const ushort SUBFLOW_TOKEN_REM = 1, SUBFLOW_TOKEN_LOC = 2, SUBFLOW_MAP_SEQ = 4, SUBFLOW_MAP_SFSEQ = 5;
    private const ushort SUBFLOW_MAP_DATALEN = 7, SUBFLOW_FLAGS = 8, SUBFLOW_ID_REM = 9, SUBFLOW_ID_LOC = 10;

    public static List<MptcpConnection> Read(bool listening, bool subflows, bool owners)
    {
        uint states = SockDiag.ConnectedStates | (listening ? SockDiag.ListenState : 0);
        // Three independent reads (two dumps and the fd scan): run them side by side.
        var tcp = System.Threading.Tasks.Task.Run(() => subflows ? ReadSubflows() : new List<MptcpSubflow>());
        var owner = System.Threading.Tasks.Task.Run(() => owners ? ProcessTable.SocketOwners() : new Dictionary<uint, (int, string)>());
        List<DiagSocket> mptcp = SockDiag.DumpMptcp(states);
        try
        {
            return Assemble(mptcp, tcp.GetAwaiter().GetResult(), owner.GetAwaiter().GetResult());
        }
        finally
        {
            // Surface nothing twice: a failed task rethrows above through GetResult.
            System.Threading.Tasks.Task.WaitAll(new System.Threading.Tasks.Task[] { tcp, owner }.Where(t => !t.IsCompleted).ToArray());
        }
    }

    /// <summary>Every TCP socket that is an MPTCP subflow (ULP "mptcp").</summary>
    public static List<MptcpSubflow> ReadSubflows()
    {
        var list = new List<MptcpSubflow>();
        foreach (DiagSocket s in SockDiag.DumpTcp(SockDiag.ConnectedStates))
        {
            if (s.UlpName == "mptcp")
            {
                list.Add(ToSubflow(s));
            }
        }

        return list;
    }

    public static List<MptcpConnection> Assemble(List<DiagSocket> mptcp, List<MptcpSubflow> subflows, Dictionary<uint, (int Pid, string Name)> owners)
    {
        var connections = new List<MptcpConnection>(mptcp.Count);
        var byToken = new Dictionary<uint, List<MptcpSubflow>>();
        bool tokensKnown = subflows.Count == 0 || subflows.All(s => s.LocalToken is not null);
        foreach (MptcpSubflow sf in subflows)
        {
            if (sf.LocalToken is { } t)
            {
                if (!byToken.TryGetValue(t, out List<MptcpSubflow>? l))
                {
                    byToken[t] = l = new List<MptcpSubflow>();
                }

                l.Add(sf);
            }
        }

        foreach (DiagSocket s in mptcp)
        {
            MptcpInfo? info = s.Info is { Length: >= 40 } bytes ? MptcpInfo.Parse(bytes) : null;
            MptcpSubflow[] mine;
            if (info is not null && byToken.TryGetValue(info.Token, out List<MptcpSubflow>? found))
            {
                mine = found.ToArray();
            }
            else
            {
                // Without tokens, only the initial subflow can be told: it has the connection's addresses.
                mine = subflows.Where(f => f.LocalPort == s.LocalPort && f.RemotePort == s.RemotePort
                                           && f.LocalAddress.Equals(s.LocalAddress) && f.RemoteAddress.Equals(s.RemoteAddress)).ToArray();
            }

            int? total = info?.SubflowsTotal is { } st && st > 0 ? st
                : info is null ? null
                : s.State == TcpState.Listen ? 0 : info.ExtraSubflows + 1;
            owners.TryGetValue(s.Inode, out (int Pid, string Name) who);
            connections.Add(new MptcpConnection
            {
                Family = s.Family == Native.AF_INET6 ? "IPv6" : "IPv4",
                State = s.State,
                LocalAddress = s.LocalAddress,
                LocalPort = s.LocalPort,
                RemoteAddress = s.RemoteAddress,
                RemotePort = s.RemotePort,
                Token = info?.Token,
                ExtraSubflows = info?.ExtraSubflows,
                SubflowCount = total,
                SubflowsMax = info?.SubflowsMax,
                AddAddrSignal = info?.AddAddrSignal,
                AddAddrAccepted = info?.AddAddrAccepted,
                AddAddrSignalMax = info?.AddAddrSignalMax,
                AddAddrAcceptedMax = info?.AddAddrAcceptedMax,
                Flags = info?.Flags ?? MptcpInfoFlags.None,
                ChecksumEnabled = info?.ChecksumEnabled ?? false,
                BytesSent = info?.BytesSent,
                BytesReceived = info?.BytesReceived,
                BytesAcked = info?.BytesAcked,
                BytesRetransmitted = info?.BytesRetransmitted,
                Inode = s.Inode,
                Uid = s.Uid,
                ProcessId = who.Pid == 0 ? null : who.Pid,
                ProcessName = who.Pid == 0 ? null : who.Name,
                Subflows = mine,
                Note = !tokensKnown
                    ? "The kernel gave no subflow tokens: only the initial subflow is matched, by its addresses."
                    : mine.Any(f => f.MapSequence is null)
                        ? "The kernel withholds the subflows' mapping sequence numbers from processes without CAP_NET_ADMIN."
                        : null,
            });
        }

        return connections;
    }

    public static MptcpSubflow ToSubflow(DiagSocket s)
    {
        IReadOnlyList<NetlinkAttribute> a = s.UlpMptcp ?? Array.Empty<NetlinkAttribute>();
        TcpInfo? tcp = s.Info is { Length: >= 104 } bytes ? TcpInfo.Parse(bytes) : null;
        return new MptcpSubflow
        {
            LocalAddress = s.LocalAddress,
            LocalPort = s.LocalPort,
            RemoteAddress = s.RemoteAddress,
            RemotePort = s.RemotePort,
            Interface = s.InterfaceIndex != 0 ? InterfaceNames.NameOf(s.InterfaceIndex) : null,
            State = s.State,
            LocalId = NetlinkAttributes.Find(a, SUBFLOW_ID_LOC)?.AsByte(),
            RemoteId = NetlinkAttributes.Find(a, SUBFLOW_ID_REM)?.AsByte(),
            Flags = (MptcpSubflowFlags)(NetlinkAttributes.Find(a, SUBFLOW_FLAGS)?.AsUInt32() ?? 0),
            LocalToken = NetlinkAttributes.Find(a, SUBFLOW_TOKEN_LOC)?.AsUInt32(),
            RemoteToken = NetlinkAttributes.Find(a, SUBFLOW_TOKEN_REM)?.AsUInt32(),
            MapSequence = NetlinkAttributes.Find(a, SUBFLOW_MAP_SEQ) is { Data.Length: >= 8 } seq ? BitConverter.ToUInt64(seq.Data.Span) : null,
            MapSubflowSequence = NetlinkAttributes.Find(a, SUBFLOW_MAP_SFSEQ)?.AsUInt32(),
            MapDataLength = NetlinkAttributes.Find(a, SUBFLOW_MAP_DATALEN)?.AsUInt16(),
            Rtt = tcp?.Rtt,
            Retransmissions = tcp?.TotalRetransmits,
            BytesSent = tcp?.BytesSent,
            BytesAcked = tcp?.BytesAcked,
            BytesReceived = tcp?.BytesReceived,
            Cookie = s.Cookie,
        };
    }
}
