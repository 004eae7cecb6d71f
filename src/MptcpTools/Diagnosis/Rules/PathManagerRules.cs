using System;
using System.Collections.Generic;
using System.Linq;
using MptcpTools.Kernel;

namespace MptcpTools.Diagnosis;

/// <summary>The in-kernel path manager: endpoints that open subflows, and limits that let them.</summary>
internal sealed class PathManagerRules : DiagnosisRule
{
    private const int MaxLimit = 8; // MPTCP_PM_ADDR_MAX

    public PathManagerRules() : base(FindingComponent.PathManager, FindingIds.NoSubflowEndpoints, FindingIds.SubflowLimitZero,
        FindingIds.AddAddrAcceptedZero, FindingIds.EndpointsExceedLimit)
    {
    }

    public override IEnumerable<MptcpFinding> Evaluate(HostFacts f)
    {
        MptcpKernelState? k = f.Kernel;
        if (k is null || !k.Present || f.Endpoints is not { } endpoints || k.Limits is not { } limits || k.PathManager == "userspace")
        {
            yield break; // under a userspace path manager, mptcpd decides subflows, not endpoints and limits
        }

        var subflowEndpoints = endpoints.Where(e => (e.Flags & (MptcpEndpointFlags.Subflow | MptcpEndpointFlags.Fullmesh)) != 0).ToList();
        MptcpRepair[] add = subflowEndpoints.Count == 0 ? AddEndpoints(f, endpoints) : Array.Empty<MptcpRepair>();
        if (subflowEndpoints.Count == 0)
        {
            yield return Finding(FindingIds.NoSubflowEndpoints, FindingSeverity.Warning,
                endpoints.Count == 0 ? "The in-kernel path manager has no endpoints." : "No endpoint has the subflow flag.",
                "Without subflow endpoints, connections this host opens never get a second subflow: MPTCP works, on one path only. (A server needs signal endpoints to announce its other addresses.)",
                add.Length > 0
                    ? $"Add one per extra uplink: {string.Join("; ", add.Select(a => a.Command))}"
                    : "Add one per extra uplink: Add-MptcpEndpoint -Address ADDRESS -Interface IFNAME -Flags Subflow (ip mptcp endpoint add ADDRESS dev IFNAME subflow), once traffic from ADDRESS is routed out of IFNAME (Test-MptcpRouting).",
                endpoints.Cast<object>().ToArray(), add);
        }
        else
        {
            yield return Passed(FindingIds.NoSubflowEndpoints, $"{subflowEndpoints.Count} endpoint(s) open subflows.", subflowEndpoints.Cast<object>().ToArray());
        }

        // One change raises both limits as far as the endpoints need (those the repair adds too), so the three
        // findings share it. The kernel allows at most 8.
        // Whoever adds them (by hand, NetworkManager, mptcpd), each address routed out of its own interface gets one.
        int wanted = subflowEndpoints.Count + (add.Length == 0 ? 0 : (f.EndpointCandidates ?? Array.Empty<EndpointCandidate>())
            .Count(c => c.RouteInterface == c.Interface && !endpoints.Any(e => c.Address.Equals(e.Address))));
        var raise = new LimitRepair
        {
            Subflows = Math.Max(limits.Subflows, (uint)Math.Min(MaxLimit, Math.Max(2, wanted))),
            AddAddrAccepted = Math.Max(limits.AddAddrAccepted, 2), Before = limits.ToString(),
        };
        LimitRepair Raise(string id) => new() { FindingId = id, Subflows = raise.Subflows, AddAddrAccepted = raise.AddAddrAccepted, Before = raise.Before };
        if (limits.Subflows == 0)
        {
            yield return Finding(FindingIds.SubflowLimitZero, subflowEndpoints.Count > 0 ? FindingSeverity.Error : FindingSeverity.Warning,
                "The subflow limit is 0: no connection may open an extra subflow.",
                "ip mptcp limits shows subflows 0, so the kernel opens no subflow beyond the first, whatever the endpoints.",
                $"Set-MptcpLimit -Subflows {raise.Subflows} ({Raise("").Command})", new object[] { limits }, new MptcpRepair[] { Raise(FindingIds.SubflowLimitZero) });
        }
        else
        {
            yield return Passed(FindingIds.SubflowLimitZero, $"Up to {limits.Subflows} extra subflow(s) per connection.", limits);
        }

        if (limits.AddAddrAccepted == 0)
        {
            yield return Finding(FindingIds.AddAddrAcceptedZero, FindingSeverity.Warning, "add_addr_accepted is 0: addresses the peer announces are ignored.",
                "When a server announces another address (ADD_ADDR), this host opens no subflow to it (the kernel's default limit is 0).",
                $"Set-MptcpLimit -AddAddrAccepted {raise.AddAddrAccepted} ({Raise("").Command})", new object[] { limits }, new MptcpRepair[] { Raise(FindingIds.AddAddrAcceptedZero) });
        }
        else
        {
            yield return Passed(FindingIds.AddAddrAcceptedZero, $"Up to {limits.AddAddrAccepted} announced address(es) are used.", limits);
        }

        if (limits.Subflows > 0 && subflowEndpoints.Count > limits.Subflows)
        {
            yield return Finding(FindingIds.EndpointsExceedLimit, FindingSeverity.Warning,
                $"{subflowEndpoints.Count} subflow endpoints, but only {limits.Subflows} extra subflow(s) allowed.",
                subflowEndpoints.Count > MaxLimit
                    ? $"The kernel stops opening subflows at the limit, and allows at most {MaxLimit}: {subflowEndpoints.Count - MaxLimit} endpoint(s) are never used, whatever the limit."
                    : "The kernel stops opening subflows at the limit: the endpoints beyond it are never used.",
                $"Set-MptcpLimit -Subflows {raise.Subflows} ({Raise("").Command})", new object[] { limits }, new MptcpRepair[] { Raise(FindingIds.EndpointsExceedLimit) });
        }
        else if (subflowEndpoints.Count > 0)
        {
            yield return Passed(FindingIds.EndpointsExceedLimit, "The subflow limit covers every subflow endpoint.");
        }
    }

    // A subflow endpoint for every global address on an interface other than the default route's, when the
    // kernel routes traffic from that address out of its own interface (else a source route comes first).
    // On a device NetworkManager configures, its connection's mptcp-flags instead: it removes hand-made endpoints.
    // Where mptcpd adds every address's endpoint, its addr-flags.
    private static MptcpRepair[] AddEndpoints(HostFacts f, IReadOnlyList<MptcpEndpoint> existing)
    {
        var candidates = (f.EndpointCandidates ?? Array.Empty<EndpointCandidate>()).Where(c => !existing.Any(e => c.Address.Equals(e.Address))).ToList();
        IEnumerable<MptcpRepair> byNetworkManager = EndpointOwners.NetworkManagerRepairs(f, FindingIds.NoSubflowEndpoints, candidates);
        // Where mptcpd adds the endpoints, through its configuration; else by hand.
        MptcpRepair[] byOthers = EndpointOwners.MptcpdRepair(f, FindingIds.NoSubflowEndpoints) is { } mptcpd
            ? new MptcpRepair[] { mptcpd }
            : candidates
                .Where(c => c.RouteInterface == c.Interface && EndpointOwners.NetworkManagerConnection(f, c.Interface) is null)
                .Select(c => new EndpointRepair { FindingId = FindingIds.NoSubflowEndpoints, Address = c.Address.ToString(), Interface = c.Interface, Flags = "Subflow" })
                .ToArray<MptcpRepair>();
        return byNetworkManager.Concat(byOthers).ToArray();
    }
}
