using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Net;

namespace MptcpTools.Packets;

/// <summary>TCP header flags.</summary>
[Flags]
public enum TcpFlags : ushort
{
    None = 0,
    Fin = 0x01,
    Syn = 0x02,
    Rst = 0x04,
    Psh = 0x08,
    Ack = 0x10,
    Urg = 0x20,
    Ece = 0x40,
    Cwr = 0x80,
}

/// <summary>
/// Decodes TCP option kind 30 in every form RFC 8684 (and RFC 6824 for version 0) defines. Never throws on
/// packet content: what does not fit a form becomes an <see cref="InvalidMptcpOption"/> that says why.
/// </summary>
public static class MptcpOptionDecoder
{
    public const byte OptionKind = 30;

    /// <summary>
    /// Walks a TCP header's option bytes and appends every MPTCP option to <paramref name="into"/>.
    /// Returns how many it appended. A broken option list ends the walk, with an invalid option when the
    /// breakage is in an MPTCP option.
    /// </summary>
    public static int DecodeAll(ReadOnlySpan<byte> options, TcpFlags flags, List<MptcpOption> into)
    {
        int found = 0;
        int i = 0;
        while (i < options.Length)
        {
            byte kind = options[i];
            if (kind == 0)
            {
                break; // end of option list
            }

            if (kind == 1)
            {
                i++; // NOP
                continue;
            }

            if (i + 1 >= options.Length)
            {
                if (kind == OptionKind)
                {
                    into.Add(new InvalidMptcpOption(MptcpSubtype.Unknown, options[i..], "truncated: the option has no length byte"));
                    found++;
                }

                break;
            }

            int length = options[i + 1];
            if (length < 2)
            {
                if (kind == OptionKind)
                {
                    into.Add(new InvalidMptcpOption(Claimed(options[i..]), options[i..Math.Min(options.Length, i + 3)], $"length field {length} is below the minimum of 2"));
                    found++;
                }

                break; // a length below 2 would loop forever: the rest of the list is unreadable
            }

            if (i + length > options.Length)
            {
                if (kind == OptionKind)
                {
                    into.Add(new InvalidMptcpOption(Claimed(options[i..]), options[i..],
                        $"truncated: the length field says {length} bytes, {options.Length - i} remain"));
                    found++;
                }

                break;
            }

            if (kind == OptionKind)
            {
                into.Add(Decode(options.Slice(i, length), flags));
                found++;
            }

            i += length;
        }

        return found;
    }

    /// <summary>Decodes the MPTCP options in a TCP header's option bytes (for scripts and tests).</summary>
    public static List<MptcpOption> DecodeAll(byte[] options, TcpFlags flags)
    {
        var list = new List<MptcpOption>();
        DecodeAll(options.AsSpan(), flags, list);
        return list;
    }

    /// <summary>Decodes one complete MPTCP option (for scripts and tests).</summary>
    public static MptcpOption Decode(byte[] option, TcpFlags flags) => Decode(option.AsSpan(), flags);

    /// <summary>Decodes one complete MPTCP option (kind and length bytes included).</summary>
    public static MptcpOption Decode(ReadOnlySpan<byte> option, TcpFlags flags)
    {
        if (option.Length < 3 || option[0] != OptionKind)
        {
            return new InvalidMptcpOption(MptcpSubtype.Unknown, option, $"an MPTCP option needs at least 3 bytes, it has {option.Length}");
        }

        int length = option.Length;
        bool syn = (flags & TcpFlags.Syn) != 0;
        bool ack = (flags & TcpFlags.Ack) != 0;
        switch (option[2] >> 4)
        {
            case 0:
                return DecodeCapable(option, syn, ack);
            case 1:
                return DecodeJoin(option);
            case 2:
                return DecodeDss(option);
            case 3:
                return DecodeAddAddr(option);
            case 4:
                return length >= 4
                    ? new RemoveAddrOption(option)
                    : Invalid(MptcpSubtype.RemoveAddr, option, "REMOVE_ADDR carries no address id");
            case 5:
                return length is 3 or 4
                    ? new MpPrioOption(option)
                    : Invalid(MptcpSubtype.MpPrio, option, $"MP_PRIO is 3 or 4 bytes, not {length}");
            case 6:
                return length == 12
                    ? new MpFailOption(option)
                    : Invalid(MptcpSubtype.MpFail, option, $"MP_FAIL is 12 bytes, not {length}");
            case 7:
                return length == 12
                    ? new MpFastCloseOption(option)
                    : Invalid(MptcpSubtype.MpFastClose, option, $"MP_FASTCLOSE is 12 bytes, not {length}");
            case 8:
                return length == 4
                    ? new MpTcpRstOption(option)
                    : Invalid(MptcpSubtype.MpTcpRst, option, $"MP_TCPRST is 4 bytes, not {length}");
            default:
                return new UnknownMptcpOption(option);
        }
    }

