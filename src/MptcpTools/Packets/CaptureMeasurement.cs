using System;
using System.Net;

namespace MptcpTools.Packets;

/// <summary>The direction of data at the MPTCP level: from the side that opened the connection, or towards it.</summary>
public enum MptcpDataDirection
{
    ClientToServer,
    ServerToClient,
}

/// <summary>What is wrong with a DSS mapping, or with the data sequence space it builds.</summary>
public enum MptcpMappingProblemKind
{
    /// <summary>A mapping maps subflow bytes another mapping of the same subflow already mapped elsewhere in the data sequence space.</summary>
    OverlapMismatch,
    /// <summary>A mapping of data-level length 0: the connection fell back to TCP (RFC 8684 3.7).</summary>
    InfiniteMapping,
    /// <summary>The DSS checksum does not match the data and pseudo-header it covers, or the peer sent MP_FAIL.</summary>
    ChecksumFailure,
    /// <summary>Checksums were negotiated, yet this mapping carries none.</summary>
    ChecksumMissing,
    /// <summary>Data sequence space no mapping in the capture covered, between mapped ranges.</summary>
    Gap,
}

/// <summary>One subflow of a measured connection, with what it carried at the data level.</summary>
public sealed class MptcpSubflowMeasurement
{
    /// <summary>The TCP stream index, as Read-MptcpCapture's Stream and tshark's tcp.stream count it.</summary>
    public int Stream { get; internal set; }
    public bool Initial { get; internal set; }
    public IPAddress ClientAddress { get; internal set; } = IPAddress.None;
    public ushort ClientPort { get; internal set; }
    public IPAddress ServerAddress { get; internal set; } = IPAddress.None;
    public ushort ServerPort { get; internal set; }
    public MptcpSubflowOutcome Outcome { get; internal set; }
    /// <summary>The MP_JOIN SYN asked for a backup subflow.</summary>
    public bool JoinedAsBackup { get; internal set; }
    /// <summary>The backup flag at the end of the capture (after MP_PRIO changes).</summary>
    public bool Backup { get; internal set; }
    /// <summary>Data-level bytes the DSS mappings on this subflow carried, both directions; a mapping sent again on the same subflow counts once.</summary>
    public long MappedBytes { get; internal set; }
    public long MappedBytesFromClient { get; internal set; }
    public long MappedBytesFromServer { get; internal set; }
    /// <summary>This subflow's part of the connection's mapped bytes, 0 to 1.</summary>
    public double Share { get; internal set; }
    public double ShareFromClient { get; internal set; }
    public double ShareFromServer { get; internal set; }
    /// <summary>TCP payload bytes, retransmissions included (what tshark's tcp.len adds up to), per side.</summary>
    public long PayloadBytesFromClient { get; internal set; }
    public long PayloadBytesFromServer { get; internal set; }
    /// <summary>DSS options with a mapping, per side (every one, repeated ones included).</summary>
    public long MappingsFromClient { get; internal set; }
    public long MappingsFromServer { get; internal set; }
    /// <summary>Segments of this subflow that carried data first sent on another subflow.</summary>
    public long ReinjectedSegments { get; internal set; }
    /// <summary>Payload bytes sent while this subflow was a backup.</summary>
    public long BytesWhileBackup { get; internal set; }
    public DateTime FirstSeen { get; internal set; }
    /// <summary>When the handshake completed (the third ACK); null when the capture does not show it.</summary>
    public DateTime? EstablishedAt { get; internal set; }
    public DateTime? FirstData { get; internal set; }
    public DateTime? LastData { get; internal set; }
    public DateTime LastSeen { get; internal set; }

    public override string ToString() =>
        $"{Stream} {ClientAddress}:{ClientPort} > {ServerAddress}:{ServerPort} {MappedBytes} bytes ({Share:P1})";
}

