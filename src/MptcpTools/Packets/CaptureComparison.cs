using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using System.Net;
using System.Threading;

namespace MptcpTools.Packets;

/// <summary>What differs between a segment where it left and where it arrived.</summary>
public enum MptcpCaptureDifferenceKind
{
    /// <summary>Segments that left and did not arrive.</summary>
    Lost,
    /// <summary>An MPTCP option that left and did not arrive.</summary>
    OptionStripped,
    /// <summary>An MPTCP option that arrived with a field changed.</summary>
    OptionRewritten,
    /// <summary>An MPTCP option that arrived without having left.</summary>
    OptionAdded,
    /// <summary>The subflow's address or port differs between the two captures (NAT).</summary>
    AddressRewritten,
}

/// <summary>Which of the two captures saw a direction's segments leave (the one nearer their sender).</summary>
public enum CaptureSide
{
    Reference,
    Difference,
}

/// <summary>One difference between the two captures, for one subflow and direction, counted over every segment it affects.</summary>
public sealed class MptcpCaptureDifference
{
    public MptcpCaptureDifferenceKind Kind { get; internal set; }
    /// <summary>Direction within the subflow: from the side that sent its SYN, or towards it.</summary>
    public MptcpDataDirection Direction { get; internal set; }
    /// <summary>The subflow as the reference capture shows it ("client:port > server:port").</summary>
    public string Subflow { get; internal set; } = "";
    public int Connection { get; internal set; }
    public int ReferenceStream { get; internal set; }
    public int? DifferenceStream { get; internal set; }
    /// <summary>The MPTCP option (subtype) for option differences; null otherwise.</summary>
    public string? Option { get; internal set; }
    /// <summary>The field that changed (OptionRewritten, AddressRewritten).</summary>
    public string? Field { get; internal set; }
    /// <summary>The first value where the segments left, and where they arrived.</summary>
    public string? SentValue { get; internal set; }
    public string? ArrivedValue { get; internal set; }
    /// <summary>How many segments (or options) show this difference.</summary>
    public long Count { get; internal set; }
    /// <summary>Frame numbers in the capture where they left (at most 1000).</summary>
    public long[] Frames { get; internal set; } = Array.Empty<long>();
    public DateTime? FirstTime { get; internal set; }

    public override string ToString() =>
        $"{Kind} {Direction} {Subflow}{(Option is null ? "" : " " + Option)}{(Field is null ? "" : "." + Field)} x{Count}";
}

/// <summary>One subflow and direction of two captures of the same traffic, matched.</summary>
public sealed class MptcpSubflowComparison
{
    public int Connection { get; internal set; }
    public string Subflow { get; internal set; } = "";
    public int ReferenceStream { get; internal set; }
    public int? DifferenceStream { get; internal set; }
    /// <summary>How the subflow was found in the other capture: Keys, JoinToken, SequenceNumbers, FourTuple, or NotFound.</summary>
    public string MatchedBy { get; internal set; } = "";
    public MptcpDataDirection Direction { get; internal set; }
    /// <summary>The capture that saw this direction's segments leave.</summary>
    public CaptureSide SentIn { get; internal set; }
    public long Sent { get; internal set; }
    public long Arrived { get; internal set; }
    public long Lost { get; internal set; }
    /// <summary>Segments that arrived cut or merged differently (offloads), their bytes all there.</summary>
    public long Resegmented { get; internal set; }
    public long OptionsStripped { get; internal set; }
    public long OptionsRewritten { get; internal set; }
    // Durations: ConvertTo-Json writes the *Milliseconds numbers instead, which a monitoring system reads.
    /// <summary>Difference capture's clock minus the reference capture's, estimated from the handshakes.</summary>
    [Hidden]
    [Newtonsoft.Json.JsonIgnore]
    public TimeSpan? ClockOffset { get; internal set; }
    public double? ClockOffsetMilliseconds => ClockOffset?.TotalMilliseconds;
    /// <summary>Always true: the offset (and so the delays) rest on the assumption that the handshake's two directions took equally long.</summary>
    public bool ClockOffsetEstimated { get; internal set; } = true;
    [Hidden]
    [Newtonsoft.Json.JsonIgnore]
    public TimeSpan? OneWayDelayMin { get; internal set; }
    [Hidden]
    [Newtonsoft.Json.JsonIgnore]
    public TimeSpan? OneWayDelayMedian { get; internal set; }
    [Hidden]
    [Newtonsoft.Json.JsonIgnore]
    public TimeSpan? OneWayDelayMax { get; internal set; }
    public double? OneWayDelayMinMilliseconds => OneWayDelayMin?.TotalMilliseconds;
    public double? OneWayDelayMedianMilliseconds => OneWayDelayMedian?.TotalMilliseconds;
    public double? OneWayDelayMaxMilliseconds => OneWayDelayMax?.TotalMilliseconds;
    public MptcpCaptureDifference[] Differences { get; internal set; } = Array.Empty<MptcpCaptureDifference>();

