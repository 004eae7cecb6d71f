using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;

namespace MptcpTools.Packets;

/// <summary>What became of a connection, as far as the capture shows.</summary>
public enum MptcpConnectionOutcome
{
    /// <summary>Established as MPTCP: the SYN-ACK carried MP_CAPABLE and nothing forced a fallback.</summary>
    Mptcp,
    /// <summary>The SYN offered MP_CAPABLE; the SYN-ACK came back without it (peer not MPTCP-capable, or stripped).</summary>
    FallbackAtSynAck,
    /// <summary>Established as MPTCP, then fell back: MP_FAIL, an infinite mapping, or options that vanished mid-stream.</summary>
    FallbackLater,
    /// <summary>SYNs with MP_CAPABLE were never answered in the capture (the kernel may have retried without it).</summary>
    SynUnanswered,
    /// <summary>The SYN never offered MPTCP: the application did not ask for an MPTCP socket.</summary>
    PlainTcp,
    /// <summary>The capture began after the connection's SYN.</summary>
    Incomplete,
}

/// <summary>What became of one subflow.</summary>
public enum MptcpSubflowOutcome
{
    Established,
    SynUnanswered,
    /// <summary>The SYN-ACK carried no MP_JOIN, or a reset answered the join.</summary>
    JoinRefused,
    /// <summary>Reset after it was established; see ResetReason.</summary>
    Reset,
}

/// <summary>An ADD_ADDR seen in a connection, and whether the other side echoed it.</summary>
public sealed class MptcpAddressAnnouncement
{
    internal MptcpAddressAnnouncement(string from, byte addressId, IPAddress address, ushort? port, DateTime firstSeen)
    {
        From = from;
        AddressId = addressId;
        Address = address;
        Port = port;
        FirstSeen = firstSeen;
    }

    /// <summary>"Client" or "Server": who announced the address.</summary>
    public string From { get; }
    public byte AddressId { get; }
    public IPAddress Address { get; }
    public ushort? Port { get; }
    public bool Echoed { get; internal set; }
    public DateTime FirstSeen { get; }

    public override string ToString() => $"{From} announced id {AddressId} {Address}{(Port is { } p ? $" port {p}" : "")}{(Echoed ? " (echoed)" : "")}";
}

/// <summary>A REMOVE_ADDR seen in a connection.</summary>
public sealed class MptcpAddressRemoval
{
    internal MptcpAddressRemoval(string from, byte[] addressIds, DateTime seen)
    {
        From = from;
        AddressIds = addressIds;
        Seen = seen;
        LastSeen = seen;
    }

    public string From { get; }
    public byte[] AddressIds { get; }
    /// <summary>When it was first seen.</summary>
    public DateTime Seen { get; }
    /// <summary>How many segments carried this same REMOVE_ADDR (retransmissions, repeats), and when the last did.</summary>
    public long Count { get; internal set; } = 1;
    public DateTime LastSeen { get; internal set; }

    public override string ToString() => $"{From} removed id {string.Join(",", AddressIds)}{(Count > 1 ? $" ({Count} times)" : "")}";
}

/// <summary>One TCP subflow of a connection, as the capture shows it.</summary>
public sealed class MptcpSubflowSummary
{
    public int Stream { get; internal set; }
    /// <summary>The connection's first subflow (MP_CAPABLE), as opposed to one joined with MP_JOIN.</summary>
    public bool Initial { get; internal set; }
    /// <summary>The side that sent the SYN.</summary>
    public IPAddress ClientAddress { get; internal set; } = IPAddress.None;
    public ushort ClientPort { get; internal set; }
    public IPAddress ServerAddress { get; internal set; } = IPAddress.None;
    public ushort ServerPort { get; internal set; }
    /// <summary>The MP_JOIN address id of the joining side.</summary>
    public byte? AddressId { get; internal set; }
    public bool Backup { get; internal set; }
    public MptcpSubflowOutcome Outcome { get; internal set; }
    /// <summary>The handshake completed (SYN, SYN-ACK with its option, third ACK), or the capture began mid-way.</summary>
    public bool Established { get; internal set; }
    public MptcpResetReason? ResetReason { get; internal set; }
    public bool? ResetTransient { get; internal set; }
    public long Packets { get; internal set; }
    /// <summary>TCP payload bytes from the client side and from the server side.</summary>
    public long PayloadBytesFromClient { get; internal set; }
    public long PayloadBytesFromServer { get; internal set; }
    /// <summary>Data-level bytes the DSS mappings on this subflow carried, per side (retransmitted mappings counted once).</summary>
    public long MappedBytesFromClient { get; internal set; }
    public long MappedBytesFromServer { get; internal set; }
    public DateTime FirstSeen { get; internal set; }
    public DateTime LastSeen { get; internal set; }

