using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading.Tasks;

namespace MptcpTools.Kernel;

/// <summary>
/// Which process holds each socket inode, read from /proc/PID/fd with getdents64 and readlinkat on directory
/// handles: no path strings and no objects per descriptor, and the descriptors of big processes read in
/// parallel. The processes of this network namespace are read first; the others only when some of the wanted
/// inodes are still without an owner (a socket passed to, or kept across setns by, a process elsewhere), so
/// the answer is the one a scan of every process gives.
/// </summary>
internal static unsafe class SocketOwnerScan
{
    // Processes with at least this many descriptors are read in parallel chunks of this size; fewer are read
    // in line. At most MaxHeldDirectories fd directories stay open for the parallel part (the fd limit).
    private const int ChunkSize = 1024;
    private const int MaxHeldDirectories = 64;

    /// <summary>
    /// Socket inode to the lowest process id that holds it. With <paramref name="wanted"/>, processes of other
    /// network namespaces are read only for the inodes it gives (called once, after this namespace is read) that
    /// no process here holds.
    /// </summary>
    public static Dictionary<uint, int> Scan(string proc, Func<IEnumerable<uint>>? wanted)
    {
        int procFd = OpenDirectory(Native.AT_FDCWD, proc);
        if (procFd < 0)
        {
            throw new KernelException($"read {proc}", Marshal.GetLastPInvokeError());
        }

        try
        {
            byte[]? own = ReadLink(procFd, "self/ns/net");
            var here = new List<int>();
            var elsewhere = new List<int>();
            foreach (int pid in ProcessIds(procFd))
            {
                byte[]? ns = ReadLink(procFd, $"{pid}/ns/net");
                (own is null || (ns is not null && ns.AsSpan().SequenceEqual(own)) ? here : elsewhere).Add(pid);
            }

            var owners = new Dictionary<uint, int>();
            ScanProcesses(procFd, here, null, owners);
            if (elsewhere.Count > 0)
            {
                HashSet<uint>? missing = wanted is null ? null : wanted().Where(i => i != 0 && !owners.ContainsKey(i)).ToHashSet();
                if (missing is null || missing.Count > 0)
                {
                    ScanProcesses(procFd, elsewhere, missing, owners);
                }
            }

            return owners;
        }
        finally
        {
            Native.Close(procFd);
        }
    }

    /// <summary>The socket inodes among one process's descriptors (empty when they cannot be read).</summary>
    public static List<uint> InodesOf(string proc, int pid)
    {
        var inodes = new List<uint>();
        int procFd = OpenDirectory(Native.AT_FDCWD, proc);
        if (procFd < 0)
        {
            return inodes;
        }

        try
        {
            int dirFd = OpenDirectory(procFd, $"{pid}/fd");
            if (dirFd < 0)
            {
                return inodes;
            }

            try
            {
                foreach (int fd in DescriptorNumbers(dirFd))
                {
                    if (SocketInode(dirFd, fd) is { } inode)
                    {
                        inodes.Add(inode);
                    }
                }
            }
            finally
            {
                Native.Close(dirFd);
            }
        }
        finally
        {
            Native.Close(procFd);
        }

        return inodes;
    }

    private static void ScanProcesses(int procFd, List<int> pids, HashSet<uint>? only, Dictionary<uint, int> owners)
    {
        var chunks = new List<(int Pid, int DirFd, int[] Fds, int Start, int Count)>();
        var held = new List<int>();
        try
        {
            foreach (int pid in pids)
            {
                int dirFd = OpenDirectory(procFd, $"{pid}/fd");
                if (dirFd < 0)
                {
                    continue; // gone, a kernel thread, or another user's process
                }

                int[] fds = DescriptorNumbers(dirFd).ToArray();
                owners.EnsureCapacity(owners.Count + (only is null ? fds.Length : Math.Min(fds.Length, only.Count)));
                if (fds.Length < ChunkSize || held.Count >= MaxHeldDirectories)
                {
                    ReadLinks(pid, dirFd, fds, 0, fds.Length, only, owners);
                    Native.Close(dirFd);
                    continue;
                }

                held.Add(dirFd);
                for (int start = 0; start < fds.Length; start += ChunkSize)
                {
                    chunks.Add((pid, dirFd, fds, start, Math.Min(ChunkSize, fds.Length - start)));
                }
            }

            if (chunks.Count > 0)
            {
                // Each chunk's links go to a list of its own; the lists are added to the map on this thread.
                var found = new List<(uint Inode, int Pid)>[chunks.Count];
                Parallel.For(0, chunks.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
                {
                    (int pid, int dirFd, int[] fds, int start, int count) = chunks[i];
                    found[i] = ReadLinks(pid, dirFd, fds, start, count, only);
                });
                foreach (List<(uint Inode, int Pid)> list in found)
                {
                    foreach ((uint inode, int pid) in list)
                    {
                        Add(owners, inode, pid);
                    }
                }
            }
        }
        finally
        {
            foreach (int dirFd in held)
            {
                Native.Close(dirFd);
            }
        }
    }

