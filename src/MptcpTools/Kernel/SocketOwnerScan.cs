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
    public static SocketOwnerIndex Scan(string proc, Func<IEnumerable<uint>>? wanted)
    {
        int procFd = OpenDirectory(Native.AT_FDCWD, proc);
        if (procFd < 0)
        {
            throw new KernelException($"read {proc}", Marshal.GetLastPInvokeError());
        }

        var found = new PooledList<ulong>(1024);
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

            ScanProcesses(procFd, here, null, found);
            var index = new SocketOwnerIndex(found);
            if (elsewhere.Count > 0)
            {
                HashSet<uint>? missing = wanted is null ? null : wanted().Where(i => i != 0 && !index.TryGet(i, out _)).ToHashSet();
                if (missing is null || missing.Count > 0)
                {
                    ScanProcesses(procFd, elsewhere, missing, found);
                    index = new SocketOwnerIndex(found);
                }
            }

            return index;
        }
        catch
        {
            found.Dispose();
            throw;
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

    // Each socket found is added to found as (inode << 32 | pid).
    private static void ScanProcesses(int procFd, List<int> pids, HashSet<uint>? only, PooledList<ulong> found)
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
                if (fds.Length < ChunkSize || held.Count >= MaxHeldDirectories)
                {
                    ReadLinks(pid, dirFd, fds, 0, fds.Length, only, found);
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
                // Each chunk's links go to a list of its own; the lists are added on this thread.
                var lists = new PooledList<ulong>[chunks.Count];
                try
                {
                    // The two socket dumps run beside this scan: it takes the cores they leave (none extra on two cores).
                    Parallel.For(0, chunks.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Environment.ProcessorCount - 2) }, i =>
                    {
                        (int pid, int dirFd, int[] fds, int start, int count) = chunks[i];
                        lists[i] = new PooledList<ulong>(count);
                        ReadLinks(pid, dirFd, fds, start, count, only, lists[i]);
                    });
                    foreach (PooledList<ulong> list in lists)
                    {
                        foreach (ulong entry in list.AsSpan())
                        {
                            found.Add(entry);
                        }
                    }
                }
                finally
                {
                    foreach (PooledList<ulong>? list in lists)
                    {
                        list?.Dispose();
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ReadLinks(int pid, int dirFd, int[] fds, int start, int count, HashSet<uint>? only, PooledList<ulong> found)
    {
        for (int i = start; i < start + count; i++)
        {
            if (SocketInode(dirFd, fds[i]) is { } inode && (only is null || only.Contains(inode)))
            {
                found.Add(((ulong)inode << 32) | (uint)pid);
            }
        }
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

/// <summary>
/// Socket inodes and the processes that hold them, sorted (inode, then pid) in a pooled array: a binary search
/// finds an inode's lowest pid, with no dictionary of tens of thousands of entries per listing.
/// </summary>
internal sealed class SocketOwnerIndex : IDisposable
{
    private readonly PooledList<ulong> _entries;

    public SocketOwnerIndex(PooledList<ulong> entries)
    {
        _entries = entries;
        _entries.AsSpan().Sort();
    }

    public bool TryGet(uint inode, out int pid)
    {
        ReadOnlySpan<ulong> entries = _entries.AsSpan();
        int at = entries.BinarySearch((ulong)inode << 32);
        at = at < 0 ? ~at : at; // the first entry of this inode: its lowest pid
        if (at < entries.Length && (uint)(entries[at] >> 32) == inode)
        {
            pid = (int)(uint)entries[at];
            return true;
        }

        pid = 0;
        return false;
    }

    /// <summary>Each inode once, with its lowest pid.</summary>
    public IEnumerable<(uint Inode, int Pid)> Entries()
    {
        for (int i = 0; i < _entries.Count; i++)
        {
            ulong entry = _entries.AsSpan()[i];
            if (i == 0 || (uint)(_entries.AsSpan()[i - 1] >> 32) != (uint)(entry >> 32))
            {
                yield return ((uint)(entry >> 32), (int)(uint)entry);
            }
        }
    }

    public void Dispose() => _entries.Dispose();
}
