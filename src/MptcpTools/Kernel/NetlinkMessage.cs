using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Text;

namespace MptcpTools.Kernel;

/// <summary>Constants of the netlink wire format (linux/netlink.h, linux/genetlink.h).</summary>
public static class Netlink
{
    public const int HeaderLength = 16;
    public const int GenlHeaderLength = 4;
    public const ushort NLMSG_NOOP = 1;
    public const ushort NLMSG_ERROR = 2;
    public const ushort NLMSG_DONE = 3;
    public const ushort NLM_F_REQUEST = 0x1;
    public const ushort NLM_F_MULTI = 0x2;
    public const ushort NLM_F_ACK = 0x4;
    public const ushort NLM_F_DUMP = 0x300;
    public const ushort NLM_F_CAPPED = 0x100;
    public const ushort NLM_F_ACK_TLVS = 0x200;
    public const ushort NLA_F_NESTED = 0x8000;
    public const ushort NLA_TYPE_MASK = 0x3fff;
    public const ushort NLMSGERR_ATTR_MSG = 1;

    public static int Align(int length) => (length + 3) & ~3;
}

/// <summary>One netlink attribute: its type (flags masked off) and its payload.</summary>
public readonly struct NetlinkAttribute
{
    public NetlinkAttribute(ushort type, ReadOnlyMemory<byte> data)
    {
        Type = (ushort)(type & Netlink.NLA_TYPE_MASK);
        Data = data;
    }

    public ushort Type { get; }
    public ReadOnlyMemory<byte> Data { get; }

    public byte AsByte() => Data.Length >= 1 ? Data.Span[0] : throw Short(1);
    public ushort AsUInt16() => Data.Length >= 2 ? BinaryPrimitives.ReadUInt16LittleEndian(Data.Span) : throw Short(2);
    public ushort AsUInt16BigEndian() => Data.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(Data.Span) : throw Short(2);
    public uint AsUInt32() => Data.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(Data.Span) : throw Short(4);
    public int AsInt32() => (int)AsUInt32();

    /// <summary>A NUL-terminated string attribute.</summary>
    public string AsString()
    {
        ReadOnlySpan<byte> span = Data.Span;
        int nul = span.IndexOf((byte)0);
        return Encoding.UTF8.GetString(nul >= 0 ? span[..nul] : span);
    }

    public IReadOnlyList<NetlinkAttribute> AsNested() => NetlinkAttributes.Parse(Data);

    private FormatException Short(int wanted) =>
        new($"netlink attribute {Type} carries {Data.Length} bytes, {wanted} expected");
}

/// <summary>Parses a run of netlink attributes; never reads past the buffer.</summary>
public static class NetlinkAttributes
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static IReadOnlyList<NetlinkAttribute> Parse(ReadOnlyMemory<byte> buffer)
    {
        var list = new List<NetlinkAttribute>();
        ReadOnlySpan<byte> span = buffer.Span;
        int offset = 0;
        while (offset + 4 <= span.Length)
        {
            ushort length = BinaryPrimitives.ReadUInt16LittleEndian(span[offset..]);
            ushort type = BinaryPrimitives.ReadUInt16LittleEndian(span[(offset + 2)..]);
            if (length < 4 || offset + length > span.Length)
            {
                throw new FormatException($"netlink attribute at offset {offset} claims {length} bytes, {span.Length - offset} remain");
            }

            list.Add(new NetlinkAttribute(type, buffer.Slice(offset + 4, length - 4)));
            offset += Netlink.Align(length);
        }

        return list;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static NetlinkAttribute? Find(IReadOnlyList<NetlinkAttribute> attributes, ushort type)
    {
        foreach (NetlinkAttribute attribute in attributes)
        {
            if (attribute.Type == type)
            {
                return attribute;
            }
        }

        return null;
    }
}

/// <summary>A received netlink message: header fields and the payload after the 16-byte header.</summary>
public sealed class NetlinkMessage
{
    public NetlinkMessage(ushort type, ushort flags, uint sequence, uint portId, ReadOnlyMemory<byte> payload)
    {
        Type = type;
        Flags = flags;
        Sequence = sequence;
        PortId = portId;
        Payload = payload;
    }

    public ushort Type { get; }
    public ushort Flags { get; }
    public uint Sequence { get; }
    public uint PortId { get; }
    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>Splits a datagram into its messages.</summary>
    public static IReadOnlyList<NetlinkMessage> ParseDatagram(ReadOnlyMemory<byte> datagram)
    {
        var messages = new List<NetlinkMessage>();
        ReadOnlySpan<byte> span = datagram.Span;
        int offset = 0;
        while (offset + Netlink.HeaderLength <= span.Length)
        {
            int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(span[offset..]);
            if (length < Netlink.HeaderLength || offset + length > span.Length)
            {
                throw new FormatException($"netlink message at offset {offset} claims {length} bytes, {span.Length - offset} remain");
            }

            messages.Add(new NetlinkMessage(
                BinaryPrimitives.ReadUInt16LittleEndian(span[(offset + 4)..]),
                BinaryPrimitives.ReadUInt16LittleEndian(span[(offset + 6)..]),
                BinaryPrimitives.ReadUInt32LittleEndian(span[(offset + 8)..]),
                BinaryPrimitives.ReadUInt32LittleEndian(span[(offset + 12)..]),
                datagram.Slice(offset + Netlink.HeaderLength, length - Netlink.HeaderLength)));
            offset += Netlink.Align(length);
        }

        return messages;
    }

