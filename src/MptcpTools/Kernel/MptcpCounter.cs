using System;
using System.Management.Automation;
using System.Collections.Generic;
using System.IO;

namespace MptcpTools.Kernel;

/// <summary>One MPTcpExt counter of this network namespace (/proc/net/netstat).</summary>
public sealed class MptcpCounter
{
    public MptcpCounter(string name, long value, long? delta, TimeSpan? interval)
    {
        Name = name;
        Value = value;
        Delta = delta;
        Interval = interval;
        Description = MptcpCounterCatalog.Describe(name);
        Group = MptcpCounterCatalog.GroupOf(name);
    }

    /// <summary>The kernel's name without the MPTcpExt prefix (nstat shows it as MPTcpExt + Name).</summary>
    public string Name { get; }
    public long Value { get; }
    /// <summary>The change over <see cref="Interval"/>, when one was asked for.</summary>
    public long? Delta { get; }
    // ConvertTo-Json writes IntervalSeconds instead, a number a monitoring system reads; Format-List * shows that one too.
    [Hidden]
    [Newtonsoft.Json.JsonIgnore]
    public TimeSpan? Interval { get; }
    /// <summary><see cref="Interval"/> in seconds.</summary>
    public double? IntervalSeconds => Interval?.TotalSeconds;
    /// <summary>What the counter counts, from the kernel's own code (net/mptcp); null for a counter this module does not know.</summary>
    public string? Description { get; }
    /// <summary>What a non-zero value means; Unknown for a counter this module does not know (a newer kernel's).</summary>
    public MptcpCounterGroup Group { get; }

    public override string ToString() => Delta is { } d ? $"{Name} {Value} ({d:+#;-#;0})" : $"{Name} {Value}";
}

/// <summary>What a non-zero MPTcpExt counter means, as a group of counters.</summary>
public enum MptcpCounterGroup
{
    /// <summary>A counter this module does not know (a kernel newer than its catalog).</summary>
    Unknown,
    /// <summary>MP_CAPABLE handshakes and established connections: MPTCP being negotiated (normal).</summary>
    Handshake,
    /// <summary>Connections that lost MPTCP (or were refused it) and went on as plain TCP, or were reset.</summary>
    Fallback,
    /// <summary>Extra subflows opened, answered and completed (normal).</summary>
    Joins,
    /// <summary>Extra subflows that failed before sending, or that were refused.</summary>
    JoinFailures,
    /// <summary>Addresses announced and withdrawn (ADD_ADDR, REMOVE_ADDR and their echoes).</summary>
    AddressSignalling,
    /// <summary>Announcements that could not be sent, or were received and not used.</summary>
    SignallingDropped,
    /// <summary>Data at the MPTCP level: reordering across subflows, retransmission, shared windows.</summary>
    DataTransfer,
    /// <summary>Mappings or checksums that did not match: something on the path altered the stream.</summary>
    DataIntegrity,
    /// <summary>Subflows going stale and recovering, changing priority, reset or closed fast.</summary>
    SubflowHealth,
}

/// <summary>
/// Reads the MPTcpExt counters and explains every counter the upstream kernel has (net/mptcp/mib.c, the meanings
/// from mib.h and the code that increments each), grouped by what a non-zero value means.
/// </summary>
public static class MptcpCounterCatalog
{
    public const string Prefix = "MPTcpExt";

