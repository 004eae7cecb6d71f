using System;
using System.Buffers.Binary;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Security.Cryptography;

namespace MptcpTools.Packets;

/// <summary>MPTCP option subtypes (RFC 8684 section 7 registry).</summary>
public enum MptcpSubtype
{
    MpCapable = 0,
    MpJoin = 1,
    Dss = 2,
    AddAddr = 3,
    RemoveAddr = 4,
    MpPrio = 5,
    MpFail = 6,
    MpFastClose = 7,
    MpTcpRst = 8,
    Unknown = 15,
}

/// <summary>MP_TCPRST reason codes (RFC 8684 section 3.6).</summary>
public enum MptcpResetReason : byte
{
    Unspecified = 0,
    MptcpSpecificError = 1,
    LackOfResources = 2,
    AdministrativelyProhibited = 3,
    TooMuchOutstandingData = 4,
    UnacceptablePerformance = 5,
    MiddleboxInterference = 6,
}

/// <summary>The form of an MP_CAPABLE option, from its length and the segment's flags.</summary>
public enum MpCapableForm
{
    Syn,
    SynAck,
    Ack,
    AckWithData,
}

/// <summary>The form of an MP_JOIN option.</summary>
public enum MpJoinForm
{
    Syn,
    SynAck,
    Ack,
}

/// <summary>One MPTCP option (TCP option kind 30) as it was on the wire.</summary>
public abstract class MptcpOption
{
    private readonly byte[] _raw;

    protected MptcpOption(MptcpSubtype subtype, ReadOnlySpan<byte> raw)
    {
        Subtype = subtype;
        _raw = raw.ToArray();
    }

    public MptcpSubtype Subtype { get; }

    /// <summary>The option's length field (kind and length bytes included).</summary>
    public int Length => _raw.Length >= 2 ? _raw[1] : _raw.Length;

    /// <summary>False for an option that is truncated or does not match any form of its subtype.</summary>
    public virtual bool IsValid => true;

    /// <summary>The option's bytes as they were on the wire, kind and length included.</summary>
    public byte[] GetBytes() => (byte[])_raw.Clone();

    /// <summary>The bytes as hex, for display and comparison.</summary>
    public string Raw => Convert.ToHexString(_raw).ToLowerInvariant();

    protected static string Hex(ulong value) => "0x" + value.ToString("x16", CultureInfo.InvariantCulture);
}

/// <summary>MP_CAPABLE: version, flags and keys (RFC 8684 section 3.1; RFC 6824 for version 0).</summary>
public sealed class MpCapableOption : MptcpOption
{
    internal MpCapableOption(ReadOnlySpan<byte> raw, MpCapableForm form, ulong? senderKey, ulong? receiverKey, ushort? dataLength, ushort? checksum)
        : base(MptcpSubtype.MpCapable, raw)
    {
        Version = raw[2] & 0x0f;
        Flags = raw[3];
        Form = form;
        SenderKey = senderKey;
        ReceiverKey = receiverKey;
        DataLength = dataLength;
        Checksum = checksum;
    }

    public int Version { get; }
    public byte Flags { get; }
    public MpCapableForm Form { get; }
    /// <summary>Flag A: DSS checksums required.</summary>
    public bool ChecksumRequired => (Flags & 0x80) != 0;
    /// <summary>Flag B: extensibility.</summary>
    public bool Extensibility => (Flags & 0x40) != 0;
    /// <summary>Flag C: do not open subflows to the sender's source address.</summary>
    public bool NoExtraSubflowsToSource => (Flags & 0x20) != 0;
    /// <summary>Flag H: HMAC-SHA256 (v1), HMAC-SHA1 (v0).</summary>
    public bool HmacSha => (Flags & 0x01) != 0;
    /// <summary>The flag letters that are set, A to H, as tcpdump prints them.</summary>
    public string FlagLetters => new(Enumerable.Range(0, 8).Where(i => (Flags & (0x80 >> i)) != 0).Select(i => (char)('A' + i)).ToArray());
    public ulong? SenderKey { get; }
    public ulong? ReceiverKey { get; }
    /// <summary>Data-level length of the first data (the 22- and 24-byte forms).</summary>
    public ushort? DataLength { get; }
    public ushort? Checksum { get; }