    public override string ToString() => $"{Subflow} {Direction}: {Sent} sent, {Lost} lost, {Differences.Length} differences";
}

/// <summary>Two captures of the same traffic, matched connection by connection and subflow by subflow.</summary>
public sealed class MptcpCaptureComparison
{
    public string ReferencePath { get; internal set; } = "";
    public string DifferencePath { get; internal set; } = "";
    [Hidden]
    [Newtonsoft.Json.JsonIgnore]
    public TimeSpan? ClockOffset { get; internal set; }
    public double? ClockOffsetMilliseconds => ClockOffset?.TotalMilliseconds;
    public MptcpSubflowComparison[] Subflows { get; internal set; } = Array.Empty<MptcpSubflowComparison>();
    public IEnumerable<MptcpCaptureDifference> Differences => Subflows.SelectMany(s => s.Differences);
}

/// <summary>
/// Every TCP segment of one capture, with its options, grouped by subflow: what the comparison needs. Fed frame by
/// frame (from a file or a live capture), so it holds every segment: memory grows with the capture.
/// </summary>
public sealed class CaptureRecording
{
    private readonly PacketProcessor _processor = new();
    private readonly Dictionary<int, List<MptcpPacket>> _streams = new();
    // Connections that left the tracker (it stays bounded); their packets are in _streams all the same.
    private readonly List<MptcpConnectionSummary> _ended = new();

    public string Name { get; }
    public long Frames => _processor.Frames;

    /// <summary>Frames whose timestamp was not a time (read with the time of the frame before); null when there were none.</summary>
    public CaptureException? TimestampProblem { get; private set; }

    public CaptureRecording(string name)
    {
        Name = name;
        _processor.Tracker.KeepEnded = true;
    }

    /// <summary>Reads a whole capture file (CaptureException when it cannot be read; a damaged one keeps what came before).</summary>
    public static CaptureRecording ReadFile(string path, CancellationToken cancel = default)
    {
        var recording = new CaptureRecording(path);
        var reader = new CaptureFileReader(path);
        reader.Read(recording.Add, cancel);
        recording.TimestampProblem = reader.TimestampProblem;
        return recording;
    }

    /// <summary>Takes one frame; the signature of a <see cref="FrameHandler"/>.</summary>
    public bool Add(int linkType, ReadOnlySpan<byte> frame, DateTime timestamp, long number)
    {
        MptcpPacket? packet = _processor.Process(linkType, frame, timestamp, number, materialize: true, includePlainTcp: true);
        if (packet is not null)
        {
            if (!_streams.TryGetValue(packet.Stream, out List<MptcpPacket>? list))
            {
                _streams[packet.Stream] = list = new List<MptcpPacket>();
            }

            list.Add(packet);
        }

        if (_processor.Tracker.HasEnded)
        {
            _ended.AddRange(_processor.Tracker.TakeEndedSummaries());
        }

        return true;
    }

    internal IReadOnlyList<MptcpPacket> Stream(int stream) => _streams.TryGetValue(stream, out List<MptcpPacket>? list) ? list : Array.Empty<MptcpPacket>();

    internal IEnumerable<(MptcpConnectionSummary Connection, MptcpSubflowSummary Subflow)> Subflows()
    {
        _ended.AddRange(_processor.Tracker.TakeEndedSummaries());
        return _ended.Concat(_processor.Tracker.Summaries()).OrderBy(c => c.Id).SelectMany(c => c.Subflows.Select(s => (c, s)));
    }
}

