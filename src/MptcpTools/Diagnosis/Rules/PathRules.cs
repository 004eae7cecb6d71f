using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using MptcpTools.Kernel;
using MptcpTools.Packets;

namespace MptcpTools.Diagnosis;

/// <summary>What one end of a path test saw and has, beside a finding about the path: the evidence of both sides.</summary>
public sealed class MptcpPathEndEvidence
{
    public string ComputerName { get; init; } = "";
    public PathEndRole Role { get; init; }
    /// <summary>The handshake's segments as this end's capture saw them.</summary>
    public HandshakeSighting[] Sightings { get; init; } = Array.Empty<HandshakeSighting>();
    /// <summary>This end's firewall rules that drop or strip MPTCP (none: not this end's firewall).</summary>
    public FirewallRuleFinding[] Rules { get; init; } = Array.Empty<FirewallRuleFinding>();
    public IReadOnlyList<MptcpEndpoint> Endpoints { get; init; } = Array.Empty<MptcpEndpoint>();
    public MptcpLimit? Limits { get; init; }
    /// <summary>The MPTcpExt counters that changed at this end during the test.</summary>
    public Dictionary<string, long> Counters { get; init; } = new();

    public override string ToString() =>
        $"{Role} {ComputerName}: {Sightings.Length} segment(s) seen, {(Rules.Length == 0 ? "no rule touching MPTCP" : string.Join("; ", Rules.Select(r => r.Rule)))}";
}

/// <summary>
/// What only the two ends of a path can tell together, judged from both ends' facts and the verdict on each path: SYNs
/// dropped on the path or at the server, options stripped on the way (with the direction), a server that answers as
/// plain TCP, NAT; and the two configurations judged together (endpoint roles, limits). Each finding names the host it
/// is about and carries both ends' evidence. Pure.
/// </summary>
internal sealed class PathRules : FindingRule
{
    public static PathRules Instance { get; } = new();

    // Ids the two-ended judgment gives for a host's configuration, instead of the one-host rules' versions.
    private static readonly string[] TwoEnded = { FindingIds.EndpointRoleMismatch, FindingIds.AddAddrAcceptedZero, FindingIds.SubflowLimitZero };

    private PathRules() : base(FindingComponent.Path, FindingIds.PathStripsMptcpOption, FindingIds.PathDropsMptcpSyn, FindingIds.ServerDropsMptcpSyn,
        FindingIds.ServerNotListeningMptcp, FindingIds.NatRewritesSubflow, FindingIds.EndpointRoleMismatch, FindingIds.AddAddrAcceptedZero,
        FindingIds.SubflowLimitZero, FindingIds.FirewallStripsMptcpOption, FindingIds.JoinRejected, FindingIds.FallbackAfterHandshake, FindingIds.CheckUnavailable)
    {
    }

