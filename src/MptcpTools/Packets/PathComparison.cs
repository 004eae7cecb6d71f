using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;

namespace MptcpTools.Packets;

/// <summary>Which end of a two-ended test a capture, or a subflow's first SYN, belongs to.</summary>
public enum PathEndRole
{
    Client,
    Server,
}

/// <summary>What a SYN, or its answer, carried of MPTCP.</summary>
public enum HandshakeOption
{
    None,
    MpCapable,
    MpJoin,
}

/// <summary>What answered a SYN.</summary>
public enum HandshakeAnswer
{
    None,
    SynAck,
    Reset,
}

/// <summary>One segment of a handshake where a capture saw it: frame, time, flags and its MPTCP options as decoded.</summary>
public sealed class HandshakeSighting
{
    public PathEndRole SeenAt { get; init; }
    public long Frame { get; init; }
    public DateTime Time { get; init; }
    public string Segment { get; init; } = "";

    public override string ToString() => $"{SeenAt} frame {Frame}: {Segment}";
}

/// <summary>
/// The handshake of one subflow, seen from both ends at once: the SYN as it left its initiator and whether (and how) it
/// arrived, and the answer as it left the responder and whether (and how) it arrived back. Facts only: the verdict on
/// the path is the diagnosis's.
/// </summary>
public sealed class MptcpHandshakePassage
{
    /// <summary>The end that sent the SYN.</summary>
    public PathEndRole Initiator { get; init; }
    /// <summary>The MPTCP option of the first SYN, as it left.</summary>
    public HandshakeOption Kind { get; init; }
    /// <summary>The subflow as the initiator's capture shows it ("address:port > address:port").</summary>
    public string Subflow { get; init; } = "";
    public IPAddress SourceAddress { get; init; } = IPAddress.None;
    public ushort SourcePort { get; init; }
    public IPAddress DestinationAddress { get; init; } = IPAddress.None;
    public ushort DestinationPort { get; init; }
    /// <summary>The subflow as the responder's capture shows it; null when its SYN never arrived there.</summary>
    public string? SubflowArrived { get; init; }
    public IPAddress? ArrivedSourceAddress { get; init; }
    public ushort? ArrivedSourcePort { get; init; }
    public IPAddress? ArrivedDestinationAddress { get; init; }
    public ushort? ArrivedDestinationPort { get; init; }
    /// <summary>How the two captures' subflows were matched: Keys, JoinToken, SequenceNumbers, FourTuple, or NotFound.</summary>
    public string MatchedBy { get; init; } = "";
    /// <summary>SYNs that left with the MPTCP option (the first and its retransmissions), and without it (the kernel's retries as plain TCP).</summary>
    public int SynsLeft { get; init; }
    public int PlainSynsLeft { get; init; }
    /// <summary>SYNs that arrived at the responder, with the option and without it.</summary>
    public int SynsArrived { get; init; }
    public int PlainSynsArrived { get; init; }
    /// <summary>What the responder sent back, and what of MPTCP it carried, as it left (to the first SYN that arrived).</summary>
    public HandshakeAnswer Answer { get; init; }
    public HandshakeOption AnswerOption { get; init; }
    /// <summary>Whether that answer arrived at the initiator, and what it carried there.</summary>
    public bool AnswerArrived { get; init; }
    public HandshakeOption AnswerOptionArrived { get; init; }
    /// <summary>The third ACK carried MP_CAPABLE or MP_JOIN as it left, and as it arrived.</summary>
    public bool AckOptionLeft { get; init; }
    public bool AckOptionArrived { get; init; }
    /// <summary>The segments of the handshake, where each end saw them (at most 12).</summary>
    public HandshakeSighting[] Sightings { get; init; } = Array.Empty<HandshakeSighting>();

    public bool SynArrived => SynsArrived + PlainSynsArrived > 0;
    public bool AddressRewritten => ArrivedSourceAddress is { } a && (!a.Equals(SourceAddress) || ArrivedSourcePort != SourcePort
        || ArrivedDestinationAddress?.Equals(DestinationAddress) == false || ArrivedDestinationPort != DestinationPort);

    public override string ToString() =>
        $"{Initiator} {Kind} {Subflow}: {SynsLeft}+{PlainSynsLeft} SYN left, {SynsArrived}+{PlainSynsArrived} arrived; {Answer} {AnswerOption}" +
        (AnswerArrived ? $", arrived {AnswerOptionArrived}" : ", did not arrive");
}

