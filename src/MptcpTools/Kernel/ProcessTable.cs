using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;

namespace MptcpTools.Kernel;

/// <summary>
/// The process table under /proc: the one walk every process scan of the module uses, and the readers of
/// one process's descriptors, name, executable and network namespace.
/// </summary>
public static class ProcessTable
{
    /// <summary>Every process id visible in <paramref name="proc"/>, in directory order.</summary>
    public static IEnumerable<int> ProcessIds(string proc = "/proc")
    {
        foreach (string dir in Directory.EnumerateDirectories(proc))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                yield return pid;
            }
        }
    }

    /// <summary>Socket inode to (pid, name) for every process whose fds this process may read.</summary>
    public static Dictionary<uint, (int Pid, string Name)> SocketOwners(string proc = "/proc")
    {
        using SocketOwnerMap map = FindSocketOwners(null, proc);
        var owners = new Dictionary<uint, (int, string)>();
        foreach ((uint inode, int pid) in map.Entries())
        {
            map.TryGet(inode, out _, out string? name);
            owners[inode] = (pid, name ?? "");
        }

        return owners;
    }

    /// <summary>
    /// The owners of every socket of the processes of this network namespace, and of the other processes those
    /// of the inodes <paramref name="wanted"/> gives that none here holds (see SocketOwnerScan); null wanted: all.
    /// </summary>
    public static SocketOwnerMap FindSocketOwners(Func<IEnumerable<uint>>? wanted, string proc = "/proc")
    {
        SocketOwnerIndex index = SocketOwnerScan.Scan(proc, wanted);
        var names = new Dictionary<int, string>();
        foreach ((uint _, int pid) in index.Entries())
        {
            if (!names.ContainsKey(pid))
            {
                names[pid] = CommandName(pid, proc) ?? "";
            }
        }

        return new SocketOwnerMap(index, names);
    }

    /// <summary>The processes whose name (comm) matches.</summary>
    public static List<int> FindByName(Func<string, bool> matches, string proc = "/proc")
    {
        var pids = new List<int>();
        foreach (int pid in ProcessIds(proc))
        {
            if (CommandName(pid, proc) is { } comm && matches(comm))
            {
                pids.Add(pid);
            }
        }

        return pids;
    }

    /// <summary>The socket inodes among a process's file descriptors (empty when unreadable).</summary>
    public static List<uint> SocketInodes(int pid, string proc = "/proc") => SocketOwnerScan.InodesOf(proc, pid);

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

    /// <summary>The target of /proc/PID/exe, or null when it cannot be read (another user's process, a kernel thread).</summary>
    public static string? ExecutablePath(int pid, string proc = "/proc") => LinkTarget($"{proc}/{pid}/exe");

    /// <summary>The network namespace of a process ("net:[4026531840]"); <paramref name="pid"/> may be "self".</summary>
    public static string? NetworkNamespace(string pid, string proc = "/proc") => LinkTarget($"{proc}/{pid}/ns/net");

    /// <summary>The inode that identifies a process's network namespace (from its link, "net:[INODE]").</summary>
    public static ulong? NetworkNamespaceInode(string pid, string proc = "/proc") =>
        NetworkNamespace(pid, proc) is { } link && link.StartsWith("net:[", StringComparison.Ordinal) && link.EndsWith(']')
        && ulong.TryParse(link.AsSpan(5, link.Length - 6), NumberStyles.None, CultureInfo.InvariantCulture, out ulong inode)
            ? inode
            : null;

    /// <summary>The named network namespaces (ip netns add NAME: /run/netns/NAME), by their inode.</summary>
    public static Dictionary<ulong, string> NamedNetworkNamespaces(string directory = "/run/netns")
    {
        var names = new Dictionary<ulong, string>();
        try
        {
            foreach (string file in Directory.EnumerateFiles(directory))
            {
                if (Native.StatX(Native.AT_FDCWD, file, 0, Native.STATX_INO, out Native.Statx st) == 0)
                {
                    names.TryAdd(st.Inode, Path.GetFileName(file));
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return names;
    }

    private static string? LinkTarget(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

/// <summary>Which process holds each socket inode, and the processes' names; disposing returns its pooled index.</summary>
public sealed class SocketOwnerMap : IDisposable
{
    private readonly SocketOwnerIndex? _index;
    private readonly Dictionary<int, string> _names;

    internal SocketOwnerMap(SocketOwnerIndex? index, Dictionary<int, string> names)
    {
        _index = index;
        _names = names;
    }

    public static SocketOwnerMap Empty => new(null, new Dictionary<int, string>());

    /// <summary>Each socket inode once, with the lowest process id that holds it.</summary>
    public IEnumerable<(uint Inode, int Pid)> Entries() => _index?.Entries() ?? Array.Empty<(uint, int)>();

    public bool TryGet(uint inode, out int pid, out string? name)
    {
        name = null;
        pid = 0;
        return _index is not null && _index.TryGet(inode, out pid) && _names.TryGetValue(pid, out name);
    }

    public void Dispose() => _index?.Dispose();
}