    public List<MptcpFinding> Evaluate(PathFacts f, IReadOnlyList<MptcpPathVerdict> verdicts)
    {
        var findings = new List<MptcpFinding>();
        var client = new End(f, PathEndRole.Client);
        var server = new End(f, PathEndRole.Server);
        End Of(PathEndRole role) => role == PathEndRole.Client ? client : server;
        End Sender(MptcpPathVerdict v) => v.Direction == PathDirection.ServerToClient ? server : client;
        End Responder(MptcpPathVerdict v) => v.Initiator == PathEndRole.Client ? server : client;
        object[] Both(MptcpPathVerdict? v, params object?[] more) =>
            new object?[] { v, client.Evidence(v?.Handshake), server.Evidence(v?.Handshake) }.Concat(more).OfType<object>().ToArray();
        string Path(MptcpPathVerdict v) => $"{v.Kind} {v.From} > {v.To}";
        var namedRules = new HashSet<FirewallRuleFinding>();

        foreach (UnavailableAtEnd u in f.Unavailable)
        {
            findings.Add(Finding(FindingIds.CheckUnavailable, FindingSeverity.Information, $"The {u.Check} of the path test could not be done on {u.ComputerName}.", u.Reason,
                "See Detail; both ends need root (captures, the path manager) and the module.", new object[] { u }, component: u.Component, computerName: u.ComputerName));
        }

        foreach (MptcpPathVerdict v in verdicts)
        {
            switch (v.Outcome)
            {
                case PathOutcome.SynDroppedOnPath or PathOutcome.SynAckDroppedOnPath:
                {
                    End from = Sender(v), to = v.Direction == PathDirection.ServerToClient ? client : server;
                    string what = v.Outcome == PathOutcome.SynAckDroppedOnPath ? $"SYN-ACK of {Path(v)}" : $"{v.Kind} SYN of {v.From} > {v.To}";
                    findings.Add(Finding(FindingIds.PathDropsMptcpSyn, FindingSeverity.Error,
                        $"The {what} left {from.Name} and never arrived at {to.Name}: the path drops it ({v.Direction}).",
                        v.Detail + (from.Rules.Length + to.Rules.Length == 0 ? " Neither end's firewall has a rule that drops MPTCP: it is the path." : ""),
                        $"Find what drops TCP option 30 between {v.From} and {v.To}: the routers' firewalls (nft list ruleset, iptables-save), a middlebox that drops unknown options, source routing for {v.From}; let MPTCP through.",
                        Both(v), computerName: from.Name));
                    break;
                }

                case PathOutcome.SynDroppedAtServer:
                {
                    End at = Responder(v);
                    FirewallRuleFinding[] drops = at.Rules.Where(r => r.Effect == FirewallEffect.DropsMptcpOption).ToArray();
                    namedRules.UnionWith(drops);
                    findings.Add(Stamped(Finding(FindingIds.ServerDropsMptcpSyn, FindingSeverity.Error,
                        drops.Length > 0
                            ? $"{at.Name} drops the {v.Kind} SYNs that reach it: {string.Join("; ", drops.Select(r => $"{r.Source} {string.Join(" ", new[] { r.Family, r.Table, r.Chain }.Where(x => !string.IsNullOrEmpty(x)))} '{r.Rule}'"))}."
                            : $"{at.Name} never answers the {v.Kind} SYNs that reach it, and no rule of its nftables or iptables drops them.",
                        v.Detail,
                        drops.Length > 0
                            ? $"On {at.Name}, delete or narrow the rule ({string.Join("; ", drops.Select(r => r.Repair?.Command ?? r.Rule))}); Repair-MptcpConfiguration -Force there does it."
                            : $"Look on {at.Name} for what else drops them: an eBPF or XDP program (bpftool prog), a full SYN backlog, net.mptcp.enabled there.",
                        Both(v, drops.Cast<object>().ToArray()), drops.Select(r => r.Repair).OfType<MptcpRepair>().ToArray(), computerName: at.Name), at));
                    break;
                }

                case PathOutcome.OptionStrippedOnPath:
                {
                    End from = Sender(v), to = v.Direction == PathDirection.ServerToClient ? client : server;
                    bool forward = (v.Initiator == PathEndRole.Client) == (v.Direction == PathDirection.ClientToServer);
                    string what = forward ? $"{v.Kind}" : $"The SYN-ACK's {v.Kind}";
                    findings.Add(Finding(FindingIds.PathStripsMptcpOption, FindingSeverity.Error,
                        $"{what} of {v.From} > {v.To} is stripped on the way from {from.Name} to {to.Name} ({v.Direction}).",
                        v.Detail + " Neither end's capture shows it removed before it left or after it arrived: it is the path.",
                        $"Find the device between {from.Name} and {to.Name} that strips TCP option 30 in this direction (TCPOPTSTRIP, 'reset tcp option mptcp', a proxy) and exempt MPTCP.",
                        Both(v), computerName: from.Name));
                    break;
                }

                case PathOutcome.NotMptcpAtServer:
                {
                    End at = Responder(v);
                    FirewallRuleFinding[] strips = at.Rules.Where(r => r.Effect == FirewallEffect.StripsMptcpOption).ToArray();
                    if (strips.Length > 0)
                    {
                        namedRules.UnionWith(strips);
                        findings.Add(Stamped(Finding(FindingIds.FirewallStripsMptcpOption, FindingSeverity.Error,
                            $"{at.Name}'s own firewall strips MP_CAPABLE from the SYNs that reach it, so it answers as plain TCP: {string.Join("; ", strips.Select(r => $"'{r.Rule}'"))}.",
                            v.Detail, $"On {at.Name}, delete the rule ({string.Join("; ", strips.Select(r => r.Repair?.Command ?? r.Rule))}).",
                            Both(v, strips.Cast<object>().ToArray()), strips.Select(r => r.Repair).OfType<MptcpRepair>().ToArray(), computerName: at.Name), at));
                        break;
                    }

                    PlainTcpUse[] plain = at.PlainOnPort(f.Port);
                    string who = plain.Select(x => x.Owner).OfType<ProcessFacts>().Select(o => $"{o.Name} ({o.ProcessId})").FirstOrDefault() ?? "a program";
                    findings.Add(Finding(FindingIds.ServerNotListeningMptcp, FindingSeverity.Error,
                        $"{at.Name} answers MPTCP on port {f.Port} as plain TCP: {who} listens there with a plain TCP socket.",
                        v.Detail, $"Make the service on {at.Name} use MPTCP (its own switch, mptcpize, or an IPPROTO_MPTCP socket): Test-MptcpApplication there names the way for {who}.",
                        Both(v, plain.Cast<object>().ToArray()), computerName: at.Name));
                    break;
                }

                case PathOutcome.Refused when v.Kind == HandshakeOption.MpCapable:
                {
                    End at = Responder(v);
                    findings.Add(Finding(FindingIds.ServerNotListeningMptcp, FindingSeverity.Error,
                        $"Nothing listens on port {f.Port} at {at.Name}: the MP_CAPABLE SYN got a reset.",
                        v.Detail, $"Start the service on {at.Name}, or run Test-MptcpPath without -Port to test with a listener of its own.", Both(v), computerName: at.Name));
                    break;
                }

                case PathOutcome.Refused or PathOutcome.JoinRefused:
                {
                    End at = Responder(v);
                    if (at.Facts?.Kernel?.Limits is { Subflows: 0 } limits)
                    {
                        findings.Add(Stamped(Finding(FindingIds.SubflowLimitZero, FindingSeverity.Error,
                            $"{at.Name} refuses the join {v.From} > {v.To}: its subflows limit is 0.", v.Detail,
                            $"On {at.Name}: Set-MptcpLimit -Subflows 2 (ip mptcp limits set subflows 2).", Both(v, limits), at.Repairs(FindingIds.SubflowLimitZero), computerName: at.Name), at));
                    }
                    else
                    {
                        findings.Add(Finding(FindingIds.JoinRejected, FindingSeverity.Error, $"{at.Name} refuses the join {v.From} > {v.To}.", v.Detail,
                            $"Check {at.Name}'s limits and endpoints (Get-MptcpLimit, Get-MptcpEndpoint there) and its counters (Get-MptcpCounter -Group JoinFailures).",
                            Both(v), computerName: at.Name));
                    }

                    break;
                }

                case PathOutcome.FellBackToTcp when v.Handshake?.Kind == HandshakeOption.MpCapable:
                    findings.Add(Finding(FindingIds.FallbackAfterHandshake, FindingSeverity.Error, $"{Path(v)} negotiated MPTCP, then fell back to TCP.", v.Detail,
                        "Something on the path alters the stream after the handshake (payload or sequence rewriting): the per-subflow comparison shows where.", Both(v), computerName: client.Name));
                    break;
            }

            if (v.AddressRewritten)
            {
                End from = Of(v.Initiator);
                findings.Add(Finding(FindingIds.NatRewritesSubflow, v.Outcome == PathOutcome.Works ? FindingSeverity.Information : FindingSeverity.Warning,
                    $"A NAT rewrites {from.Name}'s subflow {v.Handshake!.Subflow}: it arrives as {v.ArrivedAs}.",
                    $"Matched across the captures by {v.Handshake.MatchedBy}. {(v.Outcome == PathOutcome.Works ? "The subflow works through it." : $"The subflow does not work ({v.Outcome}).")}",
                    v.Outcome == PathOutcome.Works ? "Nothing to do while it works; MPTCP matches joins by token, not by address." : "Exempt MPTCP's subflows from the NAT, or give the client a routable address for this path.",
                    Both(v), computerName: from.Name));
            }
        }

        // Options stripped from the data and signalling segments (a handshake that went through can still lose its DSS or ADD_ADDR later).
        foreach (var group in (f.Comparison?.Subflows ?? Array.Empty<MptcpSubflowComparison>())
                     .SelectMany(s => s.Differences.Where(d => d.Kind == MptcpCaptureDifferenceKind.OptionStripped && d.Option is not (nameof(MptcpSubtype.MpCapable) or nameof(MptcpSubtype.MpJoin)))
                         .Select(d => (Sender: s.SentIn == CaptureSide.Reference ? client : server, Difference: d)))
                     .GroupBy(x => x.Sender))
        {
            End from = group.Key, to = from == client ? server : client;
            PathDirection direction = from == client ? PathDirection.ClientToServer : PathDirection.ServerToClient;
            if (findings.Any(x => x.Id == FindingIds.PathStripsMptcpOption && x.ComputerName == from.Name))
            {
                continue;
            }

            MptcpCaptureDifference[] diffs = group.Select(x => x.Difference).ToArray();
            findings.Add(Finding(FindingIds.PathStripsMptcpOption, FindingSeverity.Error,
                $"{string.Join(", ", diffs.Select(d => d.Option).Distinct())} is stripped on the way from {from.Name} to {to.Name} ({direction}): {diffs.Sum(d => d.Count)} option(s) left and did not arrive.",
                string.Join(" ", diffs.Select(d => $"{d.Subflow}: {d.Option} x{d.Count}, first '{d.SentValue}'.")),
                $"Find the device between {from.Name} and {to.Name} that strips TCP option 30 in this direction, and exempt MPTCP.",
                new object[] { client.Evidence(null), server.Evidence(null) }.Concat(diffs).ToArray(), computerName: from.Name));
        }

        findings.AddRange(TwoEndedConfiguration(f, client, server));
        findings.AddRange(Passes(f, findings, client, server));
        findings.AddRange(HostFindings(client, namedRules));
        findings.AddRange(HostFindings(server, namedRules));
        return findings.OrderBy(x => x.Severity).ToList();
    }