    public override string ToString()
    {
        string text = $"MP_CAPABLE v{Version} {Form} flags [{FlagLetters}]";
        if (SenderKey is { } s) text += $" key {Hex(s)}";
        if (ReceiverKey is { } r) text += $" peer-key {Hex(r)}";
        if (DataLength is { } d) text += $" data-len {d}";
        if (Checksum is { } c) text += $" csum 0x{c:x4}";
        return text;
    }
}

/// <summary>MP_JOIN in its SYN, SYN-ACK and third-ACK forms (RFC 8684 section 3.2).</summary>
public sealed class MpJoinOption : MptcpOption
{
    internal MpJoinOption(ReadOnlySpan<byte> raw, MpJoinForm form, bool backup, byte? addressId, uint? token, uint? nonce, byte[]? hmac)
        : base(MptcpSubtype.MpJoin, raw)
    {
        Form = form;
        Backup = backup;
        AddressId = addressId;
        Token = token;
        Nonce = nonce;
        _hmac = hmac;
    }

    private readonly byte[]? _hmac;

    public MpJoinForm Form { get; }
    public bool Backup { get; }
    public byte? AddressId { get; }
    /// <summary>The receiver's token (SYN form).</summary>
    public uint? Token { get; }
    /// <summary>The sender's random number (SYN and SYN-ACK forms).</summary>
    public uint? Nonce { get; }
    /// <summary>The truncated 64-bit HMAC (SYN-ACK) or the full 160-bit HMAC (ACK), as hex.</summary>
    public string? Hmac => _hmac is null ? null : Convert.ToHexString(_hmac).ToLowerInvariant();

    public override string ToString() => Form switch
    {
        MpJoinForm.Syn => $"MP_JOIN SYN{(Backup ? " backup" : "")} id {AddressId} token 0x{Token:x8} nonce 0x{Nonce:x8}",
        MpJoinForm.SynAck => $"MP_JOIN SYN-ACK{(Backup ? " backup" : "")} id {AddressId} hmac 0x{Hmac} nonce 0x{Nonce:x8}",
        _ => $"MP_JOIN ACK hmac 0x{Hmac}",
    };
}

/// <summary>
/// A DSS option's fields by value: what the tracker reads, decoded without an object when a segment carries nothing
/// else of option 30 (most data and ACK segments), so the frame loop allocates nothing for them.
/// </summary>
internal readonly struct DssFields
{
    public DssFields(byte flags, ulong? dataAck, ulong? dataSequence, uint? subflowSequence, ushort? dataLength, ushort? checksum)
    {
        Flags = flags;
        DataAck = dataAck;
        DataSequence = dataSequence;
        SubflowSequence = subflowSequence;
        DataLength = dataLength;
        Checksum = checksum;
    }

    public byte Flags { get; }
    public bool DataAckIs8Bytes => (Flags & 0x02) != 0;
    public bool HasMapping => (Flags & 0x04) != 0;
    public bool DataSequenceIs8Bytes => (Flags & 0x08) != 0;
    public bool DataFin => (Flags & 0x10) != 0;
    public ulong? DataAck { get; }
    public ulong? DataSequence { get; }
    public uint? SubflowSequence { get; }
    public ushort? DataLength { get; }
    public ushort? Checksum { get; }
    public bool IsInfiniteMapping => HasMapping && DataLength == 0 && !DataFin;
}

