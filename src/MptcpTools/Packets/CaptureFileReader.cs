using Microsoft.Win32.SafeHandles;
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using SharpPcap;
using SharpPcap.LibPcap;

namespace MptcpTools.Packets;

/// <summary>Reads pcap and pcapng files through libpcap (SharpPcap).</summary>
public sealed class CaptureFileReader
{
    public CaptureFileReader(string path) => Path = path;

    public string Path { get; }
    public long FileSize { get; private set; }
    /// <summary>An estimate of how far the reading got, in bytes of the file (for progress).</summary>
    public long Position { get; private set; }
    public long Frames { get; private set; }
    public int LinkType { get; private set; }

    /// <summary>
    /// Frames whose timestamp is not a time (a fraction of a second or more, or outside years 1 to 9999): each was read
    /// with the time of the frame before it, and this says so once for the file (null when every timestamp was good).
    /// </summary>
    public CaptureException? TimestampProblem => _badTimestamps == 0 ? null : new CaptureException(CaptureProblem.InvalidTimestamp,
        $"'{Path}': {_badTimestamps} frame(s) carry a timestamp that is not a time (the first is frame {_firstBadFrame}: {_firstBadText}); " +
        "each was read with the time of the frame before it, and every frame was read.");

    private long _badTimestamps;
    private long _firstBadFrame;
    private string _firstBadText = "";
    private DateTime _lastTime = DateTime.UnixEpoch;

    /// <summary>
    /// Reads every frame into <paramref name="handler"/>. A file that ends mid-record (or is damaged
    /// part-way) delivers the frames before the damage, then throws Truncated.
    /// </summary>
    public void Read(FrameHandler handler, CancellationToken cancel = default)
    {
        if (Directory.Exists(Path))
        {
            throw new CaptureException(CaptureProblem.NotAFile, $"'{Path}' is a directory, not a capture file.");
        }

        // Only a regular file: a FIFO would block the read for ever, a device (/dev/zero) make it endless. What is
        // opened is judged, not the path, so a path swapped after a check cannot do either.
        SafeFileHandle? handle = MptcpTools.Kernel.RegularFile.TryOpen(Path, out long size, out string? problem, out bool missing, out bool notRegular);
        if (handle is null)
        {
            if (missing)
            {
                throw new CaptureException(CaptureProblem.FileNotFound, $"There is no capture file '{Path}'.");
            }

            throw notRegular
                ? new CaptureException(CaptureProblem.NotAFile, $"'{Path}' is not a regular file (a FIFO, a device or a socket), so not a capture file.")
                : new CaptureException(CaptureProblem.Unreadable, problem ?? $"'{Path}' cannot be read.");
        }

        FileSize = size;
        if (ClassicPcap.TryOpen(handle, out ClassicPcap? classic))
        {
            using (classic)
            {
                ReadClassic(classic!, handler, cancel);
            }

            return;
        }

        CaptureFileReaderDevice device;
        try
        {
            device = new CaptureFileReaderDevice(Path);
            device.Open(new DeviceConfiguration());
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException)
        {
            throw LibpcapMissing(e);
        }
        catch (PcapException e)
        {
            throw new CaptureException(CaptureProblem.NotACaptureFile, $"'{Path}' is not a pcap or pcapng file libpcap can read: {e.Message}", e);
        }

        using (device)
        {
            LinkType = (int)device.LinkType;
            if (!FrameParser.CanParseLinkType(LinkType))
            {
                throw new CaptureException(CaptureProblem.UnsupportedLinkType,
                    $"'{Path}' has link-layer type {LinkType} ({device.LinkType}); supported are Ethernet, Linux cooked v1 and v2, raw IP, loopback, PPP and IEEE 802.11 (bare, radiotap or PPI).");
            }

            Position = 24;
            while (!cancel.IsCancellationRequested)
            {
                GetPacketStatus status = device.GetNextPacket(out PacketCapture capture);
                if (status == GetPacketStatus.PacketRead)
                {
                    Frames++;
                    ReadOnlySpan<byte> data = capture.Data;
                    Position += 16 + data.Length;
                    // libpcap hands pcapng timestamps (any if_tsresol, plus if_tsoffset) over as microseconds; SharpPcap's
                    // own Date throws for those past year 9999, so the seconds and microseconds are converted here.
                    PosixTimeval timeval = capture.Header.Timeval;
                    long seconds = unchecked((long)timeval.Seconds);
                    DateTime timestamp = CaptureTime.TryFromUnix(seconds, timeval.MicroSeconds, 1_000_000, out DateTime t) ? Remember(t)
                        : Bad($"{seconds} s and {timeval.MicroSeconds} us after 1970, outside the years 1 to 9999");
                    if (!handler(LinkType, data, timestamp, Frames))
                    {
                        return;
                    }
                }
                else if (status == GetPacketStatus.NoRemainingPackets)
                {
                    Position = FileSize;
                    return;
                }
                else if (status == GetPacketStatus.Error)
                {
                    throw new CaptureException(CaptureProblem.Truncated,
                        $"'{Path}' is damaged after frame {Frames}: {device.LastError}. The {Frames} frames before it were read.");
                }
            }
        }
    }

