using System;
using System.Collections.Generic;
using System.Net;
using MptcpTools.Host;
using MptcpTools.Kernel;
using MptcpTools.Packets;

namespace MptcpTools.Diagnosis;

/// <summary>What the caller asked the diagnosis to look at, beyond the host itself.</summary>
public sealed class DiagnosisRequest
{
    public int[]? ProcessIds { get; init; }
    /// <summary>Process names, with shell wildcards.</summary>
    public string[]? ProcessNames { get; init; }
    /// <summary>A peer to probe with a real MPTCP connection (needs <see cref="Port"/>).</summary>
    public string? ComputerName { get; init; }
    /// <summary>The peer's port; also the service port the firewall check looks for.</summary>
    public int? Port { get; init; }
    /// <summary>Capture this long (seconds) while the probe runs.</summary>
    public double? CaptureSeconds { get; init; }
    /// <summary>Interfaces that carry subflows; by default those of the endpoints.</summary>
    public string[]? Interfaces { get; init; }
    /// <summary>The D-Bus of systemd and NetworkManager; null for the system bus.</summary>
    public string? BusAddress { get; init; }
    public string DaemonConfigPath { get; init; } = MptcpdConfig.DefaultPath;

    public bool ApplicationAsked => ProcessIds is not null || ProcessNames is not null;
    public bool ProbeAsked => ComputerName is not null;
    public bool CaptureAsked => CaptureSeconds is not null;
}

/// <summary>The route the kernel picks for an endpoint's address to one destination; null Route: none.</summary>
public sealed record EndpointRoute(byte EndpointId, IPAddress Source, IPAddress Destination, RouteLookup? Route);

/// <summary>Route lookups from the endpoints' addresses, and the policy-routing rules of both families.</summary>
public sealed class RoutingFacts
{
    public IReadOnlyList<RoutingRule> Rules { get; init; } = Array.Empty<RoutingRule>();
    public IReadOnlyList<EndpointRoute> Routes { get; init; } = Array.Empty<EndpointRoute>();
}

/// <summary>
/// A global address on an interface other than its family's default route's, and where the kernel sends
/// traffic from it to the default gateway: an endpoint for it makes sense when that is its own interface.
/// </summary>
public sealed record EndpointCandidate(IPAddress Address, string Interface, string DefaultInterface, string? RouteInterface);

/// <summary>Why the diagnosis looked at a plain TCP connection.</summary>
public enum PlainTcpSighting
{
    /// <summary>It uses the port the diagnosis was given.</summary>
    OnPort,
    /// <summary>The capture saw it, without MPTCP.</summary>
    InCapture,
    /// <summary>It carried a lot of data (a transfer that MPTCP would spread over the paths).</summary>
    Bulk,
}

/// <summary>A plain TCP connection of this host, why it was looked at, and the process that owns it (when readable).</summary>
public sealed record PlainTcpUse(PlainTcpSocket Socket, PlainTcpSighting Seen, ProcessFacts? Owner);

/// <summary>Whether the main routing table has a default route in each family.</summary>
public sealed record DefaultRoutes(bool IPv4, bool IPv6);

/// <summary>The peer the diagnosis probed, and what the probe measured.</summary>
public sealed record PeerProbe(string ComputerName, ProbeOutcome Outcome);

/// <summary>
/// Everything the diagnosis gathered on one host, as plain data; each part null when it was not asked for
/// or could not be gathered (<see cref="Unavailable"/> says which and why). Rules judge nothing else, so
/// facts gathered on one host can be serialized (<see cref="ToJson"/>) and judged on another.
/// </summary>
public sealed class HostFacts
{
    public DiagnosisRequest Request { get; init; } = new();
    /// <summary>Which host and network namespace the facts are of: the repairs judged from them are applied there only.</summary>
    public HostIdentity? Host { get; init; }
    public MptcpKernelState? Kernel { get; init; }
    public IReadOnlyList<MptcpEndpoint>? Endpoints { get; init; }
    public IReadOnlyList<InterfaceAddress>? Addresses { get; init; }
    public IReadOnlyDictionary<string, long>? Counters { get; init; }
    public MptcpDaemonStatus? Daemon { get; init; }
    public IReadOnlyList<NetworkManagerMptcpSetting>? NetworkManager { get; init; }
    public FirewallRuleset? Firewall { get; init; }
    public RoutingFacts? Routing { get; init; }
    public IReadOnlyList<EndpointCandidate>? EndpointCandidates { get; init; }
    public IReadOnlyList<ProcessFacts>? Processes { get; init; }
    public PeerProbe? Probe { get; init; }
    public IReadOnlyList<MptcpConnectionSummary>? Capture { get; init; }
    /// <summary>Plain TCP connections on the port, in the capture, or carrying bulk data, with their owners.</summary>
    public IReadOnlyList<PlainTcpUse>? PlainTcp { get; init; }
    /// <summary>This namespace's MPTCP listeners and connections (without subflows): which role the host plays.</summary>
    public IReadOnlyList<MptcpConnection>? MptcpSockets { get; init; }
    /// <summary>The persistent rp_filter assignments (sysctl.d, sysctl.conf), in boot order.</summary>
    public IReadOnlyList<PersistentSysctlSetting>? ReversePathSettings { get; init; }
    /// <summary>The assignments of ufw's own sysctl file, when ufw is enabled (it applies them when it starts).</summary>
    public IReadOnlyList<PersistentSysctlSetting>? UfwSysctls { get; init; }
    public DefaultRoutes? DefaultRoutes { get; init; }
    /// <summary>Whether the kernel has turned MPTCP off for active opens (after blackholes); null when not checked.</summary>
    public bool? ActiveMptcpDisabled { get; init; }
    /// <summary>When the facts were gathered (UTC): what "until when" is counted from.</summary>
    public DateTime GatheredAt { get; init; }
    public IReadOnlyList<UnavailableCheck> Unavailable { get; init; } = Array.Empty<UnavailableCheck>();

    public string ToJson() => FactsJson.Serialize(this);

    public static HostFacts FromJson(string json) => FactsJson.Deserialize<HostFacts>(json);
}
