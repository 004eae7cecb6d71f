using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;

namespace MptcpTools.Kernel;

/// <summary>One TCP subflow of an MPTCP connection, from the TCP dump's ULP info and tcp_info.</summary>
public sealed class MptcpSubflow
{
    public IPAddress LocalAddress { get; init; } = IPAddress.None;
    public ushort LocalPort { get; init; }
    public IPAddress RemoteAddress { get; init; } = IPAddress.None;
    public ushort RemotePort { get; init; }
    public string? Interface { get; init; }
    public TcpState State { get; init; }
    public byte? LocalId { get; init; }
    public byte? RemoteId { get; init; }
    public MptcpSubflowFlags Flags { get; init; }
    public bool Backup => (Flags & (MptcpSubflowFlags.BackupLocal | MptcpSubflowFlags.BackupRemote)) != 0;
    public uint? LocalToken { get; init; }
    public uint? RemoteToken { get; init; }
    /// <summary>The current mapping; null without CAP_NET_ADMIN (the kernel gives sequence numbers only to it).</summary>
    public ulong? MapSequence { get; init; }
    public uint? MapSubflowSequence { get; init; }
    public ushort? MapDataLength { get; init; }
    public TimeSpan? Rtt { get; init; }
    public uint? Retransmissions { get; init; }
    public ulong? BytesSent { get; init; }
    public ulong? BytesAcked { get; init; }
    public ulong? BytesReceived { get; init; }
    public ulong Cookie { get; init; }

    public override string ToString() => $"{LocalAddress}:{LocalPort} > {RemoteAddress}:{RemotePort} {State} ids {LocalId}/{RemoteId}{(Backup ? " backup" : "")}";
}

/// <summary>One MPTCP socket (connection or listener), from the MPTCP dump's mptcp_info.</summary>
public sealed class MptcpConnection
{
    public string Family { get; init; } = "";
    public TcpState State { get; init; }
    public IPAddress LocalAddress { get; init; } = IPAddress.None;
    public ushort LocalPort { get; init; }
    public IPAddress RemoteAddress { get; init; } = IPAddress.None;
    public ushort RemotePort { get; init; }
    public uint? Token { get; init; }
    /// <summary>Subflows besides the initial one (mptcp_info.subflows).</summary>
    public int? ExtraSubflows { get; init; }
    /// <summary>Every subflow, the initial one included.</summary>
    public int? SubflowCount { get; init; }
    public int? SubflowsMax { get; init; }
    public int? AddAddrSignal { get; init; }
    public int? AddAddrAccepted { get; init; }
    public int? AddAddrSignalMax { get; init; }
    public int? AddAddrAcceptedMax { get; init; }
    public MptcpInfoFlags Flags { get; init; }
    public bool Fallback => (Flags & MptcpInfoFlags.Fallback) != 0;
    public bool RemoteKeyReceived => (Flags & MptcpInfoFlags.RemoteKeyReceived) != 0;
    public bool ChecksumEnabled { get; init; }
    public ulong? BytesSent { get; init; }
    public ulong? BytesReceived { get; init; }
    public ulong? BytesAcked { get; init; }
    public ulong? BytesRetransmitted { get; init; }
    public uint Inode { get; init; }
    public uint Uid { get; init; }
    public int? ProcessId { get; init; }
    public string? ProcessName { get; init; }
    public MptcpSubflow[] Subflows { get; init; } = Array.Empty<MptcpSubflow>();
    /// <summary>What the kernel did not tell, and so what this object lacks.</summary>
    public string? Note { get; init; }

    public override string ToString() => $"{LocalAddress}:{LocalPort} > {RemoteAddress}:{RemotePort} {State} token {Token:x8} subflows {SubflowCount}";
}

/// <summary>Process table readers: which process owns a socket inode, and what a process is.</summary>
public static class ProcessTable
{
    /// <summary>Socket inode to (pid, name) for every process whose fds this process may read.</summary>
    public static Dictionary<uint, (int Pid, string Name)> SocketOwners(string proc = "/proc")
    {
        var owners = new Dictionary<uint, (int, string)>();
        foreach (string dir in Directory.EnumerateDirectories(proc))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                continue;
            }