/// <summary>
/// Matches the connections and subflows of two captures of the same traffic taken at two points (MPTCP keys and
/// join tokens first, then the SYNs' sequence numbers, then the 4-tuple, so NAT does not hide a subflow), and says
/// per subflow and direction what left one point and did not arrive at the other, or arrived changed.
/// </summary>
public static partial class CaptureComparer
{
    private const int MaxFrames = 1000;

    public static MptcpCaptureComparison Compare(string referencePath, string differencePath, CancellationToken cancel = default) =>
        Compare(CaptureRecording.ReadFile(referencePath, cancel), CaptureRecording.ReadFile(differencePath, cancel));

    public static MptcpCaptureComparison Compare(CaptureRecording reference, CaptureRecording difference)
    {
        List<SubflowView> refs = Views(reference);
        List<SubflowView> diffs = Views(difference);
        var pairs = Match(refs, diffs);

        TimeSpan? offset = ClockOffset(pairs.Select(p => ((SubflowView?)p.Reference, p.Difference)));
        var comparisons = new List<MptcpSubflowComparison>();
        foreach ((SubflowView r, SubflowView? d, string how) in pairs)
        {
            for (int dir = 0; dir < 2; dir++)
            {
                comparisons.Add(CompareDirection(r, d, how, (MptcpDataDirection)dir, offset));
            }
        }

        return new MptcpCaptureComparison
        {
            ReferencePath = reference.Name,
            DifferencePath = difference.Name,
            ClockOffset = offset,
            Subflows = comparisons.ToArray(),
        };
    }

    // One clock offset for two captures (the second's clock minus the first's): the mean over the handshakes seen whole in both.
    private static TimeSpan? ClockOffset(IEnumerable<(SubflowView? First, SubflowView? Second)> pairs)
    {
        var offsets = new List<double>();
        foreach ((SubflowView? a, SubflowView? b) in pairs)
        {
            if (a?.Syn is { } s1 && a.SynAck is { } a1 && b?.Syn is { } s2 && b.SynAck is { } a2)
            {
                offsets.Add(((s2.Timestamp - s1.Timestamp).TotalSeconds + (a2.Timestamp - a1.Timestamp).TotalSeconds) / 2);
            }
        }

        return offsets.Count > 0 ? TimeSpan.FromSeconds(offsets.Average()) : null;
    }

    private static List<SubflowView> Views(CaptureRecording recording)
    {
        var views = new List<SubflowView>();
        foreach ((MptcpConnectionSummary c, MptcpSubflowSummary s) in recording.Subflows())
        {
            IReadOnlyList<MptcpPacket> packets = recording.Stream(s.Stream);
            var view = new SubflowView(c, s, packets);
            views.Add(view);
        }

        return views;
    }

    private static List<(SubflowView Reference, SubflowView? Difference, string How)> Match(List<SubflowView> refs, List<SubflowView> diffs)
    {
        var result = new List<(SubflowView, SubflowView?, string)>();
        var taken = new HashSet<SubflowView>();
        (Func<SubflowView, SubflowView, bool> Same, string How)[] rules =
        {
            ((a, b) => a.Subflow.Initial && b.Subflow.Initial && a.Connection.ClientKey is { } k1 && k1 == b.Connection.ClientKey, "Keys"),
            ((a, b) => a.Subflow.Initial && b.Subflow.Initial && a.Connection.ServerKey is { } k2 && k2 == b.Connection.ServerKey, "Keys"),
            ((a, b) => a.JoinToken is { } t && t == b.JoinToken && a.JoinNonce == b.JoinNonce, "JoinToken"),
            ((a, b) => a.Syn is { } s1 && b.Syn is { } s2 && s1.Sequence == s2.Sequence
                && (a.SynAck is null || b.SynAck is null || a.SynAck.Sequence == b.SynAck.Sequence), "SequenceNumbers"),
            ((a, b) => a.Subflow.ClientAddress.Equals(b.Subflow.ClientAddress) && a.Subflow.ClientPort == b.Subflow.ClientPort
                && a.Subflow.ServerAddress.Equals(b.Subflow.ServerAddress) && a.Subflow.ServerPort == b.Subflow.ServerPort, "FourTuple"),
        };
        var found = new Dictionary<SubflowView, (SubflowView, string)>();
        foreach ((Func<SubflowView, SubflowView, bool> same, string how) in rules)
        {
            foreach (SubflowView r in refs)
            {
                if (found.ContainsKey(r))
                {
                    continue;
                }

                SubflowView? d = diffs.FirstOrDefault(x => !taken.Contains(x) && same(r, x));
                if (d is not null)
                {
                    found[r] = (d, how);
                    taken.Add(d);
                }
            }
        }

        foreach (SubflowView r in refs)
        {
            result.Add(found.TryGetValue(r, out var m) ? (r, m.Item1, m.Item2) : (r, null, "NotFound"));
        }

        return result;
    }

