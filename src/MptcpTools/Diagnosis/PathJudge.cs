using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using MptcpTools.Kernel;
using MptcpTools.Packets;

namespace MptcpTools.Diagnosis;

/// <summary>What became of one path's handshake between the two ends.</summary>
public enum PathOutcome
{
    /// <summary>The handshake went through with its MPTCP option both ways.</summary>
    Works,
    /// <summary>MP_CAPABLE was negotiated, and the connection fell back to TCP later.</summary>
    FellBackToTcp,
    /// <summary>The client's capture never saw its SYN leave (its own firewall, or no route).</summary>
    SynNeverLeft,
    /// <summary>The SYN left and never arrived (or only its plain TCP retry arrived).</summary>
    SynDroppedOnPath,
    /// <summary>The answer left the responder and never arrived back.</summary>
    SynAckDroppedOnPath,
    /// <summary>The SYN arrived and the responder never answered it.</summary>
    SynDroppedAtServer,
    /// <summary>A handshake segment arrived without the MPTCP option it left with.</summary>
    OptionStrippedOnPath,
    /// <summary>The SYN arrived with MP_CAPABLE, and the answer left without it: the responder's socket is plain TCP.</summary>
    NotMptcpAtServer,
    /// <summary>A reset answered the SYN (nothing listens; or the join was refused).</summary>
    Refused,
    /// <summary>The SYN-ACK to a join left without MP_JOIN: the responder refused the join.</summary>
    JoinRefused,
    /// <summary>Nobody sent a SYN on this path (Detail says why, as far as the configurations tell).</summary>
    NotAttempted,
}

/// <summary>Between which ends, in which direction, something happened: host-wise (the client host and the server host).</summary>
public enum PathDirection
{
    ClientToServer,
    ServerToClient,
}

/// <summary>The verdict on one path: an address of one end to an address of the other, MP_CAPABLE on the first, MP_JOIN on the others.</summary>
public sealed class MptcpPathVerdict
{
    /// <summary>The address the SYN left from, and the one it went to.</summary>
    public string From { get; init; } = "";
    public string To { get; init; } = "";
    public PathEndRole Initiator { get; init; }
    public HandshakeOption Kind { get; init; }
    public PathOutcome Outcome { get; init; }
    /// <summary>The direction of what went wrong (null when nothing did).</summary>
    public PathDirection? Direction { get; init; }
    /// <summary>The subflow as the other end saw it, when a NAT rewrote it.</summary>
    public string? ArrivedAs { get; init; }
    public bool AddressRewritten { get; init; }
    public string Detail { get; init; } = "";
    /// <summary>Both ends' view of the handshake; null for a path nobody tried.</summary>
    public MptcpHandshakePassage? Handshake { get; init; }

    public override string ToString() => $"{Kind} {From} > {To}: {Outcome}{(Direction is { } d ? $" ({d})" : "")}";
}