    public override string ToString() =>
        $"{(Initial ? "initial" : "join")} {ClientAddress}:{ClientPort} > {ServerAddress}:{ServerPort} {Outcome}{(Backup ? " backup" : "")}";
}

/// <summary>One connection (MPTCP or plain TCP) as the capture shows it.</summary>
public sealed class MptcpConnectionSummary
{
    public int Id { get; internal set; }
    public MptcpConnectionOutcome Outcome { get; internal set; }
    /// <summary>Why the outcome is what it is, in one sentence.</summary>
    public string Detail { get; internal set; } = "";
    /// <summary>MPTCP version (0 for RFC 6824, 1 for RFC 8684); null for plain TCP.</summary>
    public int? Version { get; internal set; }
    public IPAddress ClientAddress { get; internal set; } = IPAddress.None;
    public ushort ClientPort { get; internal set; }
    public IPAddress ServerAddress { get; internal set; } = IPAddress.None;
    public ushort ServerPort { get; internal set; }
    public ulong? ClientKey { get; internal set; }
    public ulong? ServerKey { get; internal set; }
    public uint? ClientToken { get; internal set; }
    public uint? ServerToken { get; internal set; }
    public ulong? ClientInitialDataSequence { get; internal set; }
    public ulong? ServerInitialDataSequence { get; internal set; }
    public MptcpSubflowSummary[] Subflows { get; internal set; } = Array.Empty<MptcpSubflowSummary>();
    public int SubflowCount => Subflows.Length;
    public int EstablishedSubflows => Subflows.Count(s => s.Established);
    /// <summary>Each address announced, once (the first 1024 of a connection; AddAddrOmitted counts the others).</summary>
    public MptcpAddressAnnouncement[] AddAddr { get; internal set; } = Array.Empty<MptcpAddressAnnouncement>();
    public long AddAddrOmitted { get; internal set; }
    /// <summary>Each REMOVE_ADDR, once, with how often it came (the first 1024 different ones; RemoveAddrOmitted counts the others).</summary>
    public MptcpAddressRemoval[] RemoveAddr { get; internal set; } = Array.Empty<MptcpAddressRemoval>();
    public long RemoveAddrOmitted { get; internal set; }
    /// <summary>Subflows left out of Subflows: a connection keeps its 256 most recent (the initial one always).</summary>
    public long SubflowsOmitted { get; internal set; }
    public bool DataFinFromClient { get; internal set; }
    public bool DataFinFromServer { get; internal set; }
    public bool FastClose { get; internal set; }
    public bool MpFail { get; internal set; }
    public bool InfiniteMapping { get; internal set; }
    /// <summary>Data segments without any MPTCP option after DSS had been in use.</summary>
    public long SegmentsWithoutDss { get; internal set; }
    public long InvalidOptions { get; internal set; }
    public long Packets { get; internal set; }
    public DateTime FirstSeen { get; internal set; }
    public DateTime LastSeen { get; internal set; }

    public override string ToString() => $"{Id} {ClientAddress}:{ClientPort} > {ServerAddress}:{ServerPort} {Outcome} ({SubflowCount} subflows)";
}

/// <summary>
/// Follows TCP connections and groups subflows into MPTCP connections (MP_JOIN tokens matched against
/// the tokens derived from the MP_CAPABLE keys). Holds state per connection, never per packet, and bounded per
/// connection; a connection that ended (every subflow closed or reset, or MP_FASTCLOSE) and was silent for
/// <see cref="EndedLinger"/> of capture time leaves the tracker, as do the longest-silent ones when more than
/// <see cref="MaxLiveConnections"/> are open, so a long capture or a flood holds only what is open.
/// </summary>
public sealed partial class ConnectionTracker
{
    /// <summary>Open connections held at most; past it, the longest silent leave (until a quarter is free).</summary>
    public const int MaxLiveConnections = 65536;
    /// <summary>Subflows a connection keeps; past it, its least recently active one (never the initial) is left out.</summary>
    public const int MaxSubflows = 256;
    /// <summary>Different ADD_ADDR announcements, and different REMOVE_ADDR lists, a connection keeps.</summary>
    public const int MaxAnnouncements = 1024;
    /// <summary>How long (in capture time) a connection that ended stays, for late retransmissions and ACKs.</summary>
    public static readonly TimeSpan EndedLinger = TimeSpan.FromSeconds(60);
    // Ended connections are looked for every this many segments, and whenever too many are open.
    private const int SweepEvery = 16384;