    private static MptcpOption DecodeCapable(ReadOnlySpan<byte> o, bool syn, bool ack)
    {
        int length = o.Length;
        if (length < 4)
        {
            return Invalid(MptcpSubtype.MpCapable, o, "MP_CAPABLE without its flags byte");
        }

        switch (length)
        {
            case 4:
                return new MpCapableOption(o, MpCapableForm.Syn, null, null, null, null);
            case 12 when syn:
                return new MpCapableOption(o, ack ? MpCapableForm.SynAck : MpCapableForm.Syn, Key(o, 4), null, null, null);
            case 12:
                return Invalid(MptcpSubtype.MpCapable, o, "a 12-byte MP_CAPABLE belongs in a SYN or SYN-ACK");
            case 20:
                return new MpCapableOption(o, MpCapableForm.Ack, Key(o, 4), Key(o, 12), null, null);
            case 22:
                return new MpCapableOption(o, MpCapableForm.AckWithData, Key(o, 4), Key(o, 12), BinaryPrimitives.ReadUInt16BigEndian(o[20..]), null);
            case 24:
                return new MpCapableOption(o, MpCapableForm.AckWithData, Key(o, 4), Key(o, 12),
                    BinaryPrimitives.ReadUInt16BigEndian(o[20..]), BinaryPrimitives.ReadUInt16BigEndian(o[22..]));
            default:
                return Invalid(MptcpSubtype.MpCapable, o, $"MP_CAPABLE is 4, 12, 20, 22 or 24 bytes, not {length}");
        }
    }

    private static MptcpOption DecodeJoin(ReadOnlySpan<byte> o)
    {
        bool backup = (o[2] & 0x01) != 0;
        return o.Length switch
        {
            12 => new MpJoinOption(o, MpJoinForm.Syn, backup, o[3],
                BinaryPrimitives.ReadUInt32BigEndian(o[4..]), BinaryPrimitives.ReadUInt32BigEndian(o[8..]), null),
            16 => new MpJoinOption(o, MpJoinForm.SynAck, backup, o[3],
                null, BinaryPrimitives.ReadUInt32BigEndian(o[12..]), o.Slice(4, 8).ToArray()),
            24 => new MpJoinOption(o, MpJoinForm.Ack, false, null, null, null, o.Slice(4, 20).ToArray()),
            _ => Invalid(MptcpSubtype.MpJoin, o, $"MP_JOIN is 12 (SYN), 16 (SYN-ACK) or 24 (ACK) bytes, not {o.Length}"),
        };
    }

    /// <summary>
    /// The fast path for the commonest segment: when option 30 appears exactly once in the option bytes, as a well-formed
    /// DSS, its fields by value and true; false otherwise (no DSS, another MPTCP option, or anything malformed), and then
    /// <see cref="DecodeAll(ReadOnlySpan{byte}, TcpFlags, List{MptcpOption})"/> says what there is.
    /// </summary>
    internal static bool TryDecodeDssOnly(ReadOnlySpan<byte> options, out DssFields dss)
    {
        dss = default;
        bool found = false;
        int i = 0;
        while (i < options.Length)
        {
            byte kind = options[i];
            if (kind == 0)
            {
                break;
            }

            if (kind == 1)
            {
                i++;
                continue;
            }

            if (i + 1 >= options.Length)
            {
                return found && kind != OptionKind;
            }

            int length = options[i + 1];
            if (length < 2 || i + length > options.Length)
            {
                return false; // broken: the full decoder says how
            }

            if (kind == OptionKind)
            {
                ReadOnlySpan<byte> o = options.Slice(i, length);
                if (found || length < 4 || (o[2] >> 4) != 2 || !TryDssFields(o, out dss))
                {
                    return false;
                }

                found = true;
            }

            i += length;
        }

        return found;
    }

    private static bool TryDssFields(ReadOnlySpan<byte> o, out DssFields fields)
    {
        fields = default;
        byte flags = o[3];
        bool hasAck = (flags & 0x01) != 0, ack8 = (flags & 0x02) != 0, hasMap = (flags & 0x04) != 0, dsn8 = (flags & 0x08) != 0;
        int expected = 4 + (hasAck ? (ack8 ? 8 : 4) : 0) + (hasMap ? (dsn8 ? 8 : 4) + 4 + 2 : 0);
        bool checksum = hasMap && o.Length == expected + 2;
        if (o.Length != expected && !checksum)
        {
            return false;
        }

        int p = 4;
        ulong? dataAck = null, dsn = null;
        uint? ssn = null;
        ushort? dataLength = null, csum = null;
        if (hasAck)
        {
            dataAck = ack8 ? BinaryPrimitives.ReadUInt64BigEndian(o[p..]) : BinaryPrimitives.ReadUInt32BigEndian(o[p..]);
            p += ack8 ? 8 : 4;
        }

        if (hasMap)
        {
            dsn = dsn8 ? BinaryPrimitives.ReadUInt64BigEndian(o[p..]) : BinaryPrimitives.ReadUInt32BigEndian(o[p..]);
            p += dsn8 ? 8 : 4;
            ssn = BinaryPrimitives.ReadUInt32BigEndian(o[p..]);
            dataLength = BinaryPrimitives.ReadUInt16BigEndian(o[(p + 4)..]);
            if (checksum)
            {
                csum = BinaryPrimitives.ReadUInt16BigEndian(o[(p + 6)..]);
            }
        }

        fields = new DssFields(flags, dataAck, dsn, ssn, dataLength, csum);
        return true;
    }