/// <summary>The data sequence space of one direction of a connection.</summary>
public sealed class MptcpDirectionMeasurement
{
    public MptcpDataDirection Direction { get; internal set; }
    /// <summary>The initial data sequence number, from the sender's key; null when the capture lacks the keys.</summary>
    public ulong? InitialDataSequence { get; internal set; }
    /// <summary>Bytes of data sequence space the mappings covered, each byte once (reinjections and retransmissions do not add).</summary>
    public long BytesCovered { get; internal set; }
    /// <summary>The mapped bytes of every subflow added up (a reinjected byte counts on each subflow it went on).</summary>
    public long MappedBytes { get; internal set; }
    /// <summary>The lowest and the highest data sequence number mapped, relative to the initial one.</summary>
    public ulong? FirstDataSequence { get; internal set; }
    public ulong? LastDataSequence { get; internal set; }
    /// <summary>The highest data ACK the receiver sent, relative to the initial data sequence number.</summary>
    public ulong? DataAcked { get; internal set; }
    public long DataAcks { get; internal set; }
    public bool DataFin { get; internal set; }
    public ulong? DataFinSequence { get; internal set; }
    public long? DataFinFrame { get; internal set; }
    public long Reinjections { get; internal set; }
    public long ReinjectedBytes { get; internal set; }
    /// <summary>Data segments whose subflow bytes no mapping seen covered.</summary>
    public long UnmappedSegments { get; internal set; }
    public long Gaps { get; internal set; }
    public long GapBytes { get; internal set; }
    /// <summary>DSS checksums checked against the captured data (only where the whole mapping was captured).</summary>
    public long ChecksumsVerified { get; internal set; }
    public long ChecksumFailures { get; internal set; }

    public override string ToString() => $"{Direction}: {BytesCovered} bytes, {Reinjections} reinjections";
}

/// <summary>Data sent on one subflow again on another (by data sequence range): one reinjected segment.</summary>
public sealed class MptcpReinjection
{
    public long Frame { get; internal set; }
    public DateTime Time { get; internal set; }
    public MptcpDataDirection Direction { get; internal set; }
    /// <summary>The subflow (stream) that carried the data again.</summary>
    public int Subflow { get; internal set; }
    /// <summary>The subflows (streams) that had carried it before.</summary>
    public int[] OriginalSubflows { get; internal set; } = Array.Empty<int>();
    /// <summary>The frames on those subflows that had carried it (tshark's mptcp.reinjection_of).</summary>
    public long[] OriginalFrames { get; internal set; } = Array.Empty<long>();
    /// <summary>Data sequence number, relative to the initial one, and length.</summary>
    public ulong DataSequence { get; internal set; }
    public int Length { get; internal set; }

    public override string ToString() => $"frame {Frame} on {Subflow} re-sends {Length} bytes at {DataSequence} of frames {string.Join(",", OriginalFrames)}";
}

/// <summary>Reinjections from one subflow to another, counted.</summary>
public sealed class MptcpReinjectionPair
{
    public MptcpDataDirection Direction { get; internal set; }
    public int FromSubflow { get; internal set; }
    public int ToSubflow { get; internal set; }
    public long Segments { get; internal set; }
    public long Bytes { get; internal set; }

    public override string ToString() => $"{FromSubflow} -> {ToSubflow}: {Segments} segments";
}

/// <summary>A problem with a DSS mapping or the data sequence space.</summary>
public sealed class MptcpMappingProblem
{
    public MptcpMappingProblemKind Kind { get; internal set; }
    public MptcpDataDirection Direction { get; internal set; }
    public int? Subflow { get; internal set; }
    public long? Frame { get; internal set; }
    public DateTime? Time { get; internal set; }
    /// <summary>Relative data sequence number where the problem lies, and how many bytes it spans.</summary>
    public ulong? DataSequence { get; internal set; }
    public long Length { get; internal set; }
    public string Detail { get; internal set; } = "";

    public override string ToString() => $"{Kind} {Direction}: {Detail}";
}

/// <summary>An MP_PRIO: one side asked that a subflow be (or stop being) a backup.</summary>
public sealed class MptcpPriorityChange
{
    public long Frame { get; internal set; }
    public DateTime Time { get; internal set; }
    /// <summary>The subflow it was sent on.</summary>
    public int Subflow { get; internal set; }
    /// <summary>"Client" or "Server" (of the connection).</summary>
    public string From { get; internal set; } = "";
    public bool Backup { get; internal set; }
    /// <summary>The address id (version 0 only).</summary>
    public byte? AddressId { get; internal set; }

