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
        var owners = new Dictionary<uint, (int, string)>();
        foreach (int pid in ProcessIds(proc))
        {
            string? name = null;
            foreach (uint inode in SocketInodes(pid, proc))
            {
                name ??= CommandName(pid, proc) ?? "";
                owners.TryAdd(inode, (pid, name));
            }
        }

        return owners;
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
}