/// <summary>
/// The verdict on every path of a path test, from the handshakes both captures saw and the two ends' configurations: the
/// paths the ends should open (the client's first address to the server, each client subflow endpoint to it, the client
/// to each address the server announces or was given), and any other path that was tried. Pure.
/// </summary>
public static class PathJudge
{
    public static IReadOnlyList<MptcpPathVerdict> Verdicts(PathFacts f)
    {
        var verdicts = new List<MptcpPathVerdict>();
        IReadOnlyList<MptcpHandshakePassage> passages = f.Comparison?.Handshakes ?? Array.Empty<MptcpHandshakePassage>();
        MptcpHandshakePassage? initial = passages.FirstOrDefault(p => p.Initiator == PathEndRole.Client && p.Kind == HandshakeOption.MpCapable)
            ?? passages.FirstOrDefault(p => p.Initiator == PathEndRole.Client && p.DestinationPort == f.Port && p.Kind == HandshakeOption.None);
        IPAddress? server = initial?.DestinationAddress ?? (IPAddress.TryParse(f.ServerAddress, out IPAddress? named) ? named : null);
        var used = new HashSet<MptcpHandshakePassage>();

        if (initial is null)
        {
            verdicts.Add(new MptcpPathVerdict
            {
                From = "(client)", To = server?.ToString() ?? f.ServerAddress, Initiator = PathEndRole.Client, Kind = HandshakeOption.MpCapable,
                Outcome = f.Comparison is null ? PathOutcome.NotAttempted : PathOutcome.SynNeverLeft, Direction = f.Comparison is null ? null : PathDirection.ClientToServer,
                Detail = f.Comparison is null
                    ? "The captures could not be compared (see the CheckUnavailable findings)."
                    : f.Probe is { SocketErrno: not 0 } p
                        ? $"The client could not make an MPTCP socket (errno {p.SocketErrno})."
                        : "No SYN to the server left the client: its own firewall drops it, or nothing routes it.",
            });
            return verdicts;
        }

        used.Add(initial);
        verdicts.Add(Judge(f, initial));
        bool mptcp = verdicts[0].Outcome == PathOutcome.Works;
        IPAddress source = initial.SourceAddress;

        // The joins the configurations call for: each client subflow endpoint to the server, and the client to each announced address.
        var expected = new List<(IPAddress From, IPAddress To, string Why)>();
        foreach (MptcpEndpoint e in SubflowEndpoints(f.Client).Where(e => e.Address!.AddressFamily == server!.AddressFamily && !Same(e.Address, source)))
        {
            expected.Add((e.Address!, server!, $"client endpoint {e.Id} ({e.Flags})"));
        }

        var announced = new List<(IPAddress Address, string Why)>();
        foreach (MptcpAnnouncementPassage a in f.Comparison?.Announcements.Where(a => a.From == PathEndRole.Server) ?? Enumerable.Empty<MptcpAnnouncementPassage>())
        {
            announced.Add((a.Address, $"announced by the server (ADD_ADDR id {a.AddressId}{(a.Arrived ? "" : ", which never arrived")})"));
        }

        foreach (MptcpEndpoint e in (f.Server?.Endpoints ?? Array.Empty<MptcpEndpoint>()).Where(e => (e.Flags & MptcpEndpointFlags.Signal) != 0 && e.Address is not null))
        {
            announced.Add((e.Address!, $"a signal endpoint of the server (id {e.Id})"));
        }

        foreach (IPAddress extra in f.ExtraServerAddresses)
        {
            announced.Add((extra, "given with -ServerAddress"));
        }

        foreach ((IPAddress address, string why) in announced.Where(a => a.Address.AddressFamily == server!.AddressFamily && !Same(a.Address, server)).DistinctBy(a => Unmapped(a.Address)))
        {
            expected.Add((source, address, why));
            foreach (MptcpEndpoint e in SubflowEndpoints(f.Client).Where(e => (e.Flags & MptcpEndpointFlags.Fullmesh) != 0 && e.Address!.AddressFamily == address.AddressFamily && !Same(e.Address, source)))
            {
                expected.Add((e.Address!, address, $"{why}, from fullmesh endpoint {e.Id}"));
            }
        }

        foreach ((IPAddress from, IPAddress to, string why) in expected.DistinctBy(x => (Unmapped(x.From), Unmapped(x.To))))
        {
            MptcpHandshakePassage? tried = passages.Where(p => !used.Contains(p) && p.Initiator == PathEndRole.Client && Same(p.SourceAddress, from) && Same(p.DestinationAddress, to))
                .OrderByDescending(p => p.Answer == HandshakeAnswer.SynAck && p.AnswerOptionArrived != HandshakeOption.None).FirstOrDefault();
            if (tried is not null)
            {
                used.Add(tried);
                verdicts.Add(Judge(f, tried));
                continue;
            }

            verdicts.Add(new MptcpPathVerdict
            {
                From = from.ToString(), To = to.ToString(), Initiator = PathEndRole.Client, Kind = HandshakeOption.MpJoin, Outcome = PathOutcome.NotAttempted,
                Detail = $"Expected ({why}), and never tried: {WhyNotTried(f, to, server!, mptcp)}",
            });
        }

        // Whatever else was tried: subflows the server opened towards the client, joins nobody expected.
        foreach (MptcpHandshakePassage p in passages.Where(p => !used.Contains(p)))
        {
            verdicts.Add(Judge(f, p));
        }

        return verdicts;
    }

