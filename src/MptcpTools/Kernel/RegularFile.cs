using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO;
using System.Linq;

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
        if (longest == 0 || needles.Any(n => n.Length == 0) || !TryGetSize(path, out _))
        {
            return found;
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan);
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
