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
    /// <summary>What the counter means for diagnosis, or null for counters of little diagnostic use.</summary>
    public string? Description { get; }

    public override string ToString() => Delta is { } d ? $"{Name} {Value} ({d:+#;-#;0})" : $"{Name} {Value}";
}

/// <summary>Reads the MPTcpExt counters and explains the ones that matter.</summary>
public static class MptcpCounterCatalog
{
    public const string Prefix = "MPTcpExt";

    private static readonly Dictionary<string, string> Meanings = new(StringComparer.Ordinal)
    {
        ["MPCapableSYNRX"] = "SYNs received with MP_CAPABLE (passive opens offered MPTCP).",
        ["MPCapableSYNTX"] = "SYNs sent with MP_CAPABLE (active opens that offered MPTCP).",
        ["MPCapableSYNACKRX"] = "SYN-ACKs received with MP_CAPABLE: the peer accepted MPTCP.",
        ["MPCapableACKRX"] = "Third ACKs received with MP_CAPABLE (passive opens completed as MPTCP).",
        ["MPCapableFallbackACK"] = "Passive opens that fell back to TCP: the third ACK carried no MP_CAPABLE.",
        ["MPCapableFallbackSYNACK"] = "Active opens that fell back to TCP: the SYN-ACK carried no MP_CAPABLE (peer not MPTCP-capable, or a middlebox stripped the option).",
        ["MPCapableSYNTXDrop"] = "MPTCP SYNs that went unanswered, after which the kernel retried without MP_CAPABLE (a middlebox dropping option 30).",
        ["MPCapableSYNTXDisabled"] = "Active opens sent without MP_CAPABLE because MPTCP was disabled for them (blackhole detection).",
        ["MPCapableEndpAttempt"] = "MP_CAPABLE SYNs received on a port used by a signal endpoint: rejected.",
        ["MPFallbackTokenInit"] = "Connections that fell back because no token could be allocated.",
        ["MPTCPRetrans"] = "Data retransmitted at the MPTCP level (reinjections across subflows).",
        ["MPJoinNoTokenFound"] = "MP_JOIN SYNs for an unknown connection token: refused.",
        ["MPJoinSynRx"] = "MP_JOIN SYNs received (the peer opened an extra subflow).",
        ["MPJoinSynAckRx"] = "MP_JOIN SYN-ACKs received: an extra subflow this host opened was answered.",
        ["MPJoinSynAckHMacFailure"] = "MP_JOIN SYN-ACKs with a bad HMAC: the join was refused.",
        ["MPJoinAckRx"] = "MP_JOIN third ACKs received: extra subflows the peer opened completed.",
        ["MPJoinAckHMacFailure"] = "MP_JOIN third ACKs with a bad HMAC: the join was refused.",
        ["MPJoinRejected"] = "MP_JOIN requests rejected by the path manager (limits reached, or joins not allowed).",
        ["MPJoinSynTx"] = "MP_JOIN SYNs sent: extra subflows this host tried to open.",
        ["MPJoinSynTxCreatSkErr"] = "Extra subflows that failed before sending: the socket could not be created.",
        ["MPJoinSynTxBindErr"] = "Extra subflows that failed before sending: binding to the endpoint address failed.",
        ["MPJoinSynTxConnectErr"] = "Extra subflows that failed before sending: connect failed (often no route from that address).",
        ["DSSNotMatching"] = "DSS mappings that did not match the data received.",
        ["DSSCorruptionFallback"] = "Fallbacks to TCP after DSS corruption (a middlebox altered the stream).",
        ["DSSCorruptionReset"] = "Subflows reset after DSS corruption.",
        ["InfiniteMapTx"] = "Infinite mappings sent: the connection fell back to TCP after it was established.",
        ["InfiniteMapRx"] = "Infinite mappings received: the peer fell back to TCP after establishment.",
        ["DataCsumErr"] = "DSS checksum errors: a middlebox altered the payload.",
        ["AddAddr"] = "ADD_ADDR options received (the peer announced an address).",
        ["AddAddrTx"] = "ADD_ADDR options sent (this host announced a signal endpoint).",
        ["AddAddrTxDrop"] = "ADD_ADDR announcements that could not be sent.",
        ["EchoAdd"] = "ADD_ADDR echoes received: the peer confirmed an announcement.",
        ["EchoAddTx"] = "ADD_ADDR echoes sent.",
        ["AddAddrDrop"] = "Received ADD_ADDRs dropped (add_addr_accepted limit reached, or unusable).",
        ["RmAddr"] = "REMOVE_ADDR options received.",
        ["RmAddrTx"] = "REMOVE_ADDR options sent.",
        ["RmSubflow"] = "Subflows removed after a REMOVE_ADDR.",
        ["MPPrioTx"] = "MP_PRIO options sent (backup priority changed).",
        ["MPPrioRx"] = "MP_PRIO options received.",
        ["MPFailTx"] = "MP_FAIL options sent: a checksum failure forced a fallback or a reset.",
        ["MPFailRx"] = "MP_FAIL options received.",
        ["MPFastcloseTx"] = "MP_FASTCLOSE options sent (connections aborted).",
        ["MPFastcloseRx"] = "MP_FASTCLOSE options received.",
        ["MPRstTx"] = "MP_TCPRST options sent (subflows reset with a reason).",
        ["MPRstRx"] = "MP_TCPRST options received.",
        ["SubflowStale"] = "Subflows marked stale (no progress after stale_loss_cnt retransmissions).",
        ["SubflowRecover"] = "Stale subflows that recovered.",
        ["MPCurrEstab"] = "MPTCP connections established right now.",
        ["Blackhole"] = "MPTCP blackholes detected: MPTCP is disabled for active opens for blackhole_timeout.",
        ["MPCapableDataFallback"] = "Fallbacks to TCP because the first data carried no DSS.",
        ["MD5SigFallback"] = "Fallbacks to TCP because the socket uses TCP-MD5 signatures.",
        ["DssFallback"] = "Fallbacks to TCP on a DSS-level problem.",
        ["SimultConnectFallback"] = "Fallbacks to TCP on a simultaneous connect.",
        ["FallbackFailed"] = "Fallbacks that could not happen (the connection was reset instead).",
    };

    /// <summary>The meaning of a counter, or null.</summary>
    public static string? Describe(string name) => Meanings.TryGetValue(name, out string? text) ? text : null;

    /// <summary>The MPTcpExt counters of this network namespace, in kernel order.</summary>
    public static List<KeyValuePair<string, long>> Read(string path = "/proc/net/netstat") =>
        ProcFiles.ParseNetstat(File.ReadAllText(path), Prefix);
}