    private readonly Dictionary<FlowKey, Subflow> _flows = new();
    private readonly Dictionary<uint, Connection> _byToken = new();
    private readonly Dictionary<int, Connection> _live = new();
    private readonly Queue<Connection> _ended = new();
    private int _nextStream;
    private int _nextConnection;
    private DateTime _now = DateTime.MinValue;
    private DateTime _nextTimedSweep = DateTime.MinValue;
    private int _sinceSweep;

    /// <summary>Connections seen so far (their ids go from 0 to this, less one).</summary>
    public int ConnectionCount => _nextConnection;

    /// <summary>Connections the tracker holds now: open, or ended less than <see cref="EndedLinger"/> ago.</summary>
    public int LiveConnections => _live.Count;

    /// <summary>
    /// Keep the connections that leave the tracker until <see cref="TakeEndedSummaries"/> (or TakeEndedMeasurements)
    /// takes them; without it they are forgotten (packet objects carry what a caller needs of them).
    /// </summary>
    public bool KeepEnded { get; set; }

    /// <summary>Whether connections left the tracker that were not taken yet.</summary>
    public bool HasEnded => _ended.Count > 0;

    /// <summary>The summaries of the connections that left the tracker since the last call, in the order they left.</summary>
    public List<MptcpConnectionSummary> TakeEndedSummaries()
    {
        var summaries = new List<MptcpConnectionSummary>(_ended.Count);
        while (_ended.TryDequeue(out Connection? c))
        {
            summaries.Add(c.ToSummary());
        }

        return summaries;
    }

    /// <summary>Accounts one segment; returns its stream (subflow) index and its connection id.</summary>
    public (int Stream, int Connection) Observe(ref TcpSegmentView segment, IReadOnlyList<MptcpOption> options, DateTime timestamp, long frame = 0) =>
        Observe(ref segment, options, default, false, timestamp, frame);

