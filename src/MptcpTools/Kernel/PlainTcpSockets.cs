using System.Collections.Generic;
using System.Net;

namespace MptcpTools.Kernel;

/// <summary>A TCP socket that is not an MPTCP subflow: a program's plain TCP connection or listener.</summary>
public sealed record PlainTcpSocket
{
    public IPAddress LocalAddress { get; init; } = IPAddress.None;
    public ushort LocalPort { get; init; }
    public IPAddress RemoteAddress { get; init; } = IPAddress.None;
    public ushort RemotePort { get; init; }
    public TcpState State { get; init; }
    public uint Inode { get; init; }
    public uint Uid { get; init; }
    /// <summary>tcp_info's bytes acknowledged by the peer and received from it (null on kernels without them).</summary>
    public ulong? BytesAcked { get; init; }
    public ulong? BytesReceived { get; init; }

    public override string ToString() => $"{LocalAddress}:{LocalPort} > {RemoteAddress}:{RemotePort} {State}";
}

/// <summary>This namespace's plain TCP sockets, from sock_diag (`ss -tn` without MPTCP's subflows).</summary>
public static class PlainTcpSockets
{
    public static List<PlainTcpSocket> Read(bool listening)
    {
        var list = new List<PlainTcpSocket>();
        uint states = SockDiag.ConnectedStates | (listening ? SockDiag.ListenState : 0);
        foreach (DiagSocket s in SockDiag.DumpTcp(states))
        {
            if (s.UlpName == "mptcp")
            {
                continue; // a subflow of an MPTCP connection, not a plain TCP socket of the program
            }

            TcpInfo? info = s.Info is { Length: >= 104 } bytes ? TcpInfo.Parse(bytes) : null;
            list.Add(new PlainTcpSocket
            {
                LocalAddress = s.LocalAddress, LocalPort = s.LocalPort, RemoteAddress = s.RemoteAddress, RemotePort = s.RemotePort,
                State = s.State, Inode = s.Inode, Uid = s.Uid, BytesAcked = info?.BytesAcked, BytesReceived = info?.BytesReceived,
            });
        }

        return list;
    }
}
