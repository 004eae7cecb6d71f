using System.Collections.Generic;
using System.Linq;
using System.Net;
using MptcpTools.Kernel;

namespace MptcpTools.Diagnosis;

/// <summary>
/// Endpoints in the role the host plays. The in-kernel path manager opens subflows from "subflow" endpoints and
/// announces "signal" ones: a host that only accepts connections needs signal endpoints (with subflow ones it
/// tries to connect back to its clients), a host that only connects needs subflow ones, and a signalled address
/// needs a listener that accepts joins to it (the endpoint's own port, or a listener on the wildcard address).
/// </summary>
internal sealed class EndpointRoleRules : DiagnosisRule
{
    public EndpointRoleRules() : base(FindingComponent.PathManager, FindingIds.EndpointRoleMismatch)
    {
    }

    public override IEnumerable<MptcpFinding> Evaluate(HostFacts f)
    {
        if (f.Kernel is not { Present: true } k || k.PathManager == "userspace" || f.Endpoints is not { } endpoints || f.MptcpSockets is not { } sockets)
        {
            yield break;
        }

        var configured = endpoints.Where(e => (e.Flags & MptcpEndpointFlags.Implicit) == 0).ToList();
        var listeners = sockets.Where(s => s.State == TcpState.Listen).ToList();
        var connections = sockets.Where(s => s.State != TcpState.Listen).ToList();
        var initiated = connections.Where(c => !listeners.Any(l => l.LocalPort == c.LocalPort && (IsWildcard(l.LocalAddress) || Same(l.LocalAddress, c.LocalAddress)))).ToList();
        var subflow = configured.Where(e => (e.Flags & (MptcpEndpointFlags.Subflow | MptcpEndpointFlags.Fullmesh)) != 0 && (e.Flags & MptcpEndpointFlags.Signal) == 0).ToList();
        var signal = configured.Where(e => (e.Flags & MptcpEndpointFlags.Signal) != 0).ToList();
        string ports = string.Join(", ", listeners.Select(l => l.LocalPort).Distinct().OrderBy(p => p));
        bool problem = false;

        if (listeners.Count > 0 && initiated.Count == 0 && subflow.Count > 0 && signal.Count == 0)
        {
            problem = true;
            yield return Finding(FindingIds.EndpointRoleMismatch, FindingSeverity.Warning,
                $"This host accepts MPTCP connections (port {ports}) and opens none, yet its endpoints are 'subflow' ({string.Join(", ", subflow.Select(e => e.Address))}).",
                "For each connection it accepts, the in-kernel path manager opens extra subflows from subflow endpoints back to the client, which clients behind NAT or a firewall never accept; and the client never learns the server's other addresses. A server announces them with 'signal' endpoints.",
                "Make them signal endpoints: " + string.Join("; ", subflow.Select(e => $"ip mptcp endpoint delete id {e.Id}; ip mptcp endpoint add {e.Address}{(e.Interface is null ? "" : $" dev {e.Interface}")} signal")),
                subflow.Cast<object>().Concat(listeners).ToArray());
        }

        if (listeners.Count == 0 && initiated.Count > 0 && signal.Count > 0 && subflow.Count == 0)
        {
            problem = true;
            yield return Finding(FindingIds.EndpointRoleMismatch, FindingSeverity.Warning,
                $"This host only opens MPTCP connections, yet its endpoints are 'signal' ({string.Join(", ", signal.Select(e => e.Address))}).",
                "Signal endpoints announce addresses to the peer, for it to connect to; servers do not open subflows to their clients. A client opens its extra subflows from 'subflow' endpoints, and gets no second path from signal ones.",
                "Make them subflow endpoints: " + string.Join("; ", signal.Select(e => $"ip mptcp endpoint delete id {e.Id}; ip mptcp endpoint add {e.Address}{(e.Interface is null ? "" : $" dev {e.Interface}")} subflow")),
                signal.Cast<object>().Concat(initiated).ToArray());
        }

        // A join to a signalled address needs a listener there: the endpoint's own port, or a wildcard listener.
        if (listeners.Count > 0 && !listeners.Any(l => IsWildcard(l.LocalAddress)))
        {
            foreach (MptcpEndpoint e in signal.Where(e => e.Port == 0 && e.Address is not null && !listeners.Any(l => Same(l.LocalAddress, e.Address!))))
            {
                problem = true;
                MptcpConnection l = listeners[0];
                yield return Finding(FindingIds.EndpointRoleMismatch, FindingSeverity.Warning,
                    $"Endpoint {e.Id} announces {e.Address} without a port, but the MPTCP listeners are bound to {string.Join(", ", listeners.Select(x => $"{x.LocalAddress}:{x.LocalPort}"))} only.",
                    $"Peers send their MP_JOIN to {e.Address} on the listener's port; no listener accepts there, so every join to it is refused and the announced path is never used.",
                    $"Give the endpoint the port, so the kernel listens for joins itself: ip mptcp endpoint delete id {e.Id}; ip mptcp endpoint add {e.Address}{(e.Interface is null ? "" : $" dev {e.Interface}")} signal port {l.LocalPort}; or let the application listen on the wildcard address.",
                    new object[] { e }.Concat(listeners).ToArray());
            }
        }

        if (!problem && configured.Count > 0 && sockets.Count > 0)
        {
            yield return Passed(FindingIds.EndpointRoleMismatch, "The endpoints fit the role the host plays (the connections it accepts and opens).");
        }
    }

    private static bool IsWildcard(IPAddress a) => a.Equals(IPAddress.Any) || a.Equals(IPAddress.IPv6Any);

    private static bool Same(IPAddress a, IPAddress b) =>
        (a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a).Equals(b.IsIPv4MappedToIPv6 ? b.MapToIPv4() : b);
}