    /// <summary>
    /// Reads an NLMSG_ERROR payload: the negated errno, and the extended-ack message if the kernel
    /// appended one (NLM_F_ACK_TLVS; with NETLINK_CAP_ACK the request echo is only its header).
    /// </summary>
    public (int Errno, string? Message) ReadError()
    {
        ReadOnlySpan<byte> span = Payload.Span;
        if (span.Length < 4)
        {
            throw new FormatException("netlink error message shorter than its error code");
        }

        int errno = -BinaryPrimitives.ReadInt32LittleEndian(span);
        string? message = null;
        if ((Flags & Netlink.NLM_F_ACK_TLVS) != 0 && span.Length >= 4 + Netlink.HeaderLength)
        {
            int echoed = (Flags & Netlink.NLM_F_CAPPED) != 0
                ? Netlink.HeaderLength
                : (int)BinaryPrimitives.ReadUInt32LittleEndian(span[4..]);
            int tlvStart = 4 + Netlink.Align(echoed);
            if (tlvStart <= span.Length)
            {
                NetlinkAttribute? text = NetlinkAttributes.Find(NetlinkAttributes.Parse(Payload[tlvStart..]), Netlink.NLMSGERR_ATTR_MSG);
                message = text?.AsString();
            }
        }

        return (errno, message);
    }
}

/// <summary>Builds one netlink request: header, optional generic-netlink header, attributes (nestable).</summary>
public sealed class NetlinkRequestBuilder
{
    private readonly List<byte> _bytes = new(64);
    private readonly Stack<int> _nested = new();

    public NetlinkRequestBuilder(ushort type, ushort flags)
    {
        _bytes.AddRange(new byte[Netlink.HeaderLength]);
        WriteUInt16At(4, type);
        WriteUInt16At(6, flags);
    }

    /// <summary>Starts a generic netlink request for a family id and command.</summary>
    public static NetlinkRequestBuilder Generic(ushort familyId, byte command, byte version, ushort flags)
    {
        var builder = new NetlinkRequestBuilder(familyId, flags);
        builder._bytes.Add(command);
        builder._bytes.Add(version);
        builder._bytes.Add(0);
        builder._bytes.Add(0);
        return builder;
    }

    public NetlinkRequestBuilder Raw(ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
        {
            _bytes.Add(b);
        }

        Pad();
        return this;
    }

    public NetlinkRequestBuilder Attribute(ushort type, ReadOnlySpan<byte> value)
    {
        int start = _bytes.Count;
        _bytes.AddRange(new byte[4]);
        foreach (byte b in value)
        {
            _bytes.Add(b);
        }

        WriteUInt16At(start, (ushort)(4 + value.Length));
        WriteUInt16At(start + 2, type);
        Pad();
        return this;
    }

    public NetlinkRequestBuilder UInt8(ushort type, byte value) => Attribute(type, stackalloc byte[] { value });

    public NetlinkRequestBuilder UInt16(ushort type, ushort value)
    {
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, value);
        return Attribute(type, b);
    }

    public NetlinkRequestBuilder UInt32(ushort type, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        return Attribute(type, b);
    }

    public NetlinkRequestBuilder Int32(ushort type, int value) => UInt32(type, (uint)value);

    public NetlinkRequestBuilder String(ushort type, string value)
    {
        byte[] text = Encoding.UTF8.GetBytes(value + "\0");
        return Attribute(type, text);
    }

    public NetlinkRequestBuilder BeginNested(ushort type)
    {
        _nested.Push(_bytes.Count);
        _bytes.AddRange(new byte[4]);
        WriteUInt16At(_bytes.Count - 2, (ushort)(type | Netlink.NLA_F_NESTED));
        return this;
    }

    public NetlinkRequestBuilder EndNested()
    {
        int start = _nested.Pop();
        WriteUInt16At(start, (ushort)(_bytes.Count - start));
        return this;
    }

    /// <summary>The finished message with the given sequence number (port id 0: the kernel fills it).</summary>
    public byte[] Build(uint sequence)
    {
        if (_nested.Count != 0)
        {
            throw new InvalidOperationException("unclosed nested attribute");
        }

        byte[] message = _bytes.ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(message, (uint)message.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(8), sequence);
        return message;
    }

    private void Pad()
    {
        while (_bytes.Count % 4 != 0)
        {
            _bytes.Add(0);
        }
    }

    private void WriteUInt16At(int offset, ushort value)
    {
        _bytes[offset] = (byte)value;
        _bytes[offset + 1] = (byte)(value >> 8);
    }
}
