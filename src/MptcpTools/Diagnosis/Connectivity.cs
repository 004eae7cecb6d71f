using System;
using System.Management.Automation;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using MptcpTools.Kernel;

namespace MptcpTools.Diagnosis;

/// <summary>Why an MPTCP connection attempt did not end as MPTCP.</summary>
public enum FallbackReason
{
    /// <summary>MPTCP was negotiated.</summary>
    None,
    /// <summary>The SYN-ACK carried no MP_CAPABLE: the peer does not speak MPTCP, or something stripped the option.</summary>
    PeerNotMptcpCapable,
    /// <summary>SYNs with MP_CAPABLE went unanswered and the kernel retried without the option.</summary>
    SynDropped,
    /// <summary>This host would not open an MPTCP socket or offer MPTCP (net.mptcp.enabled=0, no MPTCP, blackhole detection).</summary>
    MptcpDisabledLocally,
    /// <summary>No connection at all: refused, unreachable or timed out.</summary>
    ConnectFailed,
    /// <summary>The handshake negotiated MPTCP (MP_CAPABLE in the SYN-ACK), then the connection fell back to TCP.</summary>
    FellBackLater,
}

/// <summary>The facts one connection attempt gathered.</summary>
public sealed class ConnectivityFacts
{
    public int SocketErrno { get; init; }
    public int ConnectErrno { get; init; }
    public bool IsMptcp { get; init; }
    public MptcpInfo? Info { get; init; }
    /// <summary>MPTcpExt counter changes over the attempt (this namespace's, so other traffic can add to them).</summary>
    public IReadOnlyDictionary<string, long> CounterDeltas { get; init; } = new Dictionary<string, long>();
    /// <summary>After a failed MPTCP attempt, the errno of a plain TCP connection to the same peer (0: connected).</summary>
    public int? ControlConnectErrno { get; init; }
    /// <summary>
    /// The probe's own socket: MPTCP right after connect() (the handshake negotiated it); null when only the counters
    /// are known. With it the judgment does not depend on what other connections did to the namespace's counters.
    /// </summary>
    public bool? MptcpAtConnect { get; init; }
    /// <summary>SYN retransmissions of the handshake that fell back, from the subflow's tcp_info.</summary>
    public uint? HandshakeRetransmits { get; init; }
    /// <summary>net.mptcp.syn_retrans_before_tcp_fallback (null: a kernel without the SYN-drop fallback).</summary>
    public int? SynRetransBeforeFallback { get; init; }
}

/// <summary>What Test-MptcpConnectivity found.</summary>
public sealed class MptcpConnectivityResult
{
    public string ComputerName { get; init; } = "";
    public IPAddress? RemoteAddress { get; init; }
    public int Port { get; init; }
    public IPAddress? SourceAddress { get; init; }
    public bool Connected { get; init; }
    public bool MptcpNegotiated { get; init; }
    public FallbackReason FallbackReason { get; init; }
    public string Detail { get; init; } = "";
    /// <summary>Subflows that came up, the initial one included.</summary>
    public int SubflowCount { get; init; }
    public IPEndPoint[] SubflowLocalAddresses { get; init; } = Array.Empty<IPEndPoint>();
    public IPEndPoint[] SubflowRemoteAddresses { get; init; } = Array.Empty<IPEndPoint>();
    /// <summary>Addresses the peer announced (ADD_ADDR) that were accepted.</summary>
    public int AddAddrAccepted { get; init; }
    /// <summary>ADD_ADDR options received during the attempt (from the counters).</summary>
    public long AddAddrReceived { get; init; }
    public uint? Token { get; init; }
    public long BytesSent { get; init; }
    // ConvertTo-Json writes DurationSeconds instead, a number a monitoring system reads; Format-List * shows that one too.
    [Hidden]
    [Newtonsoft.Json.JsonIgnore]
    public TimeSpan Duration { get; init; }
    /// <summary><see cref="Duration"/> in seconds.</summary>
    public double DurationSeconds => Duration.TotalSeconds;
    public IReadOnlyDictionary<string, long> CounterDeltas { get; init; } = new Dictionary<string, long>();
    /// <summary>Whether a plain TCP connection to the peer got through after the MPTCP attempt failed; null when none was tried.</summary>
    public bool? PlainTcpConnected { get; init; }