    // The two configurations together: endpoints in the role each end plays, and limits that let the paths the other end offers be used.
    private IEnumerable<MptcpFinding> TwoEndedConfiguration(PathFacts f, End client, End server)
    {
        var signal = (f.Server?.Endpoints ?? Array.Empty<MptcpEndpoint>()).Where(e => (e.Flags & MptcpEndpointFlags.Signal) != 0 && (e.Flags & MptcpEndpointFlags.Implicit) == 0).ToList();
        var serverSubflow = PathJudge.SubflowEndpoints(f.Server).Where(e => (e.Flags & MptcpEndpointFlags.Signal) == 0).ToList();
        var clientSignal = (f.Client?.Endpoints ?? Array.Empty<MptcpEndpoint>()).Where(e => (e.Flags & MptcpEndpointFlags.Signal) != 0 && (e.Flags & MptcpEndpointFlags.Implicit) == 0).ToList();
        var clientSubflow = PathJudge.SubflowEndpoints(f.Client).ToList();
        MptcpAnnouncementPassage[] announced = f.Comparison?.Announcements.Where(a => a.From == PathEndRole.Server).ToArray() ?? Array.Empty<MptcpAnnouncementPassage>();
        bool serverAnnounces = signal.Count > 0 || announced.Length > 0;
        object[] Ends() => new object[] { client.Evidence(null), server.Evidence(null) };

        if (f.Server?.Kernel?.PathManager != "userspace" && serverSubflow.Count > 0 && signal.Count == 0)
        {
            yield return Finding(FindingIds.EndpointRoleMismatch, FindingSeverity.Warning,
                $"{server.Name} is the listening side, and its endpoints are 'subflow' ({string.Join(", ", serverSubflow.Select(e => e.Address))}), with no 'signal' one: {client.Name} never learns its other addresses.",
                $"The in-kernel path manager announces only signal endpoints; subflow endpoints make {server.Name} open subflows back to its clients, which {client.Name} {(clientSubflow.Count > 0 ? "does not accept" : "cannot accept")}.",
                $"On {server.Name}, make them signal endpoints: {string.Join("; ", serverSubflow.Select(e => $"ip mptcp endpoint delete id {e.Id}; ip mptcp endpoint add {e.Address}{(e.Interface is null ? "" : $" dev {e.Interface}")} signal"))}.",
                Ends().Concat(serverSubflow).ToArray(), computerName: server.Name);
        }

        if (f.Client?.Kernel?.PathManager != "userspace" && clientSignal.Count > 0 && clientSubflow.Count == 0)
        {
            yield return Finding(FindingIds.EndpointRoleMismatch, FindingSeverity.Warning,
                $"{client.Name} is the connecting side, and its endpoints are 'signal' ({string.Join(", ", clientSignal.Select(e => e.Address))}), with no 'subflow' one: it opens no second path to {server.Name}.",
                "A client opens its extra subflows from subflow endpoints; signal endpoints only announce addresses, and a server does not connect back to its clients.",
                $"On {client.Name}, make them subflow endpoints: {string.Join("; ", clientSignal.Select(e => $"ip mptcp endpoint delete id {e.Id}; ip mptcp endpoint add {e.Address}{(e.Interface is null ? "" : $" dev {e.Interface}")} subflow"))}.",
                Ends().Concat(clientSignal).ToArray(), computerName: client.Name);
        }

        if (serverAnnounces && f.Client?.Kernel?.Limits is { AddAddrAccepted: 0 } clientLimits)
        {
            string addresses = string.Join(", ", signal.Select(e => e.Address?.ToString()).Concat(announced.Select(a => a.Address.ToString())).OfType<string>().Distinct());
            yield return Stamped(Finding(FindingIds.AddAddrAcceptedZero, FindingSeverity.Warning,
                $"{server.Name} announces {addresses}, and {client.Name}'s add_addr_accepted is 0: it ignores them.",
                $"{(announced.Any(a => a.Arrived) ? "The ADD_ADDR arrived at the client, and no subflow to the address followed." : "The server has signal endpoints for them.")} The client opens no subflow to an address the server announces beyond its add_addr_accepted limit.",
                $"On {client.Name}: Set-MptcpLimit -AddAddrAccepted {Math.Max(1, signal.Count + announced.Length)} (ip mptcp limits set add_addr_accepted N).",
                Ends().Concat(new object[] { clientLimits }).Concat(signal).Concat(announced).ToArray(), client.Repairs(FindingIds.AddAddrAcceptedZero), computerName: client.Name), client);
        }

        if (f.Client?.Kernel?.Limits is { Subflows: 0 } cl && (clientSubflow.Count > 0 || serverAnnounces))
        {
            yield return Stamped(Finding(FindingIds.SubflowLimitZero, FindingSeverity.Error,
                $"{client.Name}'s subflows limit is 0: it opens no second subflow, whatever its endpoints and {server.Name}'s announcements.",
                "ip mptcp limits shows subflows 0 on the client.", $"On {client.Name}: Set-MptcpLimit -Subflows 2.",
                Ends().Concat(new object[] { cl }).ToArray(), client.Repairs(FindingIds.SubflowLimitZero), computerName: client.Name), client);
        }
    }