    private static MptcpSubflowComparison CompareDirection(SubflowView r, SubflowView? d, string how, MptcpDataDirection direction, TimeSpan? offset,
        bool? referenceAtInitiator = null)
    {
        bool fromClient = direction == MptcpDataDirection.ClientToServer;
        // The capture nearer the client sees the longer SYN to SYN-ACK time (the whole round trip); so it saw the client's
        // segments leave. Where the caller knows which capture was taken at the subflow's initiator, that decides.
        bool referenceNearClient = referenceAtInitiator ?? (d is null || r.HandshakeGap is not { } rg || d.HandshakeGap is not { } dg || rg >= dg);
        CaptureSide sentIn = referenceNearClient == fromClient ? CaptureSide.Reference : CaptureSide.Difference;
        var comparison = new MptcpSubflowComparison
        {
            Connection = r.Connection.Id,
            Subflow = r.Name,
            ReferenceStream = r.Subflow.Stream,
            DifferenceStream = d?.Subflow.Stream,
            MatchedBy = how,
            Direction = direction,
            SentIn = sentIn,
            ClockOffset = offset,
        };
        var differences = new Dictionary<(MptcpCaptureDifferenceKind, string?, string?), MptcpCaptureDifference>();
        var frames = new Dictionary<MptcpCaptureDifference, List<long>>();
        MptcpCaptureDifference Note(MptcpCaptureDifferenceKind kind, string? option, string? field, MptcpPacket? at, string? sent, string? arrived)
        {
            if (!differences.TryGetValue((kind, option, field), out MptcpCaptureDifference? diff))
            {
                differences[(kind, option, field)] = diff = new MptcpCaptureDifference
                {
                    Kind = kind, Direction = direction, Subflow = r.Name, Connection = r.Connection.Id, ReferenceStream = r.Subflow.Stream,
                    DifferenceStream = d?.Subflow.Stream, Option = option, Field = field, SentValue = sent, ArrivedValue = arrived,
                    FirstTime = at?.Timestamp, Frames = Array.Empty<long>(),
                };
            }

            diff.Count++;
            if (at is not null)
            {
                if (!frames.TryGetValue(diff, out List<long>? list))
                {
                    frames[diff] = list = new List<long>();
                }

                if (list.Count < MaxFrames)
                {
                    list.Add(at.Number);
                }
            }

            return diff;
        }

        if (d is not null && fromClient)
        {
            // NAT: one difference per rewritten field of the subflow (counted once, under the client-to-server direction).
            CompareEndpoint(r.Subflow.ClientAddress, d.Subflow.ClientAddress, "ClientAddress");
            CompareEndpoint(r.Subflow.ClientPort, d.Subflow.ClientPort, "ClientPort");
            CompareEndpoint(r.Subflow.ServerAddress, d.Subflow.ServerAddress, "ServerAddress");
            CompareEndpoint(r.Subflow.ServerPort, d.Subflow.ServerPort, "ServerPort");
        }

        void CompareEndpoint(object a, object b, string field)
        {
            if (!a.Equals(b))
            {
                Note(MptcpCaptureDifferenceKind.AddressRewritten, null, field, null, a.ToString(), b.ToString());
            }
        }

        SubflowView? upstreamView = sentIn == CaptureSide.Reference ? r : d;
        SubflowView? downstreamView = sentIn == CaptureSide.Reference ? d : r;
        List<MptcpPacket> sent = upstreamView?.Direction(fromClient) ?? new List<MptcpPacket>();
        List<MptcpPacket> arrived = downstreamView?.Direction(fromClient) ?? new List<MptcpPacket>();
        comparison.Sent = sent.Count;

        // The arrival time in the sender's clock: the difference capture's clock runs ahead by the offset.
        double shift = offset?.TotalSeconds ?? 0;
        double ToSenderClock(MptcpPacket p) => sentIn == CaptureSide.Reference ? (p.Timestamp - TimeSpan.FromSeconds(shift)).Ticks / 1e7 : (p.Timestamp + TimeSpan.FromSeconds(shift)).Ticks / 1e7;

        var arrivals = arrived.GroupBy(Key).ToDictionary(g => g.Key, g => g.ToList());
        var matched = new HashSet<MptcpPacket>();
        var landedMatched = new HashSet<MptcpPacket>();
        var delays = new List<double>();
        foreach (IGrouping<(uint, uint, int, TcpFlags), MptcpPacket> group in sent.GroupBy(Key))
        {
            List<MptcpPacket> copies = group.ToList();
            if (!arrivals.TryGetValue(group.Key, out List<MptcpPacket>? landed))
            {
                continue;
            }

            // Each arrival belongs to the latest copy sent before it (a retransmission arrives, its lost original does not).
            var used = new bool[copies.Count];
            foreach (MptcpPacket a in landed)
            {
                double at = ToSenderClock(a);
                // Copies that could have been this arrival; among them one whose options arrived unchanged, else the latest.
                int pick = -1;
                for (int i = 0; i < copies.Count; i++)
                {
                    if (!used[i] && copies[i].Timestamp.Ticks / 1e7 <= at + 0.001)
                    {
                        if (pick < 0 || !SameOptions(copies[pick], a) || SameOptions(copies[i], a))
                        {
                            pick = i;
                        }
                    }
                }

                if (pick < 0)
                {
                    pick = Array.IndexOf(used, false);
                }

                if (pick < 0)
                {
                    break;
                }

                used[pick] = true;
                matched.Add(copies[pick]);
                landedMatched.Add(a);
                if (offset is not null)
                {
                    delays.Add(at - copies[pick].Timestamp.Ticks / 1e7);
                }

                CompareOptions(copies[pick], a);
            }
        }

        void CompareOptions(MptcpPacket left, MptcpPacket landed)
        {
            var remaining = landed.Options.ToList();
            foreach (MptcpOption o in left.Options)
            {
                int at = remaining.FindIndex(x => x.Subtype == o.Subtype);
                if (at < 0)
                {
                    comparison.OptionsStripped++;
                    Note(MptcpCaptureDifferenceKind.OptionStripped, o.Subtype.ToString(), null, left, o.ToString(), null);
                    continue;
                }

                MptcpOption got = remaining[at];
                remaining.RemoveAt(at);
                if (got.Raw != o.Raw)
                {
                    comparison.OptionsRewritten++;
                    (string field, string was, string now) = FirstDifferentField(o, got);
                    Note(MptcpCaptureDifferenceKind.OptionRewritten, o.Subtype.ToString(), field, left, was, now);
                }
            }

            foreach (MptcpOption extra in remaining)
            {
                Note(MptcpCaptureDifferenceKind.OptionAdded, extra.Subtype.ToString(), null, left, null, extra.ToString());
            }
        }

        // Unmatched segments whose bytes all arrived in other unmatched segments were cut or merged on the way (TSO, GRO), not lost.
        var loose = new List<(uint Start, uint End)>();
        foreach (MptcpPacket a in arrived)
        {
            if (a.PayloadLength > 0 && !landedMatched.Contains(a))
            {
                loose.Add((a.Sequence, a.Sequence + (uint)a.PayloadLength));
            }
        }

        loose.Sort((a, b) => ((int)(a.Start - b.Start)).CompareTo(0));
        foreach (MptcpPacket s in sent)
        {
            if (matched.Contains(s))
            {
                continue;
            }

            if (s.PayloadLength > 0 && Covered(loose, s.Sequence, s.Sequence + (uint)s.PayloadLength))
            {
                comparison.Resegmented++;
                continue;
            }

            comparison.Lost++;
            Note(MptcpCaptureDifferenceKind.Lost, null, null, s, $"seq {s.Sequence} len {s.PayloadLength} [{s.TcpFlags}]", null);
        }

        comparison.Arrived = comparison.Sent - comparison.Lost;
        if (delays.Count > 0)
        {
            delays.Sort();
            comparison.OneWayDelayMin = TimeSpan.FromSeconds(delays[0]);
            comparison.OneWayDelayMedian = TimeSpan.FromSeconds(delays[delays.Count / 2]);
            comparison.OneWayDelayMax = TimeSpan.FromSeconds(delays[^1]);
        }

        foreach ((MptcpCaptureDifference diff, List<long> list) in frames)
        {
            diff.Frames = list.ToArray();
        }

        comparison.Differences = differences.Values.OrderBy(x => x.Kind).ThenBy(x => x.Option).ToArray();
        return comparison;
    }