    /// <summary>Accounts one segment whose only MPTCP option is the DSS given by value (<paramref name="dssOnly"/>), or whose options are listed.</summary>
    internal (int Stream, int Connection) Observe(ref TcpSegmentView segment, IReadOnlyList<MptcpOption> options, in DssFields dss, bool dssOnly,
        DateTime timestamp, long frame)
    {
        var key = FlowKey.From(ref segment);
        if (timestamp > _now)
        {
            _now = timestamp;
        }

        TcpFlags flags = segment.Flags;
        bool synOnly = (flags & (TcpFlags.Syn | TcpFlags.Ack)) == TcpFlags.Syn;
        if (!_flows.TryGetValue(key, out Subflow? flow) || (synOnly && flow.Finished && flow.SynSequence != segment.Sequence))
        {
            flow = NewFlow(ref segment, options, timestamp, key);
            _flows[key] = flow;
        }

        Connection connection = flow.Connection;
        bool fromClient = segment.Source.Equals(flow.ClientAddress) && segment.SourcePort == flow.ClientPort;
        int dir = fromClient ? 0 : 1;
        flow.Packets++;
        flow.Last = timestamp;
        flow.Payload[dir] += segment.PayloadLength;
        connection.Packets++;
        connection.Last = timestamp;
        connection.OptionsSeen += options.Count + (dssOnly ? 1 : 0);
        connection.PayloadBytes += segment.PayloadLength;

        if (synOnly && fromClient)
        {
            flow.SawSyn = true;
            flow.SynSequence = segment.Sequence;
            flow.HasClientIsn = true;
            bool capable = Has(options, MptcpSubtype.MpCapable);
            flow.SynCapable |= capable;
            flow.LastSynCapable = capable;
        }
        else if ((flags & (TcpFlags.Syn | TcpFlags.Ack)) == (TcpFlags.Syn | TcpFlags.Ack) && !fromClient)
        {
            flow.SynAck = true;
            flow.ServerIsn = segment.Sequence;
            flow.HasServerIsn = true;
            flow.SynAckCapable = Has(options, MptcpSubtype.MpCapable);
            flow.SynAckJoin = Has(options, MptcpSubtype.MpJoin);
            flow.SynAckAnsweredCapableSyn = flow.LastSynCapable;
        }
        else if ((flags & TcpFlags.Ack) != 0 && (flags & TcpFlags.Syn) == 0 && flow.SynAck && fromClient)
        {
            if (!flow.ThirdAck)
            {
                flow.EstablishedAt = timestamp;
            }

            flow.ThirdAck = true;
        }

        if ((flags & TcpFlags.Rst) != 0)
        {
            flow.Reset = true;
            flow.ResetBeforeSynAck |= !flow.SynAck;
        }

        if ((flags & TcpFlags.Fin) != 0)
        {
            flow.Fin[dir] = true;
        }

        bool connectionSide = fromClient == flow.InitiatorIsConnectionClient;
        string from = connectionSide ? "Client" : "Server";
        bool sawDssHere = false;
        // Indexed, not foreach: an interface's enumerator would be allocated for every segment.
        for (int i = 0; i < options.Count; i++)
        {
            switch (options[i])
            {
                case MpCapableOption capable:
                    connection.Version ??= capable.Version;
                    connection.ChecksumsRequired |= capable.ChecksumRequired && capable.Form is MpCapableForm.Syn or MpCapableForm.SynAck;
                    if (capable.Form == MpCapableForm.SynAck && !fromClient)
                    {
                        connection.SetKeys(null, capable.SenderKey, _byToken);
                    }
                    else if (capable.Form == MpCapableForm.Syn && capable.SenderKey is { } v0Key && fromClient)
                    {
                        connection.SetKeys(v0Key, null, _byToken);
                    }
                    else if (capable.Form is MpCapableForm.Ack or MpCapableForm.AckWithData)
                    {
                        if (fromClient)
                        {
                            connection.SetKeys(capable.SenderKey, capable.ReceiverKey, _byToken);
                        }
                        else
                        {
                            connection.SetKeys(capable.ReceiverKey, capable.SenderKey, _byToken);
                        }
                    }

                    break;
                case DssOption dssOption:
                    sawDssHere = true;
                    ObserveDss(flow, connection, connectionSide, dir, dssOption.Fields);
                    break;
                case AddAddrOption add:
                    connection.Announce(add, add.Echo ? (connectionSide ? "Server" : "Client") : from, timestamp);
                    break;
                case RemoveAddrOption remove:
                    connection.Remove(from, remove.AddressIds, timestamp);
                    break;
                case MpPrioOption prio:
                    flow.Backup = prio.Backup;
                    break;
                case MpFailOption:
                    connection.MpFail = true;
                    break;
                case MpFastCloseOption:
                    connection.FastClose = true;
                    break;
                case MpTcpRstOption rst:
                    flow.ResetOption = rst;
                    break;
                case InvalidMptcpOption:
                    connection.InvalidOptions++;
                    break;
            }
        }

        if (dssOnly)
        {
            sawDssHere = true;
            ObserveDss(flow, connection, connectionSide, dir, dss);
        }

        // Options that vanish from data once DSS was in use: a middlebox, or a fallback without MP_FAIL.
        if (!sawDssHere && options.Count == 0 && segment.PayloadLength > 0 && flow.SawDss && !segment.OptionsTruncated)
        {
            connection.SegmentsWithoutDss++;
        }

        if (_measureTicks > 0)
        {
            MeasureSegment(flow, connection, fromClient, connectionSide ? 0 : 1, ref segment, options, dss, dssOnly, timestamp, frame);
        }

        // Also whenever capture time moved on by a tenth of the linger: a connection ends in time however few segments follow.
        if (++_sinceSweep >= SweepEvery || _live.Count > MaxLiveConnections || _now >= _nextTimedSweep)
        {
            Sweep();
        }

        return (flow.Stream, connection.Id);
    }

    // Lets go of the connections that ended long enough ago (in capture time), then, when too many are open, of the
    // longest silent ones until a quarter of the room is free: a cost of O(n log n) once per n/4 new connections.
    private void Sweep()
    {
        _sinceSweep = 0;
        _nextTimedSweep = _now == DateTime.MinValue || _now > DateTime.MaxValue - EndedLinger ? DateTime.MaxValue : _now + EndedLinger / 10;
        List<Connection>? gone = null;
        foreach (Connection c in _live.Values)
        {
            if (c.Ended(_now))
            {
                (gone ??= new List<Connection>()).Add(c);
            }
        }

        if (gone is not null)
        {
            gone.Sort((a, b) => a.Id.CompareTo(b.Id));
            foreach (Connection c in gone)
            {
                Let(c);
            }
        }

        if (_live.Count > MaxLiveConnections)
        {
            foreach (Connection c in _live.Values.OrderBy(c => c.Last).ThenBy(c => c.Id).Take(_live.Count - MaxLiveConnections * 3 / 4).ToList())
            {
                Let(c);
            }
        }
    }

