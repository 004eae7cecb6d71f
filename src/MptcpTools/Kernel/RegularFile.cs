using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.Win32.SafeHandles;

namespace MptcpTools.Kernel;

/// <summary>
/// Bounded reads of files that another user may name (a process's executable and mapped libraries): only
/// regular files are opened, and never more than a given number of bytes is read. A device, a FIFO or a
/// socket would otherwise block or never end.
/// </summary>
public static class RegularFile
{
    /// <summary>Whether <paramref name="path"/> (links followed) is a regular file, and its size.</summary>
    public static bool TryGetSize(string path, out long size)
    {
        size = 0;
        if (Native.StatX(Native.AT_FDCWD, path, 0, Native.STATX_TYPE | Native.STATX_SIZE, out Native.Statx st) != 0
            || (st.Mode & Native.S_IFMT) != Native.S_IFREG)
        {
            return false;
        }

        size = (long)Math.Min(st.Size, long.MaxValue);
        return true;
    }

    /// <summary>Whether <paramref name="path"/> (links followed) is a FIFO or a socket: opening one to write blocks until a reader comes.</summary>
    public static bool IsFifoOrSocket(string path)
    {
        if (string.IsNullOrEmpty(path) || path.Contains('\0')
            || Native.StatX(Native.AT_FDCWD, path, 0, Native.STATX_TYPE, out Native.Statx st) != 0)
        {
            return false;
        }

        int type = st.Mode & Native.S_IFMT;
        return type is Native.S_IFIFO or Native.S_IFSOCK;
    }

    /// <summary>
    /// Opens a regular file for reading, judging what is opened rather than the path: the path is first opened with
    /// O_PATH (which opens no device and blocks on no FIFO), its type checked on that descriptor, and only then the same
    /// inode opened for reading through /proc/self/fd. A path another user swaps between a check and an open can then
    /// neither block the read (a FIFO) nor make it endless (a device). Null, with the reason, for anything else;
    /// <paramref name="missing"/> says the path does not exist.
    /// </summary>
    public static SafeFileHandle? TryOpen(string path, out long size, out string? problem, out bool missing) =>
        TryOpen(path, out size, out problem, out missing, out _);

    /// <summary>As <see cref="TryOpen(string, out long, out string?, out bool)"/>; <paramref name="notRegular"/> says the path is there but is no regular file.</summary>
    public static SafeFileHandle? TryOpen(string path, out long size, out string? problem, out bool missing, out bool notRegular)
    {
        notRegular = false;
        size = 0;
        problem = null;
        missing = false;
        if (string.IsNullOrEmpty(path) || path.Contains('\0'))
        {
            problem = $"'{path}' is not a path.";
            return null;
        }

        int pathFd = Native.Open(path, Native.O_PATH | Native.O_CLOEXEC);
        if (pathFd < 0)
        {
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            missing = errno is Native.ENOENT or Native.ENOTDIR;
            problem = $"'{path}' cannot be opened: {Native.StrError(errno)}.";
            return null;
        }

        try
        {
            if (Native.StatX(pathFd, "", Native.AT_EMPTY_PATH, Native.STATX_TYPE | Native.STATX_SIZE, out Native.Statx st) != 0
                || (st.Mode & Native.S_IFMT) != Native.S_IFREG)
            {
                problem = $"'{path}' is not a regular file.";
                notRegular = true;
                return null;
            }

            int fd = Native.Open($"/proc/self/fd/{pathFd}", Native.O_RDONLY | Native.O_NONBLOCK | Native.O_NOCTTY | Native.O_CLOEXEC);
            if (fd < 0)
            {
                int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                problem = $"'{path}' cannot be read: {Native.StrError(errno)}.";
                return null;
            }

            size = (long)Math.Min(st.Size, long.MaxValue);
            return new SafeFileHandle(fd, ownsHandle: true);
        }
        finally
        {
            Native.Close(pathFd);
        }
    }