    // The lowest pid wins, whatever order the chunks ran in (a socket shared after fork has several holders).
    private static void Add(Dictionary<uint, int> owners, uint inode, int pid)
    {
        ref int existing = ref CollectionsMarshal.GetValueRefOrAddDefault(owners, inode, out bool exists);
        if (!exists || pid < existing)
        {
            existing = pid;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ReadLinks(int pid, int dirFd, int[] fds, int start, int count, HashSet<uint>? only, Dictionary<uint, int> owners)
    {
        for (int i = start; i < start + count; i++)
        {
            if (SocketInode(dirFd, fds[i]) is { } inode && (only is null || only.Contains(inode)))
            {
                Add(owners, inode, pid);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static List<(uint Inode, int Pid)> ReadLinks(int pid, int dirFd, int[] fds, int start, int count, HashSet<uint>? only)
    {
        var found = new List<(uint, int)>(count);
        for (int i = start; i < start + count; i++)
        {
            if (SocketInode(dirFd, fds[i]) is { } inode && (only is null || only.Contains(inode)))
            {
                found.Add((inode, pid));
            }
        }

        return found;
    }

    // readlinkat(dirFd, "FD"): a socket's link reads "socket:[INODE]".
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static uint? SocketInode(int dirFd, int fd)
    {
        byte* name = stackalloc byte[12];
        fd.TryFormat(new Span<byte>(name, 11), out int written, default, CultureInfo.InvariantCulture);
        name[written] = 0;
        byte* target = stackalloc byte[64];
        nint length = Native.ReadLinkAt(dirFd, name, target, 64);
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

    /// <summary>The numeric entries of a directory handle: process ids in /proc, descriptors in /proc/PID/fd.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static List<int> DescriptorNumbers(int dirFd)
    {
        var numbers = new List<int>();
        const int size = 32 * 1024;
        byte* buffer = stackalloc byte[size];
        while (true)
        {
            nint n = Native.GetDents64(dirFd, buffer, size);
            if (n <= 0)
            {
                return numbers; // the end, or the directory went away (a process that exited)
            }

            for (nint offset = 0; offset + 19 < n;)
            {
                ushort recordLength = *(ushort*)(buffer + offset + 16);
                if (recordLength == 0)
                {
                    break;
                }

                byte* name = buffer + offset + 19;
                int value = 0;
                bool numeric = *name != 0;
                for (byte* c = name; *c != 0 && numeric; c++)
                {
                    numeric = *c >= (byte)'0' && *c <= (byte)'9' && value < int.MaxValue / 10;
                    value = value * 10 + (*c - '0');
                }

                if (numeric)
                {
                    numbers.Add(value);
                }

                offset += recordLength;
            }
        }
    }

    private static List<int> ProcessIds(int procFd) => DescriptorNumbers(procFd);

    private static int OpenDirectory(int dirFd, string path)
    {
        Span<byte> name = stackalloc byte[System.Text.Encoding.UTF8.GetMaxByteCount(path.Length) + 1];
        int n = System.Text.Encoding.UTF8.GetBytes(path, name);
        name[n] = 0;
        fixed (byte* p = name)
        {
            return Native.OpenAt(dirFd, p, Native.O_RDONLY | Native.O_DIRECTORY | Native.O_CLOEXEC);
        }
    }

    private static byte[]? ReadLink(int dirFd, string path)
    {
        Span<byte> name = stackalloc byte[System.Text.Encoding.UTF8.GetMaxByteCount(path.Length) + 1];
        int n = System.Text.Encoding.UTF8.GetBytes(path, name);
        name[n] = 0;
        byte* target = stackalloc byte[128];
        nint length;
        fixed (byte* p = name)
        {
            length = Native.ReadLinkAt(dirFd, p, target, 128);
        }

        return length <= 0 ? null : new ReadOnlySpan<byte>(target, (int)length).ToArray();
    }
}