    public override string ToString() => $"{ComputerName}:{Port} {(MptcpNegotiated ? $"MPTCP, {SubflowCount} subflows" : FallbackReason.ToString())}";
}

/// <summary>Pure judgment of a connection attempt.</summary>
public static class ConnectivityJudge
{
    /// <summary>The result object for a probe's outcome.</summary>
    public static MptcpConnectivityResult Result(ProbeOutcome o, string computerName, IPAddress? source)
    {
        var facts = new ConnectivityFacts
        {
            SocketErrno = o.SocketErrno, ConnectErrno = o.ConnectErrno, IsMptcp = o.IsMptcp, Info = o.Info, CounterDeltas = o.CounterDeltas,
            ControlConnectErrno = o.ControlConnectErrno,
            MptcpAtConnect = o.SocketErrno == 0 && o.ConnectErrno == 0 ? o.MptcpAtConnect : null,
            HandshakeRetransmits = o.HandshakeRetransmits, SynRetransBeforeFallback = o.SynRetransBeforeFallback,
        };
        (FallbackReason reason, string detail) = Judge(facts);
        bool connected = o.SocketErrno == 0 && o.ConnectErrno == 0;
        return new MptcpConnectivityResult
        {
            ComputerName = computerName,
            RemoteAddress = o.RemoteAddress,
            Port = o.Port,
            SourceAddress = source,
            Connected = connected,
            MptcpNegotiated = reason == FallbackReason.None,
            FallbackReason = reason,
            Detail = detail,
            SubflowCount = o.Subflows.Count > 0 ? o.Subflows.Count
                : o.Info is not null ? (o.Info.SubflowsTotal is { } t && t > 0 ? t : o.Info.ExtraSubflows + 1)
                : connected ? 1 : 0,
            SubflowLocalAddresses = o.Subflows.Select(a => a.Local).ToArray(),
            SubflowRemoteAddresses = o.Subflows.Select(a => a.Remote).ToArray(),
            AddAddrAccepted = o.Info?.AddAddrAccepted ?? 0,
            AddAddrReceived = o.CounterDeltas.GetValueOrDefault("AddAddr"),
            Token = o.Info?.Token,
            BytesSent = o.BytesSent,
            Duration = o.Elapsed,
            CounterDeltas = o.CounterDeltas,
            PlainTcpConnected = o.ControlConnectErrno is { } control ? control == 0 : null,
        };
    }

    // From the probe's own socket; the namespace's counters only add to the words, since other connections move them too.
    private static (FallbackReason, string) JudgeSocket(ConnectivityFacts f, bool atConnect, Func<string, long> delta)
    {
        if (atConnect)
        {
            string why = delta("MPFailRx") + delta("MPFailTx") > 0 ? "MP_FAIL (a DSS checksum failed)"
                : delta("InfiniteMapRx") + delta("InfiniteMapTx") > 0 ? "an infinite mapping"
                : delta("DSSCorruptionFallback") + delta("DssFallback") > 0 ? "a DSS problem (something altered the stream)"
                : "a fallback after the handshake";
            return (FallbackReason.FellBackLater, $"The handshake negotiated MPTCP (the socket was MPTCP after connect), then the connection fell back to TCP: {why}.");
        }

        if (f.HandshakeRetransmits is { } retransmits && f.SynRetransBeforeFallback is { } limit && limit > 0 && retransmits >= limit)
        {
            return (FallbackReason.SynDropped,
                $"The SYN with MP_CAPABLE was retransmitted {retransmits} time(s) (this socket's tcp_info), and after {limit} the kernel retries without the option: something on the path drops TCP option 30." +
                (delta("MPCapableSYNTXDrop") > 0 ? $" MPCapableSYNTXDrop moved by {delta("MPCapableSYNTXDrop")}." : ""));
        }

        if (delta("MPCapableSYNTXDisabled") > 0 && delta("MPCapableFallbackSYNACK") == 0)
        {
            return (FallbackReason.MptcpDisabledLocally,
                "The kernel sent its SYN without MP_CAPABLE (MPCapableSYNTXDisabled): MPTCP is disabled for active opens, typically after a blackhole was detected (net.mptcp.blackhole_timeout).");
        }

        return (FallbackReason.PeerNotMptcpCapable,
            "The handshake ended without MPTCP and no SYN was dropped (this socket fell back at once): the peer does not speak MPTCP, or a middlebox stripped the option from its SYN-ACK.");
    }