            string? name = null;
            foreach (uint inode in SocketInodes(pid, proc))
            {
                name ??= CommandName(pid, proc) ?? "";
                owners.TryAdd(inode, (pid, name));
            }
        }

        return owners;
    }

    /// <summary>The socket inodes among a process's file descriptors (empty when unreadable).</summary>
    public static List<uint> SocketInodes(int pid, string proc = "/proc")
    {
        var inodes = new List<uint>();
        string dir = $"{proc}/{pid}/fd";
        try
        {
            foreach (string fd in Directory.EnumerateFileSystemEntries(dir))
            {
                if (ReadSocketInode(fd) is { } inode)
                {
                    inodes.Add(inode);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return inodes;
    }

    // readlink(2) straight into a stack buffer: thousands of descriptors must not cost thousands of
    // FileInfo objects. A socket's link reads "socket:[INODE]".
    private static unsafe uint? ReadSocketInode(string path)
    {
        Span<byte> name = stackalloc byte[path.Length * 3 + 1];
        int n = System.Text.Encoding.UTF8.GetBytes(path, name);
        name[n] = 0;
        byte* target = stackalloc byte[64];
        nint length;
        fixed (byte* p = name)
        {
            length = Native.ReadLink(p, target, 64);
        }

        var link = new ReadOnlySpan<byte>(target, (int)Math.Max(0, length));
        ReadOnlySpan<byte> prefix = "socket:["u8;
        if (length < prefix.Length + 2 || !link.StartsWith(prefix) || link[^1] != (byte)']')
        {
            return null;
        }

        uint inode = 0;
        foreach (byte b in link[prefix.Length..^1])
        {
            if (b < (byte)'0' || b > (byte)'9')
            {
                return null;
            }

            inode = inode * 10 + (uint)(b - '0');
        }

        return inode;
    }

    public static string? CommandName(int pid, string proc = "/proc")
    {
        try
        {
            return File.ReadAllText($"{proc}/{pid}/comm").Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

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

/// <summary>What /proc and sock_diag say about one process and its sockets.</summary>
public sealed class ProcessFacts
{
    public int ProcessId { get; init; }
    public string Name { get; init; } = "";
    public string? ExecutablePath { get; init; }
    public string CommandLine { get; init; } = "";
    public int TcpSockets { get; init; }
    public int MptcpSockets { get; init; }
    public int TcpListeners { get; init; }
    public int MptcpListeners { get; init; }
    /// <summary>LD_PRELOAD names libmptcpwrap, or the library is mapped: the process runs under mptcpize.</summary>
    public bool UnderMptcpize { get; init; }
    /// <summary>Whether the program's executable or its own libraries contain the text "--mptcp".</summary>
    public bool HasMptcpSwitch { get; init; }
    public string? Package { get; init; }
    public string? PackageVersion { get; init; }

    /// <summary>
    /// Reads a process. Throws ProcessGoneException when it does not exist (any more) or cannot be read.
    /// </summary>
    public static ProcessFacts Read(int pid, HashSet<uint> tcpInodes, HashSet<uint> tcpListenInodes, HashSet<uint> mptcpInodes, HashSet<uint> mptcpListenInodes)
    {
        string dir = $"/proc/{pid}";
        if (!Directory.Exists(dir))
        {
            throw new ProcessGoneException(pid, $"There is no process {pid}.");
        }

        string name = ProcessTable.CommandName(pid) ?? throw new ProcessGoneException(pid, $"Process {pid} ended while it was read.");
        string? exe = null;
        try
        {
            exe = new FileInfo($"{dir}/exe").LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        string cmdline = TryRead($"{dir}/cmdline")?.Replace('\0', ' ').Trim() ?? "";
        string environ = TryRead($"{dir}/environ") ?? "";
        string maps = TryRead($"{dir}/maps") ?? "";
        List<uint> inodes = ProcessTable.SocketInodes(pid);
        bool mptcpize = environ.Split('\0').Any(v => v.StartsWith("LD_PRELOAD=", StringComparison.Ordinal) && v.Contains("libmptcpwrap", StringComparison.Ordinal))
                        || maps.Contains("libmptcpwrap", StringComparison.Ordinal);
        (string? package, string? version) = exe is null ? (null, null) : DpkgPackage(exe);
        return new ProcessFacts
        {
            ProcessId = pid,
            Name = name,
            ExecutablePath = exe,
            CommandLine = cmdline,
            TcpSockets = inodes.Count(tcpInodes.Contains),
            TcpListeners = inodes.Count(tcpListenInodes.Contains),
            MptcpSockets = inodes.Count(mptcpInodes.Contains),
            MptcpListeners = inodes.Count(mptcpListenInodes.Contains),
            UnderMptcpize = mptcpize,
            HasMptcpSwitch = exe is not null && OwnFiles(exe, name, maps).Any(f => ContainsText(f, "--mptcp")),
            Package = package,
            PackageVersion = version,
        };
    }

    // The executable and the libraries named after the program (libiperf for iperf3).
    private static IEnumerable<string> OwnFiles(string exe, string name, string maps)
    {
        yield return exe;
        string stem = name.TrimEnd('0', '1', '2', '3', '4', '5', '6', '7', '8', '9');
        if (stem.Length < 3)
        {
            yield break;
        }

        foreach (string path in maps.Split('\n').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "")
                     .Where(p => p.StartsWith('/') && System.IO.Path.GetFileName(p).Contains(stem, StringComparison.Ordinal)).Distinct())
        {
            if (path != exe)
            {
                yield return path;
            }
        }
    }

    private static bool ContainsText(string path, string text)
    {
        try
        {
            byte[] needle = System.Text.Encoding.ASCII.GetBytes(text);
            byte[] data = File.ReadAllBytes(path);
            return data.AsSpan().IndexOf(needle) >= 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The Debian package that installed a file, and its version (dpkg's own database).</summary>
    public static (string? Package, string? Version) DpkgPackage(string path, string dpkg = "/var/lib/dpkg")
    {
        try
        {
            string info = System.IO.Path.Combine(dpkg, "info");
            if (!Directory.Exists(info))
            {
                return (null, null);
            }

            string alt = path.StartsWith("/usr/", StringComparison.Ordinal) ? path[4..] : "/usr" + path; // merged /usr
            foreach (string list in Directory.EnumerateFiles(info, "*.list"))
            {
                foreach (string line in File.ReadLines(list))
                {
                    if (line == path || line == alt)
                    {
                        string package = System.IO.Path.GetFileNameWithoutExtension(list).Split(':')[0];
                        return (package, InstalledVersion(package, dpkg));
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return (null, null);
    }

    private static string? InstalledVersion(string package, string dpkg)
    {
        bool inPackage = false;
        foreach (string line in File.ReadLines(System.IO.Path.Combine(dpkg, "status")))
        {
            if (line.StartsWith("Package: ", StringComparison.Ordinal))
            {
                inPackage = line[9..] == package;
            }
            else if (inPackage && line.StartsWith("Version: ", StringComparison.Ordinal))
            {
                return line[9..];
            }
        }

        return null;
    }

    private static string? TryRead(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

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

    public ProcessFacts Read(int pid) => ProcessFacts.Read(pid, Tcp, TcpListen, Mptcp, MptcpListen);

    /// <summary>The processes whose name (comm) matches a wildcard pattern.</summary>
    public static List<int> FindByName(System.Func<string, bool> matches)
    {
        var pids = new List<int>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(System.IO.Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
                && ProcessTable.CommandName(pid) is { } comm && matches(comm))
            {
                pids.Add(pid);
            }
        }

        return pids;
    }
}

/// <summary>A process that does not exist, or ended or became unreadable while it was read.</summary>
public sealed class ProcessGoneException : Exception
{
    public ProcessGoneException(int pid, string message) : base(message) => ProcessId = pid;

    public int ProcessId { get; }
}