/// <summary>The captures at both ends of one test, matched: each subflow's handshake, and each subflow and direction compared.</summary>
public sealed class MptcpPathComparison
{
    public MptcpHandshakePassage[] Handshakes { get; internal set; } = Array.Empty<MptcpHandshakePassage>();
    /// <summary>Per subflow and direction (the reference capture is the client's), as Compare-MptcpCapture -Summary gives them.</summary>
    public MptcpSubflowComparison[] Subflows { get; internal set; } = Array.Empty<MptcpSubflowComparison>();
    /// <summary>Addresses the server announced (ADD_ADDR as it left the server), and whether each arrived at the client.</summary>
    public MptcpAnnouncementPassage[] Announcements { get; internal set; } = Array.Empty<MptcpAnnouncementPassage>();
    // ConvertTo-Json writes ClockOffsetMilliseconds instead.
    [System.Management.Automation.Hidden]
    [Newtonsoft.Json.JsonIgnore]
    public TimeSpan? ClockOffset { get; internal set; }
    public double? ClockOffsetMilliseconds => ClockOffset?.TotalMilliseconds;
    public long ClientFrames { get; internal set; }
    public long ServerFrames { get; internal set; }
}

/// <summary>An ADD_ADDR as it left one end, and whether it arrived at the other.</summary>
public sealed class MptcpAnnouncementPassage
{
    public PathEndRole From { get; init; }
    public byte AddressId { get; init; }
    public IPAddress Address { get; init; } = IPAddress.None;
    public ushort? Port { get; init; }
    public bool Arrived { get; init; }

    public override string ToString() => $"{From} announced id {AddressId} {Address}{(Port is { } p ? $" port {p}" : "")}: {(Arrived ? "arrived" : "did not arrive")}";
}

public static partial class CaptureComparer
{
    private const int MaxSightings = 12;

    /// <summary>
    /// Matches the captures taken at the two ends of a test (as <see cref="Compare(CaptureRecording, CaptureRecording)"/> matches
    /// any two captures), including subflows only the server's capture saw, and says for each subflow how its handshake
    /// went from the end that sent its SYN to the other. <paramref name="isClientAddress"/> tells the client's own addresses.
    /// </summary>
    public static MptcpPathComparison ComparePaths(CaptureRecording atClient, CaptureRecording atServer, Func<IPAddress, bool> isClientAddress)
    {
        List<SubflowView> client = Views(atClient);
        List<SubflowView> server = Views(atServer);
        var pairs = Match(client, server).Select(p => (Client: (SubflowView?)p.Reference, Server: p.Difference, p.How)).ToList();
        var matched = new HashSet<SubflowView>(pairs.Where(p => p.Server is not null).Select(p => p.Server!));
        pairs.AddRange(server.Where(s => !matched.Contains(s)).Select(s => (Client: (SubflowView?)null, Server: (SubflowView?)s, How: "NotFound")));

        TimeSpan? offset = ClockOffset(pairs.Select(p => (p.Client, p.Server)));
        var handshakes = new List<MptcpHandshakePassage>();
        var subflows = new List<MptcpSubflowComparison>();
        foreach ((SubflowView? c, SubflowView? s, string how) in pairs)
        {
            SubflowView any = c ?? s!;
            PathEndRole initiator = isClientAddress(any.Subflow.ClientAddress) ? PathEndRole.Client : PathEndRole.Server;
            SubflowView? atInitiator = initiator == PathEndRole.Client ? c : s;
            SubflowView? atResponder = initiator == PathEndRole.Client ? s : c;
            if (atInitiator?.Syn is not null || atResponder?.Syn is not null)
            {
                handshakes.Add(Passage(initiator, atInitiator, atResponder, how));
            }

            if (c is not null)
            {
                for (int dir = 0; dir < 2; dir++)
                {
                    subflows.Add(CompareDirection(c, s, how, (MptcpDataDirection)dir, offset, referenceAtInitiator: initiator == PathEndRole.Client));
                }
            }
        }

        return new MptcpPathComparison
        {
            Handshakes = handshakes.ToArray(),
            Subflows = subflows.ToArray(),
            Announcements = Announcements(atServer, atClient, PathEndRole.Server).Concat(Announcements(atClient, atServer, PathEndRole.Client)).ToArray(),
            ClockOffset = offset,
            ClientFrames = atClient.Frames,
            ServerFrames = atServer.Frames,
        };
    }

    // The ADD_ADDRs that left an end (not echoes), and whether the other end's capture saw the same announcement.
    private static IEnumerable<MptcpAnnouncementPassage> Announcements(CaptureRecording sender, CaptureRecording receiver, PathEndRole from)
    {
        // The connection is the client's (it sent the MP_CAPABLE SYN), so the tracker names the server's announcements "Server".
        string announcer = from == PathEndRole.Server ? "Server" : "Client";
        var arrived = receiver.Subflows().Select(x => x.Connection).Distinct().SelectMany(c => c.AddAddr)
            .Where(a => a.From == announcer).Select(a => (a.AddressId, a.Address)).ToHashSet();
        foreach (MptcpAddressAnnouncement a in sender.Subflows().Select(x => x.Connection).Distinct().SelectMany(c => c.AddAddr).Where(a => a.From == announcer))
        {
            yield return new MptcpAnnouncementPassage { From = from, AddressId = a.AddressId, Address = a.Address, Port = a.Port, Arrived = arrived.Contains((a.AddressId, a.Address)) };
        }
    }