    // Every path check that found nothing, as a Passed finding (written with -IncludePassed).
    private IEnumerable<MptcpFinding> Passes(PathFacts f, List<MptcpFinding> found, End client, End server)
    {
        if (f.Comparison is null)
        {
            yield break;
        }

        (string Id, End About, string Summary)[] checks =
        {
            (FindingIds.PathDropsMptcpSyn, client, $"Every SYN that left one end arrived at the other ({client.Name} and {server.Name})."),
            (FindingIds.PathStripsMptcpOption, client, "No MPTCP option was stripped on the way, in either direction."),
            (FindingIds.ServerDropsMptcpSyn, server, $"{server.Name} answered every SYN that reached it."),
            (FindingIds.ServerNotListeningMptcp, server, $"{server.Name} answers MPTCP on port {f.Port}."),
            (FindingIds.NatRewritesSubflow, client, "No subflow's address or port was rewritten on the way."),
            (FindingIds.EndpointRoleMismatch, server, "Both ends' endpoints fit their roles (subflow on the client, signal on the server)."),
        };
        foreach ((string id, End about, string summary) in checks.Where(c => !found.Any(x => x.Id == c.Id)))
        {
            yield return Finding(id, FindingSeverity.Passed, summary, "", "", new object[] { client.Evidence(null), server.Evidence(null) }, computerName: about.Name);
        }
    }