    public override string ToString() => $"{From} on {Subflow}: {(Backup ? "backup" : "non-backup")}";
}

/// <summary>One interval of a throughput series: one subflow's (or the whole connection's) bytes in one direction.</summary>
public sealed class MptcpThroughputSample
{
    public int Connection { get; internal set; }
    /// <summary>The subflow (stream); null for the connection, the sum of its subflows.</summary>
    public int? Subflow { get; internal set; }
    public MptcpDataDirection Direction { get; internal set; }
    public DateTime Start { get; internal set; }
    /// <summary>Seconds from the connection's first packet to the start of the interval.</summary>
    public double Offset { get; internal set; }
    public double IntervalSeconds { get; internal set; }
    /// <summary>TCP payload bytes sent in the interval, retransmissions and reinjections included.</summary>
    public long Bytes { get; internal set; }
    public double BitsPerSecond { get; internal set; }
    /// <summary>The highest data sequence number reached in the interval (relative), null when none was mapped.</summary>
    public ulong? DataSequence { get; internal set; }

    public override string ToString() => $"{Offset:F3}s {(Subflow is { } s ? $"subflow {s}" : "connection")} {Direction} {BitsPerSecond / 1e6:F2} Mbit/s";
}

/// <summary>One MPTCP connection of a capture, measured at the data level.</summary>
public sealed class MptcpConnectionMeasurement
{
    public string Path { get; internal set; } = "";
    public int Id { get; internal set; }
    public MptcpConnectionOutcome Outcome { get; internal set; }
    public int? Version { get; internal set; }
    public IPAddress ClientAddress { get; internal set; } = IPAddress.None;
    public ushort ClientPort { get; internal set; }
    public IPAddress ServerAddress { get; internal set; } = IPAddress.None;
    public ushort ServerPort { get; internal set; }
    public ulong? ClientKey { get; internal set; }
    public ulong? ServerKey { get; internal set; }
    /// <summary>DSS checksums were negotiated (the MP_CAPABLE A flag).</summary>
    public bool ChecksumsRequired { get; internal set; }
    public MptcpSubflowMeasurement[] Subflows { get; internal set; } = Array.Empty<MptcpSubflowMeasurement>();
    public MptcpDirectionMeasurement[] Directions { get; internal set; } = Array.Empty<MptcpDirectionMeasurement>();
    /// <summary>Segments that carried data already sent on another subflow (tshark's frames with mptcp.reinjection_of).</summary>
    public long Reinjections { get; internal set; }
    public MptcpReinjectionPair[] ReinjectionPairs { get; internal set; } = Array.Empty<MptcpReinjectionPair>();
    /// <summary>The reinjected segments, each with the frames it repeats.</summary>
    public MptcpReinjection[] ReinjectedSegments { get; internal set; } = Array.Empty<MptcpReinjection>();
    public MptcpMappingProblem[] MappingProblems { get; internal set; } = Array.Empty<MptcpMappingProblem>();
    /// <summary>The MP_PRIO options seen (the first 1000; PriorityChangeCount counts them all).</summary>
    public MptcpPriorityChange[] PriorityChanges { get; internal set; } = Array.Empty<MptcpPriorityChange>();
    public long PriorityChangeCount { get; internal set; }
    /// <summary>Bytes per interval for each subflow and for the connection, both directions.</summary>
    public MptcpThroughputSample[] Throughput { get; internal set; } = Array.Empty<MptcpThroughputSample>();
    public double IntervalSeconds { get; internal set; }
    public long Packets { get; internal set; }
    public DateTime FirstSeen { get; internal set; }
    public DateTime LastSeen { get; internal set; }
    public double DurationSeconds => (LastSeen - FirstSeen).TotalSeconds;
    public long BytesFromClient => Directions.Length > 0 ? Directions[0].BytesCovered : 0;
    public long BytesFromServer => Directions.Length > 1 ? Directions[1].BytesCovered : 0;

    public override string ToString() =>
        $"{Id} {ClientAddress}:{ClientPort} > {ServerAddress}:{ServerPort} {Subflows.Length} subflows, {Reinjections} reinjections";
}