    private static readonly Dictionary<string, (MptcpCounterGroup Group, string Meaning)> Catalog = new(StringComparer.Ordinal)
    {
        ["MPCapableSYNRX"] = (MptcpCounterGroup.Handshake, "SYNs received with MP_CAPABLE (passive opens offered MPTCP)."),
        ["MPCapableSYNTX"] = (MptcpCounterGroup.Handshake, "SYNs sent with MP_CAPABLE (active opens that offered MPTCP)."),
        ["MPCapableSYNACKRX"] = (MptcpCounterGroup.Handshake, "SYN-ACKs received with MP_CAPABLE: the peer accepted MPTCP."),
        ["MPCapableACKRX"] = (MptcpCounterGroup.Handshake, "Third ACKs received with MP_CAPABLE (passive opens completed as MPTCP)."),
        ["MPCurrEstab"] = (MptcpCounterGroup.Handshake, "MPTCP connections established right now."),
        ["MPCapableFallbackACK"] = (MptcpCounterGroup.Fallback, "Passive opens that fell back to TCP: the third ACK carried no MP_CAPABLE."),
        ["MPCapableFallbackSYNACK"] = (MptcpCounterGroup.Fallback, "Active opens that fell back to TCP: the SYN-ACK carried no MP_CAPABLE (peer not MPTCP-capable, or a middlebox stripped the option)."),
        ["MPCapableSYNTXDrop"] = (MptcpCounterGroup.Fallback, "MPTCP SYNs that went unanswered, after which the kernel retried without MP_CAPABLE (a middlebox dropping option 30)."),
        ["MPCapableSYNTXDisabled"] = (MptcpCounterGroup.Fallback, "Active opens sent without MP_CAPABLE because MPTCP was disabled for them (blackhole detection)."),
        ["MPCapableEndpAttempt"] = (MptcpCounterGroup.Fallback, "MP_CAPABLE SYNs received on a port used by a signal endpoint: rejected."),
        ["MPFallbackTokenInit"] = (MptcpCounterGroup.Fallback, "Connections that fell back because no token could be allocated."),
        ["DSSCorruptionFallback"] = (MptcpCounterGroup.Fallback, "Fallbacks to TCP after DSS corruption (a middlebox altered the stream)."),
        ["InfiniteMapTx"] = (MptcpCounterGroup.Fallback, "Infinite mappings sent: the connection fell back to TCP after it was established."),
        ["InfiniteMapRx"] = (MptcpCounterGroup.Fallback, "Infinite mappings received: the peer fell back to TCP after establishment."),
        ["Blackhole"] = (MptcpCounterGroup.Fallback, "MPTCP blackholes detected: MPTCP is disabled for active opens for blackhole_timeout."),
        ["MPCapableDataFallback"] = (MptcpCounterGroup.Fallback, "Fallbacks to TCP because the first data carried no DSS."),
        ["MD5SigFallback"] = (MptcpCounterGroup.Fallback, "Fallbacks to TCP because the socket uses TCP-MD5 signatures."),
        ["DssFallback"] = (MptcpCounterGroup.Fallback, "Fallbacks to TCP on a DSS-level problem."),
        ["SimultConnectFallback"] = (MptcpCounterGroup.Fallback, "Fallbacks to TCP on a simultaneous connect."),
        ["FallbackFailed"] = (MptcpCounterGroup.Fallback, "Fallbacks that could not happen (the connection was reset instead)."),
        ["MPJoinSynRx"] = (MptcpCounterGroup.Joins, "MP_JOIN SYNs received (the peer opened an extra subflow)."),
        ["MPJoinSynBackupRx"] = (MptcpCounterGroup.Joins, "MP_JOIN SYNs received with the backup bit: the peer opened an extra subflow as a backup path."),
        ["MPJoinSynAckRx"] = (MptcpCounterGroup.Joins, "MP_JOIN SYN-ACKs received: an extra subflow this host opened was answered."),
        ["MPJoinSynAckBackupRx"] = (MptcpCounterGroup.Joins, "MP_JOIN SYN-ACKs received with the backup bit: the peer answered a join and asks for it to be a backup path."),
        ["MPJoinAckRx"] = (MptcpCounterGroup.Joins, "MP_JOIN third ACKs received: extra subflows the peer opened completed."),
        ["MPJoinSynTx"] = (MptcpCounterGroup.Joins, "MP_JOIN SYNs sent: extra subflows this host tried to open."),
        ["MPJoinPortSynRx"] = (MptcpCounterGroup.Joins, "MP_JOIN SYNs received on the port of a signal endpoint that announced one."),
        ["MPJoinPortSynAckRx"] = (MptcpCounterGroup.Joins, "MP_JOIN SYN-ACKs received from a port the peer announced."),
        ["MPJoinPortAckRx"] = (MptcpCounterGroup.Joins, "MP_JOIN third ACKs received on the port of a signal endpoint that announced one."),
        ["MPJoinNoTokenFound"] = (MptcpCounterGroup.JoinFailures, "MP_JOIN SYNs for an unknown connection token: refused."),
        ["MPJoinSynAckHMacFailure"] = (MptcpCounterGroup.JoinFailures, "MP_JOIN SYN-ACKs with a bad HMAC: the join was refused."),
        ["MPJoinAckHMacFailure"] = (MptcpCounterGroup.JoinFailures, "MP_JOIN third ACKs with a bad HMAC: the join was refused."),
        ["MPJoinRejected"] = (MptcpCounterGroup.JoinFailures, "MP_JOIN requests rejected by the path manager (limits reached, or joins not allowed)."),
        ["MPJoinSynTxCreatSkErr"] = (MptcpCounterGroup.JoinFailures, "Extra subflows that failed before sending: the socket could not be created."),
        ["MPJoinSynTxBindErr"] = (MptcpCounterGroup.JoinFailures, "Extra subflows that failed before sending: binding to the endpoint address failed."),
        ["MPJoinSynTxConnectErr"] = (MptcpCounterGroup.JoinFailures, "Extra subflows that failed before sending: connect failed (often no route from that address)."),
        ["MismatchPortSynRx"] = (MptcpCounterGroup.JoinFailures, "MP_JOIN SYNs received on a port that does not match the endpoint they were sent to: refused."),
        ["MismatchPortAckRx"] = (MptcpCounterGroup.JoinFailures, "MP_JOIN third ACKs received on a port that does not match the endpoint: the subflow is reset."),
        ["AddAddr"] = (MptcpCounterGroup.AddressSignalling, "ADD_ADDR options received (the peer announced an address)."),
        ["AddAddrTx"] = (MptcpCounterGroup.AddressSignalling, "ADD_ADDR options sent (this host announced a signal endpoint)."),
        ["EchoAdd"] = (MptcpCounterGroup.AddressSignalling, "ADD_ADDR echoes received: the peer confirmed an announcement."),
        ["EchoAddTx"] = (MptcpCounterGroup.AddressSignalling, "ADD_ADDR echoes sent."),
        ["PortAdd"] = (MptcpCounterGroup.AddressSignalling, "ADD_ADDR options received that carry a port: the peer announced an address with its own port."),
        ["RmAddr"] = (MptcpCounterGroup.AddressSignalling, "REMOVE_ADDR options received."),
        ["RmAddrTx"] = (MptcpCounterGroup.AddressSignalling, "REMOVE_ADDR options sent."),
        ["RmSubflow"] = (MptcpCounterGroup.AddressSignalling, "Subflows removed after a REMOVE_ADDR."),
        ["AddAddrTxDrop"] = (MptcpCounterGroup.SignallingDropped, "ADD_ADDR announcements that could not be sent."),
        ["EchoAddTxDrop"] = (MptcpCounterGroup.SignallingDropped, "ADD_ADDR echoes that could not be sent (no room for the option): the peer may announce again."),
        ["AddAddrDrop"] = (MptcpCounterGroup.SignallingDropped, "Received ADD_ADDRs dropped (add_addr_accepted limit reached, or unusable)."),
        ["RmAddrDrop"] = (MptcpCounterGroup.SignallingDropped, "Received REMOVE_ADDRs that could not be acted on (another removal still pending): dropped."),
        ["RmAddrTxDrop"] = (MptcpCounterGroup.SignallingDropped, "REMOVE_ADDR announcements that could not be sent."),
        ["MPTCPRetrans"] = (MptcpCounterGroup.DataTransfer, "Data retransmitted at the MPTCP level (reinjections across subflows)."),
        ["OFOQueueTail"] = (MptcpCounterGroup.DataTransfer, "Data that arrived ahead of the MPTCP-level order and was appended to the out-of-order queue: subflows with different delays."),
        ["OFOQueue"] = (MptcpCounterGroup.DataTransfer, "Data that arrived out of MPTCP-level order and was inserted into the out-of-order queue: subflows with different delays."),
        ["OFOMerge"] = (MptcpCounterGroup.DataTransfer, "Out-of-order data merged with data already queued (overlapping retransmissions or reinjections)."),
        ["DuplicateData"] = (MptcpCounterGroup.DataTransfer, "Data already received at the MPTCP level (a reinjection on another subflow also arrived): discarded."),
        ["SndWndShared"] = (MptcpCounterGroup.DataTransfer, "Times a subflow's send window was replaced by the connection-level one (normal with several subflows)."),
        ["RcvWndShared"] = (MptcpCounterGroup.DataTransfer, "Times a subflow's receive window was replaced by the connection-level one (normal with several subflows)."),
        ["RcvWndConflictUpdate"] = (MptcpCounterGroup.DataTransfer, "Receive-window updates that lost a race with another subflow and took the connection-level value."),
        ["RcvWndConflict"] = (MptcpCounterGroup.DataTransfer, "Races between subflows updating the connection-level receive window (harmless)."),
        ["WinProbe"] = (MptcpCounterGroup.DataTransfer, "MPTCP-level zero-window probes sent: the peer's receive window was full."),
        ["RcvPruned"] = (MptcpCounterGroup.DataTransfer, "Incoming data dropped because the connection was over its receive memory limit (kernels that have the counter)."),
        ["DSSNotMatching"] = (MptcpCounterGroup.DataIntegrity, "DSS mappings that did not match the data received."),
        ["DSSNoMatchTCP"] = (MptcpCounterGroup.DataIntegrity, "Segments whose DSS mapping did not cover their TCP sequence numbers (a middlebox split, merged or resequenced segments): the subflow falls back or is reset."),
        ["DataCsumErr"] = (MptcpCounterGroup.DataIntegrity, "DSS checksum errors: a middlebox altered the payload."),
        ["NoDSSInWindow"] = (MptcpCounterGroup.DataIntegrity, "Data whose MPTCP sequence number lay outside the receive window: dropped."),
        ["DSSCorruptionReset"] = (MptcpCounterGroup.DataIntegrity, "Subflows reset after DSS corruption."),
        ["MPFailTx"] = (MptcpCounterGroup.DataIntegrity, "MP_FAIL options sent: a checksum failure forced a fallback or a reset."),
        ["MPFailRx"] = (MptcpCounterGroup.DataIntegrity, "MP_FAIL options received."),
        ["SubflowStale"] = (MptcpCounterGroup.SubflowHealth, "Subflows marked stale (no progress after stale_loss_cnt retransmissions)."),
        ["SubflowRecover"] = (MptcpCounterGroup.SubflowHealth, "Stale subflows that recovered."),
        ["MPPrioTx"] = (MptcpCounterGroup.SubflowHealth, "MP_PRIO options sent (backup priority changed)."),
        ["MPPrioRx"] = (MptcpCounterGroup.SubflowHealth, "MP_PRIO options received."),
        ["MPRstTx"] = (MptcpCounterGroup.SubflowHealth, "MP_TCPRST options sent (subflows reset with a reason)."),
        ["MPRstRx"] = (MptcpCounterGroup.SubflowHealth, "MP_TCPRST options received."),
        ["MPFastcloseTx"] = (MptcpCounterGroup.SubflowHealth, "MP_FASTCLOSE options sent (connections aborted)."),
        ["MPFastcloseRx"] = (MptcpCounterGroup.SubflowHealth, "MP_FASTCLOSE options received."),
    };

    /// <summary>The meaning of a counter, or null for one this module does not know (a newer kernel's).</summary>
    public static string? Describe(string name) => Catalog.TryGetValue(name, out var entry) ? entry.Meaning : null;

    /// <summary>What a non-zero value of the counter means, as a group; Unknown for a counter this module does not know.</summary>
    public static MptcpCounterGroup GroupOf(string name) => Catalog.TryGetValue(name, out var entry) ? entry.Group : MptcpCounterGroup.Unknown;

    /// <summary>Every counter this module describes, by name.</summary>
    public static IReadOnlyCollection<string> Known => Catalog.Keys;

    /// <summary>The MPTcpExt counters of this network namespace, in kernel order.</summary>
    public static List<KeyValuePair<string, long>> Read(string path = "/proc/net/netstat") =>
        ProcFiles.ParseNetstat(RegularFile.ReadText(path, 4 << 20), Prefix);
}