    // The one-host findings of an end, about that end; those the two-ended judgment gives instead, or that a path finding already names, left out.
    private static IEnumerable<MptcpFinding> HostFindings(End end, HashSet<FirewallRuleFinding> named)
    {
        if (end.Facts is null)
        {
            yield break;
        }

        foreach (MptcpFinding x in end.OwnFindings)
        {
            if (TwoEnded.Contains(x.Id) || (end.Role == PathEndRole.Server && x.Id == FindingIds.NoSubflowEndpoints)
                || x.Evidence.OfType<FirewallRuleFinding>().Any(r => named.Any(n => n.Rule == r.Rule && n.Chain == r.Chain && n.Table == r.Table)))
            {
                continue;
            }

            x.ComputerName = end.Name;
            yield return x;
        }
    }

    private static MptcpFinding Stamped(MptcpFinding finding, End end)
    {
        DiagnosisRules.StampRepairs(new[] { finding }, end.Facts?.Host);
        return finding;
    }

    /// <summary>One end, as the rules look at it.</summary>
    private sealed class End
    {
        public End(PathFacts f, PathEndRole role)
        {
            Role = role;
            Name = role == PathEndRole.Client ? f.ClientName : f.ServerName;
            Facts = role == PathEndRole.Client ? f.Client : f.Server;
            Capture = role == PathEndRole.Client ? f.ClientCapture : f.ServerCapture;
            Rules = Facts?.Firewall is { } set
                ? FirewallJudge.Judge(set, f.Port, Facts.Request.Interfaces ?? (IReadOnlyCollection<string>)RouteTable.EndpointInterfaces(Facts.Endpoints ?? Array.Empty<MptcpEndpoint>(), Facts.Addresses))
                    .Where(r => r.Effect is FirewallEffect.DropsMptcpOption or FirewallEffect.StripsMptcpOption).ToArray()
                : Array.Empty<FirewallRuleFinding>();
        }