    private static MptcpPathVerdict Judge(PathFacts f, MptcpHandshakePassage p)
    {
        PathDirection forward = p.Initiator == PathEndRole.Client ? PathDirection.ClientToServer : PathDirection.ServerToClient;
        PathDirection back = forward == PathDirection.ClientToServer ? PathDirection.ServerToClient : PathDirection.ClientToServer;
        string responder = p.Initiator == PathEndRole.Client ? "server" : "client";
        (PathOutcome outcome, PathDirection? direction, string detail) = p switch
        {
            { SynsLeft: 0, PlainSynsLeft: 0 } =>
                (PathOutcome.SynNeverLeft, (PathDirection?)forward, $"The {responder} saw a SYN the other end's capture never saw leave."),
            { Kind: HandshakeOption.None } when p.Answer == HandshakeAnswer.SynAck =>
                (PathOutcome.FellBackToTcp, null, "The SYN offered no MPTCP: the connection was plain TCP from the start."),
            { SynArrived: false } =>
                (PathOutcome.SynDroppedOnPath, forward, $"{p.SynsLeft + p.PlainSynsLeft} SYN(s) left ({p.SynsLeft} with {p.Kind}); none arrived at the {responder}."),
            { SynsArrived: 0, PlainSynsLeft: 0 } =>
                (PathOutcome.OptionStrippedOnPath, forward, $"The SYN left with {p.Kind} and arrived without it."),
            { SynsArrived: 0 } =>
                (PathOutcome.SynDroppedOnPath, forward, $"{p.SynsLeft} SYN(s) with {p.Kind} left and none arrived; the kernel's {p.PlainSynsLeft} plain TCP retry(ies) did, so the connection fell back to TCP."),
            { PlainSynsLeft: > 0 } when p.AnswerOption == HandshakeOption.None =>
                (PathOutcome.SynDroppedAtServer, forward, $"{p.SynsArrived} SYN(s) with {p.Kind} arrived at the {responder} and got no answer; only the kernel's plain TCP retry was answered."),
            { Answer: HandshakeAnswer.None } =>
                (PathOutcome.SynDroppedAtServer, forward, $"{p.SynsArrived} SYN(s) with {p.Kind} arrived at the {responder}, which never answered."),
            { Answer: HandshakeAnswer.Reset } =>
                (PathOutcome.Refused, back, $"The {responder} answered the {p.Kind} SYN with a reset."),
            { AnswerOption: HandshakeOption.None, Kind: HandshakeOption.MpCapable } =>
                (PathOutcome.NotMptcpAtServer, back, $"The SYN arrived with MP_CAPABLE; the {responder}'s SYN-ACK left without it (its socket is plain TCP)."),
            { AnswerOption: HandshakeOption.None } =>
                (PathOutcome.JoinRefused, back, $"The join arrived; the {responder}'s SYN-ACK left without MP_JOIN."),
            { AnswerArrived: false } =>
                (PathOutcome.SynAckDroppedOnPath, back, $"The {responder}'s SYN-ACK with {p.AnswerOption} left and never arrived."),
            { AnswerOptionArrived: HandshakeOption.None } =>
                (PathOutcome.OptionStrippedOnPath, back, $"The {responder}'s SYN-ACK left with {p.AnswerOption} and arrived without it."),
            { AckOptionLeft: true, AckOptionArrived: false } when p.Kind == HandshakeOption.MpCapable =>
                (PathOutcome.OptionStrippedOnPath, forward, "The third ACK left with MP_CAPABLE and arrived without it."),
            _ => (PathOutcome.Works, null, $"{p.Kind} went through both ways."),
        };

        if (outcome == PathOutcome.Works && p.Kind == HandshakeOption.MpCapable && f.Probe is { ConnectErrno: 0, IsMptcp: false })
        {
            (outcome, detail) = (PathOutcome.FellBackToTcp, "MP_CAPABLE went through both ways, and the connection fell back to TCP afterwards.");
        }

        return new MptcpPathVerdict
        {
            From = p.SourceAddress.ToString(), To = p.DestinationAddress.ToString(), Initiator = p.Initiator, Kind = p.Kind == HandshakeOption.None ? HandshakeOption.MpCapable : p.Kind,
            Outcome = outcome, Direction = direction, AddressRewritten = p.AddressRewritten, ArrivedAs = p.AddressRewritten ? p.SubflowArrived : null,
            Detail = detail + (p.AddressRewritten ? $" It arrived as {p.SubflowArrived} (NAT)." : ""), Handshake = p,
        };
    }