    // A connection leaves: its subflows and tokens go; a later segment of it starts a new (incomplete) connection.
    private void Let(Connection c)
    {
        _live.Remove(c.Id);
        foreach (Subflow s in c.Subflows)
        {
            Forget(s);
        }

        foreach (uint token in c.Tokens())
        {
            if (_byToken.TryGetValue(token, out Connection? holder) && holder == c)
            {
                _byToken.Remove(token);
            }
        }

        if (KeepEnded)
        {
            _ended.Enqueue(c);
        }
    }

    private void Forget(Subflow s)
    {
        if (_flows.TryGetValue(s.Key, out Subflow? held) && held == s)
        {
            _flows.Remove(s.Key);
        }
    }

    private static void ObserveDss(Subflow flow, Connection connection, bool connectionSide, int dir, in DssFields dss)
    {
        flow.SawDss = true;
        if (dss.DataFin)
        {
            if (connectionSide) connection.DataFinFromClient = true;
            else connection.DataFinFromServer = true;
        }

        if (dss.IsInfiniteMapping)
        {
            connection.InfiniteMapping = true;
        }
        else if (dss.HasMapping && dss.DataSequence is { } dsn && dss.DataLength is { } length)
        {
            // Count a mapping once: retransmissions repeat a sequence number already covered.
            if (flow.MapEnd[dir] is not { } end || dsn >= end)
            {
                // A DATA_FIN takes one data sequence number but carries no byte (RFC 8684 3.3.3).
                flow.Mapped[dir] += dss.DataFin ? Math.Max(0, length - 1) : length;
                flow.MapEnd[dir] = dsn + length;
            }
        }
    }

    /// <summary>The connections the tracker holds, in order of their first packet (those that left it were taken, or forgotten).</summary>
    public IEnumerable<MptcpConnectionSummary> Summaries() => _live.Values.OrderBy(c => c.Id).Select(c => c.ToSummary()).ToList();

    private Connection NewConnection(Subflow initial, DateTime timestamp)
    {
        var connection = new Connection(_nextConnection++, initial, timestamp);
        _live[connection.Id] = connection;
        return connection;
    }

    private Subflow NewFlow(ref TcpSegmentView segment, IReadOnlyList<MptcpOption> options, DateTime timestamp, FlowKey key)
    {
        TcpFlags flags = segment.Flags;
        bool synAck = (flags & (TcpFlags.Syn | TcpFlags.Ack)) == (TcpFlags.Syn | TcpFlags.Ack);
        var flow = new Subflow { Stream = _nextStream++, First = timestamp, Last = timestamp, Key = key };
        if (synAck)
        {
            (flow.ClientAddress, flow.ClientPort, flow.ServerAddress, flow.ServerPort) =
                (segment.Destination, segment.DestinationPort, segment.Source, segment.SourcePort);
        }
        else
        {
            (flow.ClientAddress, flow.ClientPort, flow.ServerAddress, flow.ServerPort) =
                (segment.Source, segment.SourcePort, segment.Destination, segment.DestinationPort);
        }

        MpJoinOption? join = (flags & TcpFlags.Syn) != 0 && !synAck
            ? options.OfType<MpJoinOption>().FirstOrDefault(j => j.Form == MpJoinForm.Syn)
            : null;
        Connection connection;
        if (join?.Token is { } token)
        {
            if (!_byToken.TryGetValue(token, out connection!))
            {
                // A join to a connection whose start the capture missed.
                connection = NewConnection(flow, timestamp);
                connection.Incomplete = true;
                connection.Subflows.Clear();
                connection.Initial = null;
                connection.JoinToken = token;
                _byToken[token] = connection;
            }

            if (connection.Subflows.Count >= MaxSubflows)
            {
                LeaveOutOneSubflow(connection);
            }

            flow.Join = true;
            flow.AddressId = join.AddressId;
            flow.Backup = join.Backup;
            flow.JoinBackup = join.Backup;
            flow.InitiatorIsConnectionClient = connection.ServerToken is not { } serverToken || serverToken == token;
            connection.Subflows.Add(flow);
        }
        else
        {
            connection = NewConnection(flow, timestamp);
            connection.Incomplete = (flags & TcpFlags.Syn) == 0;
        }

        flow.Connection = connection;
        return flow;
    }

    // A connection at its subflow bound lets one go: a finished one first, else the least recently active; never the
    // initial subflow. Its packets stay counted in the connection's.
    private void LeaveOutOneSubflow(Connection connection)
    {
        Subflow? pick = null;
        foreach (Subflow s in connection.Subflows)
        {
            if (s == connection.Initial)
            {
                continue;
            }

            if (pick is null || (s.Finished && !pick.Finished) || (s.Finished == pick.Finished && s.Last < pick.Last))
            {
                pick = s;
            }
        }

        if (pick is not null)
        {
            connection.Subflows.Remove(pick);
            connection.SubflowsOmitted++;
            Forget(pick);
        }
    }