        public PathEndRole Role { get; }
        public string Name { get; }
        public HostFacts? Facts { get; }
        public PathEndCapture? Capture { get; }
        public FirewallRuleFinding[] Rules { get; }

        public MptcpPathEndEvidence Evidence(MptcpHandshakePassage? passage) => new()
        {
            ComputerName = Name, Role = Role, Sightings = passage?.Sightings.Where(s => s.SeenAt == Role).ToArray() ?? Array.Empty<HandshakeSighting>(),
            Rules = Rules, Endpoints = Facts?.Endpoints ?? Array.Empty<MptcpEndpoint>(), Limits = Facts?.Kernel?.Limits, Counters = Capture?.CounterDeltas ?? new Dictionary<string, long>(),
        };

        public PlainTcpUse[] PlainOnPort(int port) =>
            (Facts?.PlainTcp ?? Array.Empty<PlainTcpUse>()).Where(p => p.Socket.LocalPort == port && p.Socket.State == TcpState.Listen).ToArray();

        // What the one-host rules say of this end, judged once for the repairs and the host findings.
        private IReadOnlyList<MptcpFinding>? _own;
        public IReadOnlyList<MptcpFinding> OwnFindings => _own ??= Facts is null ? Array.Empty<MptcpFinding>() : DiagnosisRules.Evaluate(Facts).ToList();

        // The one-host rule's repair for this id on this end (the limits it raises), when it has one.
        public MptcpRepair[] Repairs(string id) =>
            OwnFindings.Where(x => x.Id == id && x.Severity != FindingSeverity.Passed).SelectMany(x => x.Repair).ToArray();
    }
}
