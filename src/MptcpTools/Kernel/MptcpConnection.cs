using System;
using System.Management.Automation;
using System.Collections.Generic;
using System.Linq;
using System.Net;

namespace MptcpTools.Kernel;

/// <summary>One TCP subflow of an MPTCP connection, from the TCP dump's ULP info and tcp_info.</summary>
public sealed class MptcpSubflow
{
    public IPAddress LocalAddress { get; init; } = IPAddress.None;
    public ushort LocalPort { get; init; }
    public IPAddress RemoteAddress { get; init; } = IPAddress.None;
    public ushort RemotePort { get; init; }
    public string? Interface { get; init; }
    public TcpState State { get; init; }
    public byte? LocalId { get; init; }
    public byte? RemoteId { get; init; }
    public MptcpSubflowFlags Flags { get; init; }
    public bool Backup => (Flags & (MptcpSubflowFlags.BackupLocal | MptcpSubflowFlags.BackupRemote)) != 0;
    public uint? LocalToken { get; init; }
    public uint? RemoteToken { get; init; }
    /// <summary>The current mapping; null without CAP_NET_ADMIN (the kernel gives sequence numbers only to it).</summary>
    public ulong? MapSequence { get; init; }
    public uint? MapSubflowSequence { get; init; }
    public ushort? MapDataLength { get; init; }
    // ConvertTo-Json writes RttMilliseconds instead, a number a monitoring system reads; Format-List * shows that one too.
    [Hidden]
    [Newtonsoft.Json.JsonIgnore]
    public TimeSpan? Rtt { get; init; }
    /// <summary><see cref="Rtt"/> in milliseconds, as ss prints it.</summary>
    public double? RttMilliseconds => Rtt?.TotalMilliseconds;
    public uint? Retransmissions { get; init; }
    public ulong? BytesSent { get; init; }
    public ulong? BytesAcked { get; init; }
    public ulong? BytesReceived { get; init; }
    public ulong Cookie { get; init; }

    public override string ToString() => $"{LocalAddress}:{LocalPort} > {RemoteAddress}:{RemotePort} {State} ids {LocalId}/{RemoteId}{(Backup ? " backup" : "")}";
}

/// <summary>One MPTCP socket (connection or listener), from the MPTCP dump's mptcp_info.</summary>
public sealed class MptcpConnection
{
    public string Family { get; init; } = "";
    public TcpState State { get; init; }
    public IPAddress LocalAddress { get; init; } = IPAddress.None;
    public ushort LocalPort { get; init; }
    public IPAddress RemoteAddress { get; init; } = IPAddress.None;
    public ushort RemotePort { get; init; }
    public uint? Token { get; init; }
    /// <summary>Subflows besides the initial one (mptcp_info.subflows).</summary>
    public int? ExtraSubflows { get; init; }
    /// <summary>Every subflow, the initial one included.</summary>
    public int? SubflowCount { get; init; }
    public int? SubflowsMax { get; init; }
    public int? AddAddrSignal { get; init; }
    public int? AddAddrAccepted { get; init; }
    public int? AddAddrSignalMax { get; init; }
    public int? AddAddrAcceptedMax { get; init; }
    public MptcpInfoFlags Flags { get; init; }
    public bool Fallback => (Flags & MptcpInfoFlags.Fallback) != 0;
    public bool RemoteKeyReceived => (Flags & MptcpInfoFlags.RemoteKeyReceived) != 0;
    public bool ChecksumEnabled { get; init; }
    public ulong? BytesSent { get; init; }
    public ulong? BytesReceived { get; init; }
    public ulong? BytesAcked { get; init; }
    public ulong? BytesRetransmitted { get; init; }
    public uint Inode { get; init; }
    public uint Uid { get; init; }
    public int? ProcessId { get; internal set; }
    public string? ProcessName { get; internal set; }
    public MptcpSubflow[] Subflows { get; internal set; } = Array.Empty<MptcpSubflow>();
    /// <summary>What the kernel did not tell, and so what this object lacks.</summary>
    public string? Note { get; internal set; }

    public override string ToString() => $"{LocalAddress}:{LocalPort} > {RemoteAddress}:{RemotePort} {State} token {Token:x8} subflows {SubflowCount}";
}