    /// <summary>
    /// The text of a regular file, read to at most <paramref name="maxBytes"/>. Throws IOException for anything
    /// else (a device, a FIFO, a directory) and for a file that is longer, so a hostile path costs nothing.
    /// /proc files report no size, so the bound holds while reading too.
    /// </summary>
    public static string ReadText(string path, long maxBytes)
    {
        SafeFileHandle? handle = TryOpen(path, out long size, out string? problem, out bool missing);
        if (handle is null)
        {
            // A missing file stays FileNotFoundException (callers report NotFound); anything else there is refused.
            throw missing ? new FileNotFoundException($"Could not find file '{path}'.", path) : new IOException(problem);
        }

        if (size > maxBytes)
        {
            handle.Dispose();
            throw new IOException($"'{path}' is {size} bytes, more than the {maxBytes} this reads.");
        }

        using var stream = new FileStream(handle, FileAccess.Read, 1);
        byte[] buffer = new byte[Math.Min(maxBytes + 1, Math.Max(size, 4096) + 1)];
        int total = 0;
        while (true)
        {
            if (total == buffer.Length)
            {
                if (buffer.Length > maxBytes)
                {
                    throw new IOException($"'{path}' is longer than the {maxBytes} bytes this reads.");
                }

                Array.Resize(ref buffer, (int)Math.Min(maxBytes + 1, (long)buffer.Length * 2));
            }

            int read = stream.Read(buffer, total, buffer.Length - total);
            if (read <= 0)
            {
                break;
            }

            total += read;
        }

        return System.Text.Encoding.UTF8.GetString(buffer, 0, total);
    }

    /// <summary>Gives <paramref name="target"/> the owner and group of <paramref name="source"/> (a replaced file keeps them).</summary>
    public static void CopyOwner(string source, string target)
    {
        if (Native.StatX(Native.AT_FDCWD, source, 0, Native.STATX_UID | Native.STATX_GID, out Native.Statx st) == 0
            && Native.Chown(target, st.Uid, st.Gid) != 0)
        {
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            throw new KernelException($"give {target} the owner of {source}", errno);
        }
    }

    /// <summary>
    /// Whether the first <paramref name="maxBytes"/> of a regular file contain <paramref name="needle"/>;
    /// false for anything that is not a regular file or cannot be read.
    /// </summary>
    public static bool Contains(string path, ReadOnlySpan<byte> needle, long maxBytes) =>
        !needle.IsEmpty && FindAny(path, new[] { needle.ToArray() }, maxBytes)[0];

    /// <summary>
    /// Which of <paramref name="needles"/> occur in the first <paramref name="maxBytes"/> of a regular file, in one
    /// pass; none for anything that is not a regular file or cannot be read.
    /// </summary>
    public static bool[] FindAny(string path, IReadOnlyList<byte[]> needles, long maxBytes)
    {
        var found = new bool[needles.Count];
        int longest = needles.Count == 0 ? 0 : needles.Max(n => n.Length);
        if (longest == 0 || needles.Any(n => n.Length == 0))
        {
            return found;
        }

        SafeFileHandle? handle = TryOpen(path, out _, out _, out _);
        if (handle is null)
        {
            return found;
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            using var stream = new FileStream(handle, FileAccess.Read, 1);
            long total = 0;
            int carried = 0;
            while (total < maxBytes && found.Contains(false))
            {
                int want = (int)Math.Min(buffer.Length - carried, maxBytes - total);
                int read = stream.Read(buffer, carried, want);
                if (read <= 0)
                {
                    break;
                }

                total += read;
                int length = carried + read;
                for (int i = 0; i < needles.Count; i++)
                {
                    found[i] |= buffer.AsSpan(0, length).IndexOf(needles[i]) >= 0;
                }

                // Keep the tail that could start a match across the chunk boundary.
                carried = Math.Min(longest - 1, length);
                Buffer.BlockCopy(buffer, length - carried, buffer, 0, carried);
            }

            return found;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return found;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
