using System.Collections.Generic;
using System.Linq;

namespace MptcpTools.Kernel;

/// <summary>The socket inodes of this namespace by kind, to tell a process's TCP sockets from its MPTCP ones.</summary>
public sealed class SocketInodes
{
    public HashSet<uint> Tcp { get; } = new();
    public HashSet<uint> TcpListen { get; } = new();
    public HashSet<uint> Mptcp { get; } = new();
    public HashSet<uint> MptcpListen { get; } = new();

    public static SocketInodes Load()
    {
        var sets = new SocketInodes();
        uint all = SockDiag.ConnectedStates | SockDiag.ListenState;
        // A subflow (ULP "mptcp") can carry its MPTCP socket's inode: it is not a TCP socket of the program.
        foreach (DiagSocket s in SockDiag.DumpTcp(all).Where(s => s.Inode != 0 && s.UlpName != "mptcp"))
        {
            sets.Tcp.Add(s.Inode);
            if (s.State == TcpState.Listen) sets.TcpListen.Add(s.Inode);
        }

        foreach (DiagSocket s in SockDiag.DumpMptcp(all).Where(s => s.Inode != 0))
        {
            sets.Mptcp.Add(s.Inode);
            if (s.State == TcpState.Listen) sets.MptcpListen.Add(s.Inode);
        }

        return sets;
    }

    public ProcessFacts Read(int pid) => ProcessFacts.Read(pid, this);
}