    private static MptcpHandshakePassage Passage(PathEndRole initiator, SubflowView? atInitiator, SubflowView? atResponder, string how)
    {
        PathEndRole responder = initiator == PathEndRole.Client ? PathEndRole.Server : PathEndRole.Client;
        static bool IsSyn(MptcpPacket p) => (p.TcpFlags & TcpFlags.Syn) != 0 && (p.TcpFlags & TcpFlags.Ack) == 0;
        static bool IsSynAck(MptcpPacket p) => (p.TcpFlags & (TcpFlags.Syn | TcpFlags.Ack)) == (TcpFlags.Syn | TcpFlags.Ack);
        static bool IsReset(MptcpPacket p) => (p.TcpFlags & TcpFlags.Rst) != 0;
        static HandshakeOption OptionOf(MptcpPacket? p) =>
            p is null ? HandshakeOption.None
            : p.Options.Any(o => o.Subtype == MptcpSubtype.MpCapable) ? HandshakeOption.MpCapable
            : p.Options.Any(o => o.Subtype == MptcpSubtype.MpJoin) ? HandshakeOption.MpJoin
            : HandshakeOption.None;

        // Each view's "client" is the end that sent the SYN: segments from it, and segments to it.
        List<MptcpPacket> leftInit = atInitiator?.Direction(fromClient: true) ?? new List<MptcpPacket>();
        List<MptcpPacket> backAtInit = atInitiator?.Direction(fromClient: false) ?? new List<MptcpPacket>();
        List<MptcpPacket> arrivedAtResp = atResponder?.Direction(fromClient: true) ?? new List<MptcpPacket>();
        List<MptcpPacket> leftResp = atResponder?.Direction(fromClient: false) ?? new List<MptcpPacket>();

        List<MptcpPacket> synsLeft = leftInit.Where(IsSyn).ToList();
        List<MptcpPacket> synsArrived = arrivedAtResp.Where(IsSyn).ToList();
        HandshakeOption kind = OptionOf(synsLeft.FirstOrDefault() ?? synsArrived.FirstOrDefault());
        MptcpPacket? answer = leftResp.FirstOrDefault(p => IsSynAck(p) || IsReset(p));
        MptcpPacket? answerBack = answer is null ? null : backAtInit.FirstOrDefault(p => (IsSynAck(answer) ? IsSynAck(p) : IsReset(p)) && p.Sequence == answer.Sequence);
        bool ackCarries(MptcpPacket p) => !IsSyn(p) && (p.TcpFlags & TcpFlags.Ack) != 0 && OptionOf(p) != HandshakeOption.None;
        MptcpPacket? ackLeft = leftInit.FirstOrDefault(ackCarries);

        var sightings = new List<HandshakeSighting>();
        void See(PathEndRole at, IEnumerable<MptcpPacket> packets)
        {
            foreach (MptcpPacket p in packets.Where(p => (p.TcpFlags & (TcpFlags.Syn | TcpFlags.Rst)) != 0).Take(MaxSightings / 2))
            {
                sightings.Add(new HandshakeSighting { SeenAt = at, Frame = p.Number, Time = p.Timestamp, Segment = p.ToString() });
            }
        }

        See(initiator, atInitiator?.Packets ?? Array.Empty<MptcpPacket>());
        See(responder, atResponder?.Packets ?? Array.Empty<MptcpPacket>());
        SubflowView any = atInitiator ?? atResponder!;
        return new MptcpHandshakePassage
        {
            Initiator = initiator,
            Kind = kind,
            Subflow = any.Name,
            SourceAddress = any.Subflow.ClientAddress,
            SourcePort = any.Subflow.ClientPort,
            DestinationAddress = any.Subflow.ServerAddress,
            DestinationPort = any.Subflow.ServerPort,
            SubflowArrived = atResponder?.Name,
            ArrivedSourceAddress = atResponder?.Subflow.ClientAddress,
            ArrivedSourcePort = atResponder?.Subflow.ClientPort,
            ArrivedDestinationAddress = atResponder?.Subflow.ServerAddress,
            ArrivedDestinationPort = atResponder?.Subflow.ServerPort,
            MatchedBy = how,
            SynsLeft = synsLeft.Count(p => OptionOf(p) != HandshakeOption.None),
            PlainSynsLeft = synsLeft.Count(p => OptionOf(p) == HandshakeOption.None),
            SynsArrived = synsArrived.Count(p => OptionOf(p) != HandshakeOption.None),
            PlainSynsArrived = synsArrived.Count(p => OptionOf(p) == HandshakeOption.None),
            Answer = answer is null ? HandshakeAnswer.None : IsSynAck(answer) ? HandshakeAnswer.SynAck : HandshakeAnswer.Reset,
            AnswerOption = OptionOf(answer),
            AnswerArrived = answerBack is not null,
            AnswerOptionArrived = OptionOf(answerBack),
            AckOptionLeft = ackLeft is not null,
            AckOptionArrived = ackLeft is not null && arrivedAtResp.Any(p => p.Sequence == ackLeft.Sequence && ackCarries(p)),
            Sightings = sightings.OrderBy(x => x.Time).Take(MaxSightings).ToArray(),
        };
    }
}
