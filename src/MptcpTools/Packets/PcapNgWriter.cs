using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace MptcpTools.Packets;

/// <summary>
/// Writes pcapng (section header, one interface description per link, enhanced packet blocks with
/// microsecond timestamps), so a live capture can be saved and read back to the same objects.
/// </summary>
public sealed class PcapNgWriter : IDisposable
{
    private readonly Stream _stream;
    private readonly Dictionary<(int LinkType, string Name), int> _interfaces = new();
    private readonly int _snapLength;
    private byte[] _buffer = new byte[2048];

    /// <summary>Creates the file; with <paramref name="overwrite"/> false an existing one is an IOException and is kept.</summary>
    public PcapNgWriter(string path, int snapLength, bool overwrite = true)
    {
        // Opening a FIFO to write waits for a reader, for ever and past Ctrl+C: refused (a device such as /dev/null is fine).
        if (MptcpTools.Kernel.RegularFile.IsFifoOrSocket(path))
        {
            throw new IOException($"'{path}' is a FIFO or a socket: the capture would wait until something reads it. Save to a file.");
        }

        _stream = new FileStream(path, overwrite ? FileMode.Create : FileMode.CreateNew, FileAccess.Write, FileShare.Read, 1 << 16);
        _snapLength = snapLength;
        // Section header block: byte-order magic, version 1.0, section length unknown (-1).
        Span<byte> shb = stackalloc byte[28];
        BinaryPrimitives.WriteUInt32LittleEndian(shb, 0x0A0D0D0A);
        BinaryPrimitives.WriteUInt32LittleEndian(shb[4..], 28);
        BinaryPrimitives.WriteUInt32LittleEndian(shb[8..], 0x1A2B3C4D);
        BinaryPrimitives.WriteUInt16LittleEndian(shb[12..], 1);
        BinaryPrimitives.WriteUInt16LittleEndian(shb[14..], 0);
        BinaryPrimitives.WriteInt64LittleEndian(shb[16..], -1);
        BinaryPrimitives.WriteUInt32LittleEndian(shb[24..], 28);
        _stream.Write(shb);
    }

    public long Packets { get; private set; }

    /// <summary>Appends one frame; the interface description is written the first time a link is seen.</summary>
    public void Write(int linkType, string interfaceName, ReadOnlySpan<byte> frame, int originalLength, DateTime timestamp)
    {
        if (!_interfaces.TryGetValue((linkType, interfaceName), out int id))
        {
            id = _interfaces.Count;
            _interfaces[(linkType, interfaceName)] = id;
            WriteInterface(linkType, interfaceName);
        }

        int padded = (frame.Length + 3) & ~3;
        int total = 32 + padded;
        if (_buffer.Length < total)
        {
            _buffer = new byte[total * 2];
        }

        Span<byte> b = _buffer.AsSpan(0, total);
        b.Clear();
        long micros = (timestamp.ToUniversalTime() - DateTime.UnixEpoch).Ticks / 10;
        BinaryPrimitives.WriteUInt32LittleEndian(b, 6); // enhanced packet block
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], (uint)total);
        BinaryPrimitives.WriteUInt32LittleEndian(b[8..], (uint)id);
        BinaryPrimitives.WriteUInt32LittleEndian(b[12..], (uint)(micros >> 32));
        BinaryPrimitives.WriteUInt32LittleEndian(b[16..], (uint)micros);
        BinaryPrimitives.WriteUInt32LittleEndian(b[20..], (uint)frame.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(b[24..], (uint)Math.Max(originalLength, frame.Length));
        frame.CopyTo(b[28..]);
        BinaryPrimitives.WriteUInt32LittleEndian(b[(total - 4)..], (uint)total);
        _stream.Write(b);
        Packets++;
    }

    private void WriteInterface(int linkType, string name)
    {
        byte[] nameBytes = Encoding.UTF8.GetBytes(name);
        int namePadded = (nameBytes.Length + 3) & ~3;
        int total = 16 + 4 + namePadded + 4 + 4; // header, if_name option, opt_endofopt, trailing length
        Span<byte> b = stackalloc byte[total];
        b.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(b, 1); // interface description block
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], (uint)total);
        BinaryPrimitives.WriteUInt16LittleEndian(b[8..], (ushort)linkType);
        BinaryPrimitives.WriteUInt32LittleEndian(b[12..], (uint)_snapLength);
        BinaryPrimitives.WriteUInt16LittleEndian(b[16..], 2); // if_name
        BinaryPrimitives.WriteUInt16LittleEndian(b[18..], (ushort)nameBytes.Length);
        nameBytes.CopyTo(b[20..]);
        // opt_endofopt is the zeroed 4 bytes that follow the name
        BinaryPrimitives.WriteUInt32LittleEndian(b[(total - 4)..], (uint)total);
        _stream.Write(b);
    }

    public void Dispose() => _stream.Dispose();
}