    private static MptcpOption DecodeDss(ReadOnlySpan<byte> o)
    {
        if (o.Length < 4)
        {
            return Invalid(MptcpSubtype.Dss, o, "DSS without its flags byte");
        }

        byte flags = o[3];
        bool hasAck = (flags & 0x01) != 0, ack8 = (flags & 0x02) != 0, hasMap = (flags & 0x04) != 0, dsn8 = (flags & 0x08) != 0;
        int expected = 4 + (hasAck ? (ack8 ? 8 : 4) : 0) + (hasMap ? (dsn8 ? 8 : 4) + 4 + 2 : 0);
        bool checksum = hasMap && o.Length == expected + 2;
        if (o.Length != expected && !checksum)
        {
            return Invalid(MptcpSubtype.Dss, o, hasMap
                ? $"flags 0x{flags:x2} call for {expected} bytes ({expected + 2} with a checksum), the option has {o.Length}"
                : $"flags 0x{flags:x2} call for {expected} bytes, the option has {o.Length}");
        }

        int p = 4;
        ulong? dataAck = null, dsn = null;
        uint? ssn = null;
        ushort? dataLength = null, csum = null;
        if (hasAck)
        {
            dataAck = ack8 ? BinaryPrimitives.ReadUInt64BigEndian(o[p..]) : BinaryPrimitives.ReadUInt32BigEndian(o[p..]);
            p += ack8 ? 8 : 4;
        }

        if (hasMap)
        {
            dsn = dsn8 ? BinaryPrimitives.ReadUInt64BigEndian(o[p..]) : BinaryPrimitives.ReadUInt32BigEndian(o[p..]);
            p += dsn8 ? 8 : 4;
            ssn = BinaryPrimitives.ReadUInt32BigEndian(o[p..]);
            dataLength = BinaryPrimitives.ReadUInt16BigEndian(o[(p + 4)..]);
            if (checksum)
            {
                csum = BinaryPrimitives.ReadUInt16BigEndian(o[(p + 6)..]);
            }
        }

        return new DssOption(o, flags, dataAck, dsn, ssn, dataLength, csum);
    }

    private static MptcpOption DecodeAddAddr(ReadOnlySpan<byte> o)
    {
        int low = o[2] & 0x0f;
        int length = o.Length;
        if (length < 4)
        {
            return Invalid(MptcpSubtype.AddAddr, o, "ADD_ADDR without an address id");
        }

        if (low is 4 or 6)
        {
            // RFC 6824 (version 0): the low nibble is the IP version.
            int addressBytes = low == 4 ? 4 : 16;
            if (length != 4 + addressBytes && length != 4 + addressBytes + 2)
            {
                return Invalid(MptcpSubtype.AddAddr, o, $"a version 0 IPv{low} ADD_ADDR is {4 + addressBytes} or {6 + addressBytes} bytes, not {length}");
            }

            ushort? port0 = length == 6 + addressBytes ? BinaryPrimitives.ReadUInt16BigEndian(o[(4 + addressBytes)..]) : null;
            return new AddAddrOption(o, 0, false, o[3], new IPAddress(o.Slice(4, addressBytes)), port0, null);
        }

        bool echo = (low & 0x01) != 0;
        (int bytes, bool port)? shape = (length, echo) switch
        {
            (8, true) => (4, false),
            (10, true) => (4, true),
            (16, false) => (4, false),
            (18, false) => (4, true),
            (20, true) => (16, false),
            (22, true) => (16, true),
            (28, false) => (16, false),
            (30, false) => (16, true),
            _ => null,
        };
        if (shape is not { } s)
        {
            return Invalid(MptcpSubtype.AddAddr, o, echo
                ? $"an ADD_ADDR echo is 8, 10, 20 or 22 bytes, not {length}"
                : $"an ADD_ADDR with HMAC is 16, 18, 28 or 30 bytes, not {length}");
        }

        int at = 4 + s.bytes;
        ushort? port = s.port ? BinaryPrimitives.ReadUInt16BigEndian(o[at..]) : null;
        ulong? hmac = echo ? null : BinaryPrimitives.ReadUInt64BigEndian(o[(at + (s.port ? 2 : 0))..]);
        return new AddAddrOption(o, 1, echo, o[3], new IPAddress(o.Slice(4, s.bytes)), port, hmac);
    }

    private static ulong Key(ReadOnlySpan<byte> o, int at) => BinaryPrimitives.ReadUInt64BigEndian(o[at..]);

    private static MptcpSubtype Claimed(ReadOnlySpan<byte> o)
    {
        if (o.Length < 3)
        {
            return MptcpSubtype.Unknown;
        }

        int value = o[2] >> 4;
        return value <= 8 ? (MptcpSubtype)value : MptcpSubtype.Unknown;
    }

    private static InvalidMptcpOption Invalid(MptcpSubtype claimed, ReadOnlySpan<byte> o, string problem) => new(claimed, o, problem);
}