/// <summary>DSS: data ACK, mapping, DATA_FIN (RFC 8684 section 3.3).</summary>
public sealed class DssOption : MptcpOption
{
    internal DssOption(ReadOnlySpan<byte> raw, byte flags, ulong? dataAck, ulong? dataSequence, uint? subflowSequence, ushort? dataLength, ushort? checksum)
        : base(MptcpSubtype.Dss, raw)
    {
        Flags = flags;
        DataAck = dataAck;
        DataSequence = dataSequence;
        SubflowSequence = subflowSequence;
        DataLength = dataLength;
        Checksum = checksum;
    }

    public byte Flags { get; }
    public bool HasDataAck => (Flags & 0x01) != 0;
    public bool DataAckIs8Bytes => (Flags & 0x02) != 0;
    public bool HasMapping => (Flags & 0x04) != 0;
    public bool DataSequenceIs8Bytes => (Flags & 0x08) != 0;
    public bool DataFin => (Flags & 0x10) != 0;
    public ulong? DataAck { get; }
    public ulong? DataSequence { get; }
    /// <summary>Relative subflow sequence number of the mapping.</summary>
    public uint? SubflowSequence { get; }
    public ushort? DataLength { get; }
    public ushort? Checksum { get; }
    /// <summary>A mapping with data-level length 0 (and no DATA_FIN): the connection fell back to TCP.</summary>
    public bool IsInfiniteMapping => HasMapping && DataLength == 0 && !DataFin;

    internal DssFields Fields => new(Flags, DataAck, DataSequence, SubflowSequence, DataLength, Checksum);

    public override string ToString()
    {
        string text = "DSS";
        if (DataFin) text += " fin";
        if (DataAck is { } a) text += $" ack {a}";
        if (DataSequence is { } s) text += $" seq {s} subseq {SubflowSequence} len {DataLength}";
        if (Checksum is { } c) text += $" csum 0x{c:x4}";
        if (IsInfiniteMapping) text += " (infinite mapping)";
        return text;
    }
}

/// <summary>ADD_ADDR (RFC 8684 section 3.4.1; version 0 of RFC 6824 carries the IP version instead of the echo flag).</summary>
public sealed class AddAddrOption : MptcpOption
{
    internal AddAddrOption(ReadOnlySpan<byte> raw, int version, bool echo, byte addressId, IPAddress address, ushort? port, ulong? hmac)
        : base(MptcpSubtype.AddAddr, raw)
    {
        Version = version;
        Echo = echo;
        AddressId = addressId;
        Address = address;
        Port = port;
        Hmac = hmac;
    }

    /// <summary>1 for RFC 8684, 0 for RFC 6824.</summary>
    public int Version { get; }
    public bool Echo { get; }
    public byte AddressId { get; }
    public IPAddress Address { get; }
    public ushort? Port { get; }
    /// <summary>The truncated HMAC (version 1, not on echoes).</summary>
    public ulong? Hmac { get; }

    public override string ToString()
    {
        string text = $"ADD_ADDR v{Version}{(Echo ? " echo" : "")} id {AddressId} {Address}";
        if (Port is { } p) text += $" port {p}";
        if (Hmac is { } h) text += $" hmac {Hex(h)}";
        return text;
    }
}

/// <summary>REMOVE_ADDR: the address ids withdrawn (RFC 8684 section 3.4.2).</summary>
public sealed class RemoveAddrOption : MptcpOption
{
    internal RemoveAddrOption(ReadOnlySpan<byte> raw) : base(MptcpSubtype.RemoveAddr, raw) => AddressIds = raw[3..].ToArray();

    public byte[] AddressIds { get; }

    public override string ToString() => $"REMOVE_ADDR id {string.Join(",", AddressIds)}";
}

/// <summary>MP_PRIO: change of backup priority (RFC 8684 section 3.3.8; v0 adds an address id).</summary>
public sealed class MpPrioOption : MptcpOption
{
    internal MpPrioOption(ReadOnlySpan<byte> raw) : base(MptcpSubtype.MpPrio, raw)
    {
        Backup = (raw[2] & 0x01) != 0;
        AddressId = raw.Length == 4 ? raw[3] : null;
    }

    public bool Backup { get; }
    public byte? AddressId { get; }