    // Classic pcap is read here, without libpcap: its records are a 16-byte header and the bytes, and reading them in
    // place from a large buffer saves the per-frame copy, P/Invoke and timestamp conversion SharpPcap makes (the
    // frame loop's largest cost after the decoding itself). pcapng and anything else go through libpcap.
    private void ReadClassic(ClassicPcap file, FrameHandler handler, CancellationToken cancel)
    {
        LinkType = file.LinkType;
        if (!FrameParser.CanParseLinkType(LinkType))
        {
            throw new CaptureException(CaptureProblem.UnsupportedLinkType,
                $"'{Path}' has link-layer type {LinkType} ({(PacketDotNet.LinkLayers)LinkType}); supported are Ethernet, Linux cooked v1 and v2, raw IP, loopback, PPP and IEEE 802.11 (bare, radiotap or PPI).");
        }

        Position = 24;
        while (!cancel.IsCancellationRequested)
        {
            ClassicPcap.Status status = file.Next(out ReadOnlySpan<byte> data, out uint seconds, out uint fraction, out string? problem);
            if (status == ClassicPcap.Status.End)
            {
                Position = FileSize;
                return;
            }

            if (status == ClassicPcap.Status.Damaged)
            {
                throw new CaptureException(CaptureProblem.Truncated,
                    $"'{Path}' is damaged after frame {Frames}: {problem}. The {Frames} frames before it were read.");
            }

            Frames++;
            Position = file.Position;
            DateTime timestamp = CaptureTime.TryFromUnix(seconds, fraction, file.UnitsPerSecond, out DateTime t) ? Remember(t)
                : Bad($"a fraction of {fraction} {(file.UnitsPerSecond == 1_000_000 ? "us" : "ns")}, a second or more");
            if (!handler(LinkType, data, timestamp, Frames))
            {
                return;
            }
        }
    }

    private DateTime Remember(DateTime time) => _lastTime = time;

    private DateTime Bad(string text)
    {
        if (_badTimestamps++ == 0)
        {
            _firstBadFrame = Frames;
            _firstBadText = text;
        }

        return _lastTime;
    }

    internal static CaptureException LibpcapMissing(Exception e) => new(CaptureProblem.LibpcapMissing,
        "libpcap is not installed. Install it: apt-get install libpcap0.8 (libpcap0.8t64 on Ubuntu 24.04).", e);
}

/// <summary>A classic pcap file (microsecond or nanosecond, either byte order), read record by record from a large buffer.</summary>
internal sealed class ClassicPcap : IDisposable
{
    // libpcap refuses records larger than this (MAXIMUM_SNAPLEN); a larger one means the file is damaged.
    private const int MaxRecord = 262144;
    private const int BufferSize = 1 << 20;

