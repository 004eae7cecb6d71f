using System;
using System.Buffers.Binary;
using System.IO;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace MptcpTools.Kernel;

/// <summary>
/// What an executable's ELF headers say about how it gets its sockets: linked against the C library through the
/// dynamic loader (so an LD_PRELOAD library such as mptcpize's can wrap socket()), statically linked (it cannot),
/// or built by Go (whose runtime makes the system calls itself; the version decides what GODEBUG can do).
/// Reads are bounded and only regular files are opened: the file may belong to another user.
/// </summary>
public sealed record ElfExecutable
{
    /// <summary>The most any header table, string table or dynamic section is read (a real one is far smaller).</summary>
    public const int MaxTableBytes = 1 << 20;
    /// <summary>How far into Go's first writable segment the build information is looked for, as Go's own reader does.</summary>
    public const int GoBuildInfoSearchBytes = 64 << 10;

    private const uint PT_LOAD = 1, PT_DYNAMIC = 2, PT_INTERP = 3, PF_W = 2;
    private const long DT_NULL = 0, DT_NEEDED = 1;
    // "\xff Go buildinf:", the start of Go's build information.
    private static readonly byte[] GoBuildInfoMagic = { 0xff, 0x20, 0x47, 0x6f, 0x20, 0x62, 0x75, 0x69, 0x6c, 0x64, 0x69, 0x6e, 0x66, 0x3a };

    public bool Is64Bit { get; init; }
    /// <summary>The dynamic loader it names (PT_INTERP), or null.</summary>
    public string? Interpreter { get; init; }
    /// <summary>How many shared libraries it needs (DT_NEEDED entries).</summary>
    public int NeededLibraries { get; init; }
    /// <summary>No dynamic loader and no shared library: an LD_PRELOAD library (mptcpize) is never loaded into it.</summary>
    public bool IsStaticallyLinked => Interpreter is null && NeededLibraries == 0;
    /// <summary>It carries Go's build information (.go.buildinfo).</summary>
    public bool IsGoBinary { get; init; }
    /// <summary>The Go release that built it ("go1.19.8"); null for Go before 1.18, which kept no version inline, and for non-Go files.</summary>
    public string? GoVersion { get; init; }

    /// <summary>Reads <paramref name="path"/> (links followed, /proc/PID/exe too); null with the reason when it is not a readable ELF regular file.</summary>
    public static ElfExecutable? TryRead(string path, out string? problem)
    {
        problem = null;
        SafeFileHandle? opened = RegularFile.TryOpen(path, out long size, out string? why, out _);
        if (opened is null)
        {
            problem = why?.Contains("not a regular file", StringComparison.Ordinal) == true
                ? $"{path} is not a regular file that can be examined." : why;
            return null;
        }

        try
        {
            using SafeFileHandle handle = opened;
            return Parse(size, (offset, buffer) => RandomAccess.Read(handle, buffer, offset));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = $"{path} could not be read: {e.Message}";
        }
        catch (FormatException e)
        {
            problem = $"{path} is not a well-formed ELF file: {e.Message}";
        }

        return null;
    }

    /// <summary>Parses ELF bytes held in memory (tests; crafted and truncated files).</summary>
    public static ElfExecutable Parse(byte[] bytes) =>
        Parse(bytes.LongLength, (offset, buffer) =>
        {
            if (offset >= bytes.LongLength)
            {
                return 0;
            }

            int n = (int)Math.Min(buffer.Length, bytes.LongLength - offset);
            bytes.AsSpan((int)offset, n).CopyTo(buffer);
            return n;
        });