    private static bool Has(IReadOnlyList<MptcpOption> options, MptcpSubtype subtype)
    {
        for (int i = 0; i < options.Count; i++)
        {
            MptcpOption option = options[i];
            if (option.Subtype == subtype && option.IsValid)
            {
                return true;
            }
        }

        return false;
    }

    private readonly struct FlowKey : IEquatable<FlowKey>
    {
        private readonly PacketAddress _a, _b;
        private readonly ushort _aPort, _bPort;

        private FlowKey(PacketAddress a, ushort aPort, PacketAddress b, ushort bPort) => (_a, _aPort, _b, _bPort) = (a, aPort, b, bPort);

        public static FlowKey From(ref TcpSegmentView s)
        {
            int order = s.Source.CompareTo(s.Destination);
            return order < 0 || (order == 0 && s.SourcePort <= s.DestinationPort)
                ? new FlowKey(s.Source, s.SourcePort, s.Destination, s.DestinationPort)
                : new FlowKey(s.Destination, s.DestinationPort, s.Source, s.SourcePort);
        }

        public bool Equals(FlowKey o) => _aPort == o._aPort && _bPort == o._bPort && _a.Equals(o._a) && _b.Equals(o._b);
        public override bool Equals(object? obj) => obj is FlowKey k && Equals(k);
        // Cheaper than HashCode.Combine over the addresses' own hashes, on the hot path; ports and the low address bits vary most.
        public override int GetHashCode() => (int)(_a.Low32 * 0x9E3779B1u ^ _b.Low32 * 0x85EBCA77u ^ ((uint)_aPort << 16 | _bPort) * 0xC2B2AE3Du);
    }

    private sealed class Subflow
    {
        public FlowKey Key;
        public int Stream;
        public Connection Connection = null!;
        public PacketAddress ClientAddress, ServerAddress;
        public ushort ClientPort, ServerPort;
        public bool SawSyn, SynCapable, LastSynCapable, SynAck, SynAckCapable, SynAckJoin, SynAckAnsweredCapableSyn, ThirdAck;
        public uint SynSequence;
        public bool Reset, ResetBeforeSynAck, Join, Backup, SawDss, JoinBackup;
        public uint ServerIsn;
        public bool HasClientIsn, HasServerIsn;
        public DateTime? EstablishedAt;
        public FlowMeasure? Measure;
        public bool InitiatorIsConnectionClient = true;
        public byte? AddressId;
        public MpTcpRstOption? ResetOption;
        public long Packets;
        public readonly long[] Payload = new long[2];
        public readonly long[] Mapped = new long[2];
        public readonly ulong?[] MapEnd = new ulong?[2];
        public readonly bool[] Fin = new bool[2];
        public DateTime First, Last;

        public bool Finished => Reset || (Fin[0] && Fin[1]);

        public MptcpSubflowSummary ToSummary(bool initial)
        {
            MptcpSubflowOutcome outcome;
            if (!SawSyn && !SynAck)
            {
                outcome = Reset ? MptcpSubflowOutcome.Reset : MptcpSubflowOutcome.Established; // seen mid-way
            }
            else if (Join && (ResetBeforeSynAck || (SynAck && !SynAckJoin) || (SynAck && Reset && !ThirdAck)))
            {
                outcome = MptcpSubflowOutcome.JoinRefused;
            }
            else if (!SynAck)
            {
                outcome = MptcpSubflowOutcome.SynUnanswered;
            }
            else
            {
                outcome = Reset ? MptcpSubflowOutcome.Reset : MptcpSubflowOutcome.Established;
            }

            return new MptcpSubflowSummary
            {
                Stream = Stream,
                Initial = initial,
                ClientAddress = ClientAddress.ToIPAddress(),
                ClientPort = ClientPort,
                ServerAddress = ServerAddress.ToIPAddress(),
                ServerPort = ServerPort,
                AddressId = AddressId,
                Backup = Backup,
                Outcome = outcome,
                Established = (!SawSyn && !SynAck) || (SynAck && ThirdAck && (!Join || SynAckJoin)),
                ResetReason = ResetOption?.Reason,
                ResetTransient = ResetOption?.Transient,
                Packets = Packets,
                PayloadBytesFromClient = Payload[0],
                PayloadBytesFromServer = Payload[1],
                MappedBytesFromClient = Mapped[0],
                MappedBytesFromServer = Mapped[1],
                FirstSeen = First,
                LastSeen = Last,
            };
        }
    }