    private readonly FileStream _stream;
    private readonly byte[] _buffer = new byte[BufferSize + MaxRecord + 16];
    private readonly bool _swapped;
    private readonly bool _nanoseconds;
    private int _start;
    private int _end;
    private long _consumed;

    internal enum Status
    {
        Frame,
        End,
        Damaged,
    }

    private ClassicPcap(FileStream stream, bool swapped, bool nanoseconds, int linkType)
    {
        _stream = stream;
        _swapped = swapped;
        _nanoseconds = nanoseconds;
        LinkType = linkType;
        _consumed = 24;
    }

    public int LinkType { get; }
    public long Position => _consumed;
    public ulong UnitsPerSecond => _nanoseconds ? 1_000_000_000UL : 1_000_000UL;

    /// <summary>Opens the file when its first four bytes are a classic pcap magic number; null otherwise (pcapng, or not a capture).</summary>
    public static bool TryOpen(SafeFileHandle handle, out ClassicPcap? file)
    {
        file = null;
        FileStream stream;
        try
        {
            // The stream owns the handle from here: closing it (here, or when the file is done) closes the handle.
            stream = new FileStream(handle, FileAccess.Read, 1);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            handle.Dispose();
            return false; // libpcap's path says why
        }

        Span<byte> header = stackalloc byte[24];
        if (stream.ReadAtLeast(header, 24, throwOnEndOfStream: false) < 24)
        {
            stream.Dispose();
            return false;
        }

        uint magic = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(header);
        (bool swapped, bool nano) = magic switch
        {
            0xa1b2c3d4 => (false, false),
            0xa1b23c4d => (false, true),
            0xd4c3b2a1 => (true, false),
            0x4d3cb2a1 => (true, true),
            _ => (false, false),
        };
        if (magic is not (0xa1b2c3d4 or 0xa1b23c4d or 0xd4c3b2a1 or 0x4d3cb2a1))
        {
            stream.Dispose();
            return false;
        }

        uint network = swapped ? System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(header[20..]) : System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(header[20..]);
        // The upper bits carry the FCS length and flags (pcap-savefile(5)); the link type is the low 16.
        file = new ClassicPcap(stream, swapped, nano, (int)(network & 0xffff));
        return true;
    }

    /// <summary>The next record: its bytes, and its timestamp as the file holds it (seconds, and micro- or nanoseconds).</summary>
    public Status Next(out ReadOnlySpan<byte> data, out uint seconds, out uint fraction, out string? problem)
    {
        data = default;
        seconds = 0;
        fraction = 0;
        problem = null;
        if (!Ensure(16))
        {
            if (_end == _start)
            {
                return Status.End;
            }

            problem = $"the file ends inside a record header ({_end - _start} of 16 bytes)";
            return Status.Damaged;
        }

        ReadOnlySpan<byte> h = _buffer.AsSpan(_start, 16);
        seconds = Read32(h);
        fraction = Read32(h[4..]);
        uint captured = Read32(h[8..]);
        if (captured > MaxRecord)
        {
            problem = $"a record claims {captured} bytes, more than the {MaxRecord} a capture can hold";
            return Status.Damaged;
        }

        if (!Ensure(16 + (int)captured))
        {
            problem = $"the file ends inside a record ({_end - _start - 16} of {captured} bytes)";
            return Status.Damaged;
        }

        data = _buffer.AsSpan(_start + 16, (int)captured);
        _start += 16 + (int)captured;
        _consumed += 16 + captured;
        return Status.Frame;
    }

    private uint Read32(ReadOnlySpan<byte> b) =>
        _swapped ? System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(b) : System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(b);

    // Makes at least this many unread bytes contiguous in the buffer; false when the file ends first.
    private bool Ensure(int count)
    {
        if (_end - _start >= count)
        {
            return true;
        }

        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        while (_end - _start < count)
        {
            int read = _stream.Read(_buffer, _end, _buffer.Length - _end);
            if (read <= 0)
            {
                return false;
            }

            _end += read;
        }

        return true;
    }

    public void Dispose() => _stream.Dispose();
}
