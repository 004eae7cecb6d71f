using System.Collections.Generic;
using System.Linq;
using MptcpTools.Host;
using MptcpTools.Kernel;

namespace MptcpTools.Diagnosis;

/// <summary>NetworkManager: connections that disable MPTCP, and endpoints it manages that a person may edit by hand.</summary>
internal sealed class NetworkManagerRules : DiagnosisRule
{
    public NetworkManagerRules() : base(FindingComponent.NetworkManager, FindingIds.NetworkManagerMptcpDisabled, FindingIds.NetworkManagerManagesEndpoints,
        FindingIds.NetworkManagerSkipsAddress, FindingIds.EndpointManagersConflict)
    {
    }

    public override IEnumerable<MptcpFinding> Evaluate(HostFacts f)
    {
        if (f.NetworkManager is not { } settings)
        {
            yield break;
        }

        var endpointInterfaces = new HashSet<string>(EndpointInterfaces(f));
        NetworkManagerMptcpAssessment[] assessed = settings.Select(s => NetworkManagerJudge.Assess(s, f.Kernel?.Enabled)).ToArray();
        foreach (MptcpFinding skipped in SkippedAddresses(f, assessed))
        {
            yield return skipped;
        }

        // mptcpd's addr_adv plug-in (the default path manager plug-in) adds endpoints for every address as well.
        NetworkManagerMptcpAssessment[] managing = assessed.Where(a => a.ManagesEndpoints).ToArray();
        if (managing.Length > 0 && f.Daemon is { Running: true } d && (d.PathManagerPlugin ?? "addr_adv") == "addr_adv")
        {
            string devices = string.Join(", ", managing.SelectMany(a => a.Devices).Distinct());
            yield return Finding(FindingIds.EndpointManagersConflict, FindingSeverity.Warning,
                $"NetworkManager and mptcpd both manage MPTCP endpoints ({devices}).",
                "mptcpd's addr_adv plug-in adds an endpoint for every address it sees, and NetworkManager adds and removes its own for the devices it manages: each undoes the other's endpoints and flags, so what the kernel has depends on which ran last.",
                $"Let one of them do it: stop mptcpd ({new UnitRepair { Unit = d.UnitName ?? MptcpDaemon.UnitNames[0] }.Undo}), or set the connections' mptcp-flags to disabled ({string.Join("; ", managing.Select(a => $"nmcli connection modify {ShellText.Quote(a.Connection)} connection.mptcp-flags disabled"))}).",
                managing.Cast<object>().Append(d).ToArray());
        }

        foreach (NetworkManagerMptcpAssessment s in assessed)
        {
            if ((s.Flags & NetworkManagerMptcpFlags.Disabled) != 0)
            {
                yield return Finding(FindingIds.NetworkManagerMptcpDisabled, FindingSeverity.Warning,
                    $"NetworkManager connection '{s.Connection}' ({string.Join(", ", s.Devices)}) has mptcp-flags=disabled.",
                    "NetworkManager configures no MPTCP endpoint for these devices, and removes those it made.",
                    $"nmcli connection modify {ShellText.Quote(s.Connection)} connection.mptcp-flags enabled,subflow; nmcli connection up {ShellText.Quote(s.Connection)}", new object[] { s });
            }
            else if (s.ManagesEndpoints && s.Devices.Any(endpointInterfaces.Contains))
            {
                yield return Finding(FindingIds.NetworkManagerManagesEndpoints, FindingSeverity.Information,
                    $"NetworkManager manages the MPTCP endpoints of {string.Join(", ", s.Devices)} ('{s.Connection}').", s.Detail,
                    $"Change them with nmcli connection modify {ShellText.Quote(s.Connection)} connection.mptcp-flags ..., not by hand.", new object[] { s });
            }
        }

        if (!settings.Any(s => (s.Flags & NetworkManagerMptcpFlags.Disabled) != 0))
        {
            yield return Passed(FindingIds.NetworkManagerMptcpDisabled, settings.Count == 0 ? "NetworkManager has no active connection." : "No NetworkManager connection disables MPTCP.");
        }
    }

    // The addresses NetworkManager gives no endpoint on the devices it manages, and why (NM 1.40's rules).
    private IEnumerable<MptcpFinding> SkippedAddresses(HostFacts f, IReadOnlyList<NetworkManagerMptcpAssessment> assessed)
    {
        if (f.Addresses is not { } addresses || f.Endpoints is not { } endpoints)
        {
            yield break;
        }

        foreach (NetworkManagerMptcpAssessment s in assessed.Where(a => a.ManagesEndpoints))
        {
            foreach (InterfaceAddress a in addresses.Where(a => a.Interface is not null && s.Devices.Contains(a.Interface) && a.Scope == 0
                                                              && !System.Net.IPAddress.IsLoopback(a.Address) && !a.Address.IsIPv6LinkLocal
                                                              && !endpoints.Any(e => a.Address.Equals(e.Address))))
            {
                bool v6 = a.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
                bool noDefault = f.DefaultRoutes is { } routes && !(v6 ? routes.IPv6 : routes.IPv4)
                                 && (s.Flags & NetworkManagerMptcpFlags.AlsoWithoutDefaultRoute) == 0;
                (FindingSeverity severity, string why, string fix)? reason =
                    a.Tentative ? (FindingSeverity.Information, "duplicate address detection still runs on it (or failed)", "Wait for DAD to finish; NetworkManager adds the endpoint then.")
                    : a.Temporary ? (FindingSeverity.Information, "it is a temporary (privacy) address", "None needed: subflows use the stable address.")
                    : a.UniqueLocal ? (FindingSeverity.Information, "it is a unique local address (fc00::/7)", "Give the device a global address for MPTCP, or add the endpoint by hand on a device NetworkManager does not manage.")
                    : noDefault ? (FindingSeverity.Warning, $"there is no {(v6 ? "IPv6" : "IPv4")} default route, and the connection's mptcp-flags lack also-without-default-route",
                        $"nmcli connection modify {ShellText.Quote(s.Connection)} connection.mptcp-flags enabled,subflow,also-without-default-route; nmcli connection up {ShellText.Quote(s.Connection)} (or give the connection a {(v6 ? "IPv6" : "IPv4")} gateway)")
                    : null;
                if (reason is { } r)
                {
                    yield return Finding(FindingIds.NetworkManagerSkipsAddress, r.severity,
                        $"NetworkManager gives {a.Address} on {a.Interface} ('{s.Connection}') no MPTCP endpoint: {r.why}.",
                        $"NetworkManager manages the MPTCP endpoints of {a.Interface} and leaves this address out, so no subflow is opened from it.", r.fix,
                        new object[] { s, a });
                }
            }
        }
    }
}
