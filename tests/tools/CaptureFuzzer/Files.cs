// Capture files written with every field under the caller's control (including those a well-behaved writer
// never puts there): classic pcap in either byte order and resolution, and pcapng blocks and options.
using System.Buffers.Binary;

namespace CaptureFuzzer;

/// <summary>A classic pcap file, record by record, streamed (floods are millions of records).</summary>
public sealed class PcapFile : IDisposable
{
    private readonly Stream _stream;
    private readonly bool _bigEndian;
    private readonly byte[] _header = new byte[16];

    public PcapFile(Stream stream, int linkType, bool nanoseconds = false, bool bigEndian = false, uint snapLength = 262144)
    {
        _stream = stream;
        _bigEndian = bigEndian;
        var h = new byte[24];
        U32(h, 0, nanoseconds ? 0xa1b23c4du : 0xa1b2c3d4u);
        U16(h, 4, 2);
        U16(h, 6, 4);
        U32(h, 16, snapLength);
        U32(h, 20, (uint)linkType);
        _stream.Write(h);
    }

    public static PcapFile Create(string path, int linkType, bool nanoseconds = false, bool bigEndian = false) =>
        new(new BufferedStream(File.Create(path), 1 << 20), linkType, nanoseconds, bigEndian);

    public long Records { get; private set; }

    public void Write(uint seconds, uint fraction, ReadOnlySpan<byte> data, uint? captured = null, uint? original = null)
    {
        U32(_header, 0, seconds);
        U32(_header, 4, fraction);
        U32(_header, 8, captured ?? (uint)data.Length);
        U32(_header, 12, original ?? (uint)data.Length);
        _stream.Write(_header);
        _stream.Write(data);
        Records++;
    }

    /// <summary>A record at this many microseconds since the epoch.</summary>
    public void Write(long microseconds, ReadOnlySpan<byte> data) => Write((uint)(microseconds / 1_000_000), (uint)(microseconds % 1_000_000), data);

    private void U32(byte[] b, int at, uint v)
    {
        if (_bigEndian) BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(at), v);
        else BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at), v);
    }

    private void U16(byte[] b, int at, ushort v)
    {
        if (_bigEndian) BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(at), v);
        else BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(at), v);
    }

    public void Dispose() => _stream.Dispose();
}

/// <summary>pcapng blocks: section header, interface descriptions with options, enhanced and simple packet blocks, anything else raw.</summary>
public sealed class PcapNgFile : IDisposable
{
    private readonly Stream _stream;
    private readonly bool _bigEndian;

    public PcapNgFile(Stream stream, bool bigEndian = false)
    {
        _stream = stream;
        _bigEndian = bigEndian;
        var body = new byte[16];
        U32(body, 0, 0x1A2B3C4D);
        U16(body, 4, 1);
        U16(body, 6, 0);
        U64(body, 8, ulong.MaxValue);
        Block(0x0A0D0D0A, body);
    }

    public static PcapNgFile Create(string path, bool bigEndian = false) => new(new BufferedStream(File.Create(path), 1 << 20), bigEndian);

    /// <summary>An interface description; options are (code, value) pairs: 9 if_tsresol (1 byte), 14 if_tsoffset (8 bytes).</summary>
    public void Interface(int linkType, uint snapLength = 262144, params (ushort Code, byte[] Value)[] options)
    {
        var body = new List<byte>();
        var fixedPart = new byte[8];
        U16(fixedPart, 0, (ushort)linkType);
        U32(fixedPart, 4, snapLength);
        body.AddRange(fixedPart);
        if (options.Length > 0)
        {
            foreach ((ushort code, byte[] value) in options)
            {
                body.AddRange(Option(code, value));
            }

            body.AddRange(Option(0, Array.Empty<byte>()));
        }

        Block(1, body.ToArray());
    }

    public byte[] TsResol(byte value) => new[] { value };

    public byte[] TsOffset(long seconds)
    {
        var b = new byte[8];
        U64(b, 0, (ulong)seconds);
        return b;
    }

    /// <summary>An enhanced packet block with a raw 64-bit timestamp in the interface's units.</summary>
    public void Packet(uint interfaceId, ulong timestamp, ReadOnlySpan<byte> data, uint? captured = null, uint? original = null)
    {
        int padded = (data.Length + 3) & ~3;
        var body = new byte[20 + padded];
        U32(body, 0, interfaceId);
        U32(body, 4, (uint)(timestamp >> 32));
        U32(body, 8, (uint)timestamp);
        U32(body, 12, captured ?? (uint)data.Length);
        U32(body, 16, original ?? (uint)data.Length);
        data.CopyTo(body.AsSpan(20));
        Block(6, body);
    }

    public void SimplePacket(ReadOnlySpan<byte> data)
    {
        int padded = (data.Length + 3) & ~3;
        var body = new byte[4 + padded];
        U32(body, 0, (uint)data.Length);
        data.CopyTo(body.AsSpan(4));
        Block(3, body);
    }

    public void Block(uint type, byte[] body)
    {
        uint total = (uint)(12 + ((body.Length + 3) & ~3));
        var b = new byte[total];
        U32(b, 0, type);
        U32(b, 4, total);
        body.CopyTo(b, 8);
        U32(b, (int)total - 4, total);
        _stream.Write(b);
    }

    private byte[] Option(ushort code, byte[] value)
    {
        var o = new byte[4 + ((value.Length + 3) & ~3)];
        U16(o, 0, code);
        U16(o, 2, (ushort)value.Length);
        value.CopyTo(o, 4);
        return o;
    }

    private void U64(byte[] b, int at, ulong v)
    {
        if (_bigEndian) BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(at), v);
        else BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(at), v);
    }

    private void U32(byte[] b, int at, uint v)
    {
        if (_bigEndian) BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(at), v);
        else BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at), v);
    }

    private void U16(byte[] b, int at, ushort v)
    {
        if (_bigEndian) BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(at), v);
        else BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(at), v);
    }

    public void Dispose() => _stream.Dispose();
}