    private static bool SameOptions(MptcpPacket a, MptcpPacket b) =>
        a.Options.Length == b.Options.Length && a.Options.Select(o => o.Raw).SequenceEqual(b.Options.Select(o => o.Raw));

    private static (uint, uint, int, TcpFlags) Key(MptcpPacket p) =>
        (p.Sequence, p.Acknowledgment, p.PayloadLength, p.TcpFlags & (TcpFlags.Syn | TcpFlags.Fin | TcpFlags.Rst));

    // Whether the ranges (sorted by start) hold every byte from start to end; sequence numbers compared with wrap-around.
    private static bool Covered(List<(uint Start, uint End)> ranges, uint start, uint end)
    {
        uint reached = start;
        foreach ((uint s, uint e) in ranges)
        {
            if ((int)(end - reached) <= 0)
            {
                break;
            }

            if ((int)(reached - s) >= 0 && (int)(e - reached) > 0)
            {
                reached = e;
            }
        }

        return (int)(end - reached) <= 0;
    }

    /// <summary>The first public property whose value differs between two options of one subtype.</summary>
    private static (string Field, string Sent, string Arrived) FirstDifferentField(MptcpOption sent, MptcpOption arrived)
    {
        if (sent.GetType() == arrived.GetType())
        {
            foreach (System.Reflection.PropertyInfo p in sent.GetType().GetProperties())
            {
                if (p.Name is "Raw" || p.GetIndexParameters().Length > 0)
                {
                    continue;
                }

                string a = Show(p.GetValue(sent)), b = Show(p.GetValue(arrived));
                if (a != b)
                {
                    return (p.Name, a, b);
                }
            }
        }

        return ("Raw", sent.Raw, arrived.Raw);
    }