    public static (FallbackReason Reason, string Detail) Judge(ConnectivityFacts f)
    {
        long Delta(string name) => f.CounterDeltas.TryGetValue(name, out long v) ? v : 0;
        if (f.SocketErrno != 0)
        {
            return f.SocketErrno == Errnos.ENOPROTOOPT
                ? (FallbackReason.MptcpDisabledLocally, "socket(IPPROTO_MPTCP) failed with ENOPROTOOPT: net.mptcp.enabled is 0 in this network namespace.")
                : (FallbackReason.MptcpDisabledLocally, $"socket(IPPROTO_MPTCP) failed with {Errnos.Name(f.SocketErrno)}: this kernel has no MPTCP.");
        }

        if (f.ConnectErrno != 0 && f.ControlConnectErrno == 0)
        {
            // Kernels before 6.12 do not retry without the option: connect() waits out its timeout. TCP getting
            // through where MPTCP did not is what tells the drop from an unreachable peer.
            return (FallbackReason.SynDropped,
                $"The MPTCP connection failed ({Errnos.Name(f.ConnectErrno)}), while a plain TCP connection to the same port got through: something on the path drops TCP segments that carry option 30 (MPTCP SYNs). " +
                (Delta("MPCapableSYNTXDrop") > 0 ? $"MPCapableSYNTXDrop moved by {Delta("MPCapableSYNTXDrop")}." : "This kernel did not fall back to TCP by itself (kernels before 6.12 do not, or syn_retrans_before_tcp_fallback is high)."));
        }

        if (f.ConnectErrno != 0)
        {
            string why = f.ConnectErrno switch
            {
                Errnos.ECONNREFUSED => "the peer refused the connection (nothing listens on that port)",
                Errnos.ETIMEDOUT => "no answer before the timeout",
                Errnos.ENETUNREACH or Errnos.EHOSTUNREACH => "no route to the peer",
                _ => Errnos.Name(f.ConnectErrno),
            };
            string extra = (Delta("MPCapableSYNTXDrop") > 0 ? " MPTCP SYNs were dropped on the way too." : "")
                           + (f.ControlConnectErrno is { } control ? $" A plain TCP connection failed as well ({Errnos.Name(control)})." : "");
            return (FallbackReason.ConnectFailed, $"The connection failed: {why}.{extra}");
        }

        if (f.IsMptcp && (f.Info is null || (f.Info.Flags & MptcpInfoFlags.Fallback) == 0))
        {
            return (FallbackReason.None, "MPTCP was negotiated.");
        }

        if (f.MptcpAtConnect is { } atConnect)
        {
            return JudgeSocket(f, atConnect, Delta);
        }

        if (Delta("MPCapableSYNACKRX") > 0)
        {
            string why = Delta("MPFailRx") + Delta("MPFailTx") > 0 ? "MP_FAIL (a DSS checksum failed)"
                : Delta("InfiniteMapRx") + Delta("InfiniteMapTx") > 0 ? "an infinite mapping"
                : Delta("DSSCorruptionFallback") + Delta("DssFallback") > 0 ? "a DSS problem (something altered the stream)"
                : "a fallback after the handshake";
            return (FallbackReason.FellBackLater,
                $"The peer answered MP_CAPABLE (MPCapableSYNACKRX), then the connection fell back to TCP: {why}.");
        }

        if (Delta("MPCapableSYNTXDrop") > 0)
        {
            return (FallbackReason.SynDropped,
                $"{Delta("MPCapableSYNTXDrop")} SYN(s) with MP_CAPABLE went unanswered and the kernel retried without the option (MPCapableSYNTXDrop): something on the path drops TCP option 30.");
        }

        if (Delta("MPCapableSYNTXDisabled") > 0 || (Delta("MPCapableSYNTX") == 0 && Delta("MPCapableFallbackSYNACK") == 0))
        {
            return (FallbackReason.MptcpDisabledLocally,
                "The kernel sent its SYN without MP_CAPABLE (MPCapableSYNTXDisabled): MPTCP is disabled for active opens, typically after a blackhole was detected (net.mptcp.blackhole_timeout).");
        }

        return (FallbackReason.PeerNotMptcpCapable,
            "The SYN-ACK came back without MP_CAPABLE (MPCapableFallbackSYNACK): the peer does not speak MPTCP, or a middlebox stripped the option.");
    }
}