    // Why the client opened no subflow to an address, as far as the two configurations say.
    private static string WhyNotTried(PathFacts f, IPAddress to, IPAddress server, bool mptcp)
    {
        MptcpKernelState? c = f.Client?.Kernel;
        bool announcedAddress = !Same(to, server);
        MptcpAnnouncementPassage? announcement = f.Comparison?.Announcements.FirstOrDefault(a => a.From == PathEndRole.Server && Same(a.Address, to));
        return true switch
        {
            _ when !mptcp => "the first subflow did not get MPTCP, so no other was opened.",
            _ when c?.PathManager == "userspace" => "the client's path manager is the userspace one: its daemon decides which subflows to open.",
            _ when c?.Limits is { Subflows: 0 } => "the client's subflows limit is 0.",
            _ when announcedAddress && announcement is null => "the server never announced it (it has no signal endpoint for it).",
            _ when announcedAddress && announcement is { Arrived: false } => "its announcement (ADD_ADDR) left the server and never arrived at the client.",
            _ when announcedAddress && c?.Limits is { AddAddrAccepted: 0 } => "the client's add_addr_accepted limit is 0: it ignores addresses the server announces.",
            _ when f.Server?.Kernel?.Limits is { Subflows: 0 } => "the server's subflows limit is 0.",
            _ => "the client's path manager did not open it (its limits allow it; see its endpoints and Get-MptcpEvent).",
        };
    }

    internal static IEnumerable<MptcpEndpoint> SubflowEndpoints(HostFacts? h) => (h?.Endpoints ?? Array.Empty<MptcpEndpoint>())
        .Where(e => e.Address is not null && (e.Flags & MptcpEndpointFlags.Implicit) == 0 && (e.Flags & (MptcpEndpointFlags.Subflow | MptcpEndpointFlags.Fullmesh)) != 0);

    internal static bool Same(IPAddress? a, IPAddress? b) => a is not null && b is not null && Unmapped(a).Equals(Unmapped(b));

    internal static IPAddress Unmapped(IPAddress a) => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a;
}

/// <summary>What Test-MptcpPath found: a verdict per path, the subflows compared per direction, and the findings.</summary>
public sealed class MptcpPathTest
{
    public string Client { get; init; } = "";
    public string Server { get; init; } = "";
    public string ServerAddress { get; init; } = "";
    public int Port { get; init; }
    /// <summary>Whether the server listened with the module's own MPTCP listener, or the real service answered (-Port).</summary>
    public bool OwnListener { get; init; }
    /// <summary>The client's connection, as its own socket saw it.</summary>
    public MptcpConnectivityResult? Connection { get; init; }
    public MptcpPathVerdict[] Paths { get; init; } = Array.Empty<MptcpPathVerdict>();
    /// <summary>Each subflow and direction, compared across the two captures (the client's is the reference).</summary>
    public MptcpSubflowComparison[] Subflows { get; init; } = Array.Empty<MptcpSubflowComparison>();
    public MptcpAnnouncementPassage[] Announcements { get; init; } = Array.Empty<MptcpAnnouncementPassage>();
    public MptcpFinding[] Findings { get; init; } = Array.Empty<MptcpFinding>();
    // ConvertTo-Json writes ElapsedSeconds instead, a number a monitoring system reads.
    [System.Management.Automation.Hidden]
    [Newtonsoft.Json.JsonIgnore]
    public TimeSpan Elapsed { get; init; }
    public double ElapsedSeconds => Elapsed.TotalSeconds;
    /// <summary>Everything both ends gathered (PathFacts.ToJson() saves it; the rules judge nothing else).</summary>
    public PathFacts Facts { get; init; } = new();

    public override string ToString() => $"{Client} > {Server}:{Port}: {Paths.Count(p => p.Outcome == PathOutcome.Works)} of {Paths.Length} path(s) work";
}

/// <summary>Judges a path test's facts: the verdicts, then the findings.</summary>
public static class PathDiagnosis
{
    public static MptcpPathTest Judge(PathFacts f)
    {
        IReadOnlyList<MptcpPathVerdict> verdicts = PathJudge.Verdicts(f);
        List<MptcpFinding> findings = PathRules.Instance.Evaluate(f, verdicts);
        return new MptcpPathTest
        {
            Client = f.ClientName, Server = f.ServerName, ServerAddress = f.ServerAddress, Port = f.Port, OwnListener = f.OwnListener,
            Connection = f.Probe is { } p ? ConnectivityJudge.Result(p, f.ServerAddress, null) : null,
            Paths = verdicts.ToArray(), Subflows = f.Comparison?.Subflows ?? Array.Empty<MptcpSubflowComparison>(),
            Announcements = f.Comparison?.Announcements ?? Array.Empty<MptcpAnnouncementPassage>(), Findings = findings.ToArray(), Elapsed = f.Elapsed, Facts = f,
        };
    }
}