    private static string Show(object? value) => value switch
    {
        null => "",
        byte[] bytes => Convert.ToHexString(bytes),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private sealed class SubflowView
    {
        private readonly IReadOnlyList<MptcpPacket> _packets;

        public SubflowView(MptcpConnectionSummary connection, MptcpSubflowSummary subflow, IReadOnlyList<MptcpPacket> packets)
        {
            Connection = connection;
            Subflow = subflow;
            _packets = packets;
            foreach (MptcpPacket p in packets)
            {
                bool syn = (p.TcpFlags & TcpFlags.Syn) != 0, ack = (p.TcpFlags & TcpFlags.Ack) != 0;
                if (syn && !ack && Syn is null)
                {
                    Syn = p;
                    MpJoinOption? join = p.Options.OfType<MpJoinOption>().FirstOrDefault(j => j.Form == MpJoinForm.Syn);
                    JoinToken = join?.Token;
                    JoinNonce = join?.Nonce;
                }
                else if (syn && ack && SynAck is null)
                {
                    SynAck = p;
                }
            }

            Name = $"{Fmt(subflow.ClientAddress)}:{subflow.ClientPort} > {Fmt(subflow.ServerAddress)}:{subflow.ServerPort}";
        }

        public MptcpConnectionSummary Connection { get; }
        public MptcpSubflowSummary Subflow { get; }
        public string Name { get; }
        public MptcpPacket? Syn { get; }
        public MptcpPacket? SynAck { get; }
        public uint? JoinToken { get; }
        public uint? JoinNonce { get; }
        public double? HandshakeGap => Syn is not null && SynAck is not null ? (SynAck.Timestamp - Syn.Timestamp).TotalSeconds : null;

        public List<MptcpPacket> Direction(bool fromClient) => _packets.Where(p =>
            p.Source.Equals(Subflow.ClientAddress) && p.SourcePort == Subflow.ClientPort ? fromClient : !fromClient).ToList();

        public IReadOnlyList<MptcpPacket> Packets => _packets;

        private static string Fmt(IPAddress a) => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{a}]" : a.ToString();
    }
}