    /// <summary>Reads a file of <paramref name="length"/> bytes through <paramref name="readAt"/>; throws FormatException when it is not a well-formed ELF file.</summary>
    public static ElfExecutable Parse(long length, ReadAt readAt)
    {
        var file = new Reader(length, readAt);
        byte[] ident = file.Read(0, 16, "the ELF identification", allowShort: true);
        if (ident.Length < 4 || ident[0] != 0x7f || ident[1] != (byte)'E' || ident[2] != (byte)'L' || ident[3] != (byte)'F')
        {
            throw new FormatException("no ELF magic");
        }

        if (ident.Length < 16)
        {
            throw new FormatException($"the ELF identification is cut short at {ident.Length} of 16 bytes");
        }

        bool is64 = ident[4] switch { 1 => false, 2 => true, _ => throw new FormatException($"unknown ELF class {ident[4]}") };
        bool little = ident[5] switch { 1 => true, 2 => false, _ => throw new FormatException($"unknown ELF data encoding {ident[5]}") };
        var f = new Fields(little);
        byte[] header = file.Read(0, is64 ? 64 : 52, "the ELF header");
        ulong phoff = is64 ? f.U64(header, 32) : f.U32(header, 28);
        ulong shoff = is64 ? f.U64(header, 40) : f.U32(header, 32);
        int phentsize = f.U16(header, is64 ? 54 : 42), phnum = f.U16(header, is64 ? 56 : 44);
        int shentsize = f.U16(header, is64 ? 58 : 46), shnum = f.U16(header, is64 ? 60 : 48), shstrndx = f.U16(header, is64 ? 62 : 50);
        int minPh = is64 ? 56 : 32, minSh = is64 ? 64 : 40;

        string? interpreter = null;
        int needed = 0;
        (ulong Offset, ulong Size)? dynamic = null;
        (ulong Offset, ulong Size)? firstWritable = null;
        if (phnum > 0)
        {
            if (phentsize < minPh)
            {
                throw new FormatException($"program header entries of {phentsize} bytes");
            }

            byte[] table = file.Read(phoff, Table(phnum, phentsize, "program header table"), "the program header table");
            for (int i = 0; i < phnum; i++)
            {
                int at = i * phentsize;
                uint type = f.U32(table, at);
                uint flags = is64 ? f.U32(table, at + 4) : f.U32(table, at + 24);
                ulong offset = is64 ? f.U64(table, at + 8) : f.U32(table, at + 4);
                ulong size = is64 ? f.U64(table, at + 32) : f.U32(table, at + 16);
                if (type == PT_INTERP)
                {
                    byte[] path = file.Read(offset, (int)Math.Min(size, 4096), "the interpreter path");
                    int nul = Array.IndexOf(path, (byte)0);
                    interpreter = Encoding.UTF8.GetString(path, 0, nul >= 0 ? nul : path.Length);
                }
                else if (type == PT_DYNAMIC)
                {
                    dynamic = (offset, size);
                }
                else if (type == PT_LOAD && (flags & PF_W) != 0 && firstWritable is null)
                {
                    firstWritable = (offset, size);
                }
            }
        }

        if (dynamic is { } d && d.Size > 0)
        {
            int entry = is64 ? 16 : 8;
            byte[] entries = file.Read(d.Offset, (int)Math.Min(d.Size, MaxTableBytes), "the dynamic section");
            for (int at = 0; at + entry <= entries.Length; at += entry)
            {
                long tag = is64 ? (long)f.U64(entries, at) : (int)f.U32(entries, at);
                if (tag == DT_NULL)
                {
                    break;
                }

                if (tag == DT_NEEDED)
                {
                    needed++;
                }
            }
        }

        // Go's build information: the .go.buildinfo section, else (section headers stripped) the start of the
        // first writable segment, where Go's linker puts it.
        byte[]? buildInfo = null;
        if (shoff != 0 && shnum > 0 && shstrndx < shnum && shentsize >= minSh)
        {
            byte[] sections = file.Read(shoff, Table(shnum, shentsize, "section header table"), "the section header table");
            ulong SectionField(int index, int field64, int field32) => is64 ? f.U64(sections, index * shentsize + field64) : f.U32(sections, index * shentsize + field32);
            ulong namesOffset = SectionField(shstrndx, 24, 16), namesSize = SectionField(shstrndx, 32, 20);
            byte[] names = file.Read(namesOffset, (int)Math.Min(namesSize, MaxTableBytes), "the section name table");
            for (int i = 0; i < shnum && buildInfo is null; i++)
            {
                uint name = f.U32(sections, i * shentsize);
                if (NameIs(names, name, ".go.buildinfo"u8))
                {
                    ulong offset = SectionField(i, 24, 16), size = SectionField(i, 32, 20);
                    buildInfo = file.Read(offset, (int)Math.Min(size, 32 + 2 * 1040), "the Go build information");
                }
            }
        }
        else if (firstWritable is { } w)
        {
            byte[] data = file.Read(w.Offset, (int)Math.Min(w.Size, GoBuildInfoSearchBytes), "the first writable segment", allowShort: true);
            for (int at = 0; at + GoBuildInfoMagic.Length <= data.Length; at += 16)
            {
                if (data.AsSpan(at, GoBuildInfoMagic.Length).SequenceEqual(GoBuildInfoMagic))
                {
                    buildInfo = file.Read(w.Offset + (ulong)at, 32 + 2 * 1040, "the Go build information", allowShort: true);
                    break;
                }
            }
        }

        bool isGo = buildInfo is not null && buildInfo.Length >= GoBuildInfoMagic.Length && buildInfo.AsSpan(0, GoBuildInfoMagic.Length).SequenceEqual(GoBuildInfoMagic);
        return new ElfExecutable
        {
            Is64Bit = is64, Interpreter = interpreter, NeededLibraries = needed, IsGoBinary = isGo,
            GoVersion = isGo ? GoVersionOf(buildInfo!) : null,
        };
    }