    private sealed class Connection
    {
        public Connection(int id, Subflow initial, DateTime first)
        {
            Id = id;
            Initial = initial;
            Subflows.Add(initial);
            First = first;
            Last = first;
        }

        public int Id;
        public Subflow? Initial;
        public readonly List<Subflow> Subflows = new();
        public bool Incomplete;
        public int? Version;
        public ulong? ClientKey, ServerKey;
        public uint? ClientToken, ServerToken, JoinToken;
        public readonly List<MptcpAddressAnnouncement> Announcements = new();
        public readonly List<MptcpAddressRemoval> Removals = new();
        // Announcements by (announcer, id, address), for the echo and for repeats: no scan per segment.
        private Dictionary<(string From, byte Id, IPAddress Address), List<MptcpAddressAnnouncement>>? _announced;
        private Dictionary<string, MptcpAddressRemoval>? _removed;
        public long AnnouncementsOmitted, RemovalsOmitted, SubflowsOmitted;
        public bool DataFinFromClient, DataFinFromServer, FastClose, MpFail, InfiniteMapping, ChecksumsRequired;
        public ConnectionMeasure? Measure;
        public long SegmentsWithoutDss, InvalidOptions, Packets, OptionsSeen, PayloadBytes;
        public DateTime First, Last;

        /// <summary>
        /// An ADD_ADDR from <paramref name="from"/> (for an echo: the side whose announcement it echoes). Each address is
        /// kept once; past <see cref="MaxAnnouncements"/> new ones are only counted.
        /// </summary>
        public void Announce(AddAddrOption add, string from, DateTime timestamp)
        {
            _announced ??= new Dictionary<(string, byte, IPAddress), List<MptcpAddressAnnouncement>>();
            var key = (from, add.AddressId, add.Address);
            _announced.TryGetValue(key, out List<MptcpAddressAnnouncement>? same);
            if (add.Echo)
            {
                foreach (MptcpAddressAnnouncement a in same ?? (IEnumerable<MptcpAddressAnnouncement>)Array.Empty<MptcpAddressAnnouncement>())
                {
                    a.Echoed = true;
                }

                return;
            }

            if (same is not null && same.Exists(a => a.Port == add.Port))
            {
                return;
            }

            if (Announcements.Count >= MaxAnnouncements)
            {
                AnnouncementsOmitted++;
                return;
            }

            var announcement = new MptcpAddressAnnouncement(from, add.AddressId, add.Address, add.Port, timestamp);
            if (same is null)
            {
                _announced[key] = same = new List<MptcpAddressAnnouncement>(1);
            }

            same.Add(announcement);
            Announcements.Add(announcement);
        }

        /// <summary>A REMOVE_ADDR: a repeat of one already seen is counted on it; past <see cref="MaxAnnouncements"/> different ones, only counted.</summary>
        public void Remove(string from, byte[] ids, DateTime timestamp)
        {
            _removed ??= new Dictionary<string, MptcpAddressRemoval>(StringComparer.Ordinal);
            string key = from + Convert.ToHexString(ids);
            if (_removed.TryGetValue(key, out MptcpAddressRemoval? seen))
            {
                seen.Count++;
                seen.LastSeen = timestamp;
            }
            else if (Removals.Count >= MaxAnnouncements)
            {
                RemovalsOmitted++;
            }
            else
            {
                var removal = new MptcpAddressRemoval(from, ids, timestamp);
                _removed[key] = removal;
                Removals.Add(removal);
            }
        }

        /// <summary>
        /// Ended: MP_FASTCLOSE, or every subflow closed (FIN both ways), reset, or a SYN never answered; and nothing of
        /// it for <see cref="EndedLinger"/> before <paramref name="now"/>.
        /// </summary>
        public bool Ended(DateTime now)
        {
            if (now - Last < EndedLinger)
            {
                return false;
            }

            if (FastClose)
            {
                return true;
            }

            foreach (Subflow s in Subflows)
            {
                if (!s.Finished && !(s.SawSyn && !s.SynAck))
                {
                    return false;
                }
            }

            return Subflows.Count > 0;
        }

        public IEnumerable<uint> Tokens()
        {
            if (ClientToken is { } c) yield return c;
            if (ServerToken is { } s) yield return s;
            if (JoinToken is { } j) yield return j;
        }