    public override string ToString() => $"MP_PRIO {(Backup ? "backup" : "non-backup")}{(AddressId is { } id ? $" id {id}" : "")}";
}

/// <summary>MP_FAIL: the data sequence number where a checksum failed (RFC 8684 section 3.7).</summary>
public sealed class MpFailOption : MptcpOption
{
    internal MpFailOption(ReadOnlySpan<byte> raw) : base(MptcpSubtype.MpFail, raw) =>
        DataSequence = BinaryPrimitives.ReadUInt64BigEndian(raw[4..]);

    public ulong DataSequence { get; }

    public override string ToString() => $"MP_FAIL seq {DataSequence}";
}

/// <summary>MP_FASTCLOSE: the receiver's key (RFC 8684 section 3.5).</summary>
public sealed class MpFastCloseOption : MptcpOption
{
    internal MpFastCloseOption(ReadOnlySpan<byte> raw) : base(MptcpSubtype.MpFastClose, raw) =>
        ReceiverKey = BinaryPrimitives.ReadUInt64BigEndian(raw[4..]);

    public ulong ReceiverKey { get; }

    public override string ToString() => $"MP_FASTCLOSE key {Hex(ReceiverKey)}";
}

/// <summary>MP_TCPRST: why a subflow was reset (RFC 8684 section 3.6).</summary>
public sealed class MpTcpRstOption : MptcpOption
{
    internal MpTcpRstOption(ReadOnlySpan<byte> raw) : base(MptcpSubtype.MpTcpRst, raw)
    {
        Flags = (byte)(raw[2] & 0x0f);
        ReasonCode = raw[3];
    }

    /// <summary>The U, V, W and T bits.</summary>
    public byte Flags { get; }
    /// <summary>T: the error is transient; the sender may retry.</summary>
    public bool Transient => (Flags & 0x01) != 0;
    public byte ReasonCode { get; }
    /// <summary>The reason by name; a code RFC 8684 does not define prints as its number.</summary>
    public MptcpResetReason Reason => (MptcpResetReason)ReasonCode;

    public override string ToString() => $"MP_TCPRST{(Transient ? " transient" : "")} reason {Reason}";
}

/// <summary>An MPTCP option of a subtype this decoder does not know (including 0xf, private use).</summary>
public sealed class UnknownMptcpOption : MptcpOption
{
    internal UnknownMptcpOption(ReadOnlySpan<byte> raw) : base(MptcpSubtype.Unknown, raw) =>
        SubtypeValue = raw.Length >= 3 ? raw[2] >> 4 : -1;

    public int SubtypeValue { get; }

    public override string ToString() => $"MPTCP subtype {SubtypeValue} ({Length} bytes)";
}

/// <summary>
/// A malformed or truncated MPTCP option: it keeps the raw bytes and says what is wrong. Its Subtype is
/// the one the option claimed.
/// </summary>
public sealed class InvalidMptcpOption : MptcpOption
{
    internal InvalidMptcpOption(MptcpSubtype claimed, ReadOnlySpan<byte> raw, string problem) : base(claimed, raw) => Problem = problem;

    public override bool IsValid => false;
    public string Problem { get; }

    public override string ToString() => $"invalid {Subtype}: {Problem} [{Raw}]";
}

/// <summary>Token and initial data sequence number from a key (RFC 8684 section 3.1; SHA-1 for version 0).</summary>
public static class MptcpKeys
{
    public static uint Token(ulong key, int version = 1) => BinaryPrimitives.ReadUInt32BigEndian(Hash(key, version));

    public static ulong InitialDataSequence(ulong key, int version = 1)
    {
        byte[] hash = Hash(key, version);
        return BinaryPrimitives.ReadUInt64BigEndian(hash.AsSpan(hash.Length - 8));
    }

    private static byte[] Hash(ulong key, int version)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, key);
        return version == 0 ? SHA1.HashData(bytes) : SHA256.HashData(bytes);
    }
}