    /// <summary>
    /// The version in Go's build information header: 32 bytes (magic, pointer size, flags), then, when flag 2 is
    /// set (Go 1.18 and later), the version as a varint-prefixed string. Older Go pointed at it instead: null.
    /// </summary>
    private static string? GoVersionOf(byte[] info)
    {
        if (info.Length < 33 || (info[15] & 2) == 0)
        {
            return null;
        }

        int at = 32;
        ulong length = 0;
        for (int shift = 0; at < info.Length && shift < 64; shift += 7)
        {
            byte b = info[at++];
            length |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
            {
                return length == 0 || length > 1024 || (ulong)(info.Length - at) < length ? null : Encoding.UTF8.GetString(info, at, (int)length);
            }
        }

        return null;
    }

    private static bool NameIs(byte[] names, uint offset, ReadOnlySpan<byte> wanted) =>
        offset < (uint)names.Length && offset + (uint)wanted.Length < (uint)names.Length
        && names.AsSpan((int)offset, wanted.Length).SequenceEqual(wanted) && names[offset + wanted.Length] == 0;

    private static int Table(int count, int entrySize, string what)
    {
        long bytes = (long)count * entrySize;
        return bytes <= MaxTableBytes ? (int)bytes : throw new FormatException($"a {what} of {bytes} bytes");
    }

    /// <summary>Reads into <c>buffer</c> from <c>offset</c>; returns how many bytes were read (0 at the end).</summary>
    public delegate int ReadAt(long offset, Span<byte> buffer);

    private sealed class Reader
    {
        private readonly long _length;
        private readonly ReadAt _readAt;

        public Reader(long length, ReadAt readAt)
        {
            _length = length;
            _readAt = readAt;
        }

        // Exactly count bytes at offset, or FormatException when the file ends first (or, allowShort, what there is).
        public byte[] Read(ulong offset, int count, string what, bool allowShort = false)
        {
            if (offset > (ulong)_length || (!allowShort && (ulong)count > (ulong)_length - offset))
            {
                throw new FormatException($"{what} lies beyond the end of the file ({_length} bytes)");
            }

            var buffer = new byte[(int)Math.Min((ulong)count, (ulong)_length - offset)];
            int total = 0;
            while (total < buffer.Length)
            {
                int n = _readAt((long)offset + total, buffer.AsSpan(total));
                if (n <= 0)
                {
                    if (allowShort)
                    {
                        return buffer.AsSpan(0, total).ToArray();
                    }

                    throw new FormatException($"{what} is cut short at {total} of {buffer.Length} bytes");
                }

                total += n;
            }

            return buffer;
        }
    }

    private readonly struct Fields
    {
        private readonly bool _little;

        public Fields(bool little) => _little = little;

        public ushort U16(byte[] b, int at) => _little ? BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(at)) : BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(at));
        public uint U32(byte[] b, int at) => _little ? BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at)) : BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(at));
        public ulong U64(byte[] b, int at) => _little ? BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(at)) : BinaryPrimitives.ReadUInt64BigEndian(b.AsSpan(at));
    }
}