        public void SetKeys(ulong? client, ulong? server, Dictionary<uint, Connection> byToken)
        {
            int version = Version ?? 1;
            if (client is { } c && ClientKey is null)
            {
                ClientKey = c;
                ClientToken = MptcpKeys.Token(c, version);
                byToken[ClientToken.Value] = this;
            }

            if (server is { } s && ServerKey is null)
            {
                ServerKey = s;
                ServerToken = MptcpKeys.Token(s, version);
                byToken[ServerToken.Value] = this;
            }
        }

        public MptcpConnectionSummary ToSummary()
        {
            Subflow? initial = Initial;
            (MptcpConnectionOutcome outcome, string detail) = Judge(initial);
            int version = Version ?? 1;
            Subflow shown = initial ?? Subflows[0];
            return new MptcpConnectionSummary
            {
                Id = Id,
                Outcome = outcome,
                Detail = detail,
                Version = Version,
                ClientAddress = shown.ClientAddress.ToIPAddress(),
                ClientPort = shown.ClientPort,
                ServerAddress = shown.ServerAddress.ToIPAddress(),
                ServerPort = shown.ServerPort,
                ClientKey = ClientKey,
                ServerKey = ServerKey,
                ClientToken = ClientToken,
                ServerToken = ServerToken,
                ClientInitialDataSequence = ClientKey is { } ck ? MptcpKeys.InitialDataSequence(ck, version) : null,
                ServerInitialDataSequence = ServerKey is { } sk ? MptcpKeys.InitialDataSequence(sk, version) : null,
                Subflows = Subflows.Select(s => s.ToSummary(s == initial)).ToArray(),
                AddAddr = Announcements.ToArray(),
                AddAddrOmitted = AnnouncementsOmitted,
                RemoveAddr = Removals.ToArray(),
                RemoveAddrOmitted = RemovalsOmitted,
                SubflowsOmitted = SubflowsOmitted,
                DataFinFromClient = DataFinFromClient,
                DataFinFromServer = DataFinFromServer,
                FastClose = FastClose,
                MpFail = MpFail,
                InfiniteMapping = InfiniteMapping,
                SegmentsWithoutDss = SegmentsWithoutDss,
                InvalidOptions = InvalidOptions,
                Packets = Packets,
                FirstSeen = First,
                LastSeen = Last,
            };
        }

        private (MptcpConnectionOutcome, string) Judge(Subflow? initial)
        {
            if (initial is not null && !initial.SawSyn && !initial.SynAck && OptionsSeen == 0 && PayloadBytes > 0)
            {
                // An MPTCP connection puts DSS on every data segment: data without a single option is plain TCP.
                return (MptcpConnectionOutcome.PlainTcp, "Seen from mid-connection: its data carried no MPTCP option at all, so it is plain TCP.");
            }

            if (initial is null || Incomplete || !(initial.SawSyn || initial.SynAck))
            {
                return (MptcpConnectionOutcome.Incomplete, "The capture began after this connection's SYN.");
            }

            if (!initial.SynCapable && !(initial.SynAck && initial.SynAckCapable))
            {
                return (MptcpConnectionOutcome.PlainTcp, "The SYN carried no MP_CAPABLE: the application opened a plain TCP socket.");
            }

            if (!initial.SynAck)
            {
                return (MptcpConnectionOutcome.SynUnanswered, "SYNs with MP_CAPABLE went unanswered in the capture.");
            }

            if (!initial.SynAckCapable)
            {
                return initial.SynAckAnsweredCapableSyn || !initial.SawSyn
                    ? (MptcpConnectionOutcome.FallbackAtSynAck, "The SYN-ACK came back without MP_CAPABLE: the peer is not MPTCP-capable, or a middlebox stripped the option.")
                    : (MptcpConnectionOutcome.SynUnanswered, "SYNs with MP_CAPABLE went unanswered; the kernel retried without the option and the connection went on as plain TCP.");
            }

            if (MpFail)
            {
                return (MptcpConnectionOutcome.FallbackLater, "MP_FAIL: a DSS checksum failed and the connection fell back to TCP.");
            }

            if (InfiniteMapping)
            {
                return (MptcpConnectionOutcome.FallbackLater, "An infinite mapping: the connection fell back to TCP after it was established.");
            }

            if (SegmentsWithoutDss > 0)
            {
                return (MptcpConnectionOutcome.FallbackLater, $"{SegmentsWithoutDss} data segments carried no MPTCP option after DSS had been in use.");
            }

            return (MptcpConnectionOutcome.Mptcp, $"Established as MPTCP v{Version ?? 1}.");
        }
    }
}
