using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Sockets;
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
        // Inactive profiles configure nothing now; external ones describe devices NetworkManager leaves alone.
        NetworkManagerMptcpAssessment[] assessed = settings.Where(s => s.Active && !s.External)
            .Select(s => NetworkManagerJudge.Assess(s, f.Kernel?.Enabled, f.Endpoints)).ToArray();
        foreach (MptcpFinding skipped in SkippedAddresses(f, assessed))
        {
            yield return skipped;
        }

        // mptcpd's addr_adv plug-in (the default path manager plug-in) adds an endpoint for every new address as
        // well, with its own addr-flags: whichever of the two adds an address's endpoint first decides its flags.
        NetworkManagerMptcpAssessment[] managing = assessed.Where(a => a.ManagesEndpoints).ToArray();
        if (managing.Length > 0 && f.Daemon is { Running: true } d && (d.PathManagerPlugin ?? "addr_adv") == "addr_adv")
        {
            string devices = string.Join(", ", managing.SelectMany(a => a.Devices).Distinct());
            NetworkManagerEndpoint[] taken = managing.SelectMany(a => a.Endpoints).Where(e => e.EndpointId is not null && !e.ByNetworkManager).ToArray();
            string fix = $"Let one of them do it: stop mptcpd ({new UnitRepair { Unit = d.UnitName ?? MptcpDaemon.UnitNames[0] }.Undo}), or set the connections' mptcp-flags to disabled ({string.Join("; ", managing.Select(a => $"nmcli connection modify {ShellText.Quote(a.Connection)} connection.mptcp-flags disabled"))}).";
            object[] evidence = managing.Cast<object>().Append(d).ToArray();
            yield return taken.Length > 0
                ? Finding(FindingIds.EndpointManagersConflict, FindingSeverity.Warning,
                    $"NetworkManager and mptcpd both manage MPTCP endpoints ({devices}), and {string.Join(", ", taken.Select(e => $"{e.Address} on {e.Device}"))} {(taken.Length == 1 ? "has an endpoint" : "have endpoints")} NetworkManager did not make.",
                    $"mptcpd's addr_adv plug-in adds an endpoint for every address it sees, and NetworkManager adds its own for the devices it manages; the kernel keeps whichever came first, so these addresses have other flags than NetworkManager's mptcp-flags give: {string.Join("; ", taken.Select(e => e.ToString()))}.",
                    fix, evidence)
                : Finding(FindingIds.EndpointManagersConflict, FindingSeverity.Information,
                    $"NetworkManager and mptcpd both manage MPTCP endpoints ({devices}); NetworkManager's are in place now.",
                    "mptcpd's addr_adv plug-in adds an endpoint for every address it sees, and NetworkManager adds its own for the devices it manages; the kernel keeps whichever came first. Every address on these devices has NetworkManager's endpoint now, but an address that comes up later may get mptcpd's flags instead.",
                    fix, evidence);
        }

        foreach (NetworkManagerMptcpAssessment s in assessed)
        {
            if ((s.Flags & NetworkManagerMptcpFlags.Disabled) != 0)
            {
                var enable = s.Uuid is null ? null : new NetworkManagerFlagsRepair
                {
                    FindingId = FindingIds.NetworkManagerMptcpDisabled, Uuid = s.Uuid, Connection = s.Connection,
                    Flags = (uint)(NetworkManagerMptcpFlags.Enabled | NetworkManagerMptcpFlags.Subflow), Before = s.RawFlags,
                };
                yield return Finding(FindingIds.NetworkManagerMptcpDisabled, FindingSeverity.Warning,
                    $"NetworkManager connection '{s.Connection}' ({string.Join(", ", s.Devices)}) has mptcp-flags=disabled.",
                    "NetworkManager configures no MPTCP endpoint for these devices, and removes those it made.",
                    enable?.Command ?? $"nmcli connection modify {ShellText.Quote(s.Connection)} connection.mptcp-flags enabled,subflow; nmcli connection up {ShellText.Quote(s.Connection)}",
                    new object[] { s }, enable is null ? null : new MptcpRepair[] { enable });
            }
            else if (s.ManagesEndpoints && s.Devices.Any(endpointInterfaces.Contains))
            {
                yield return Finding(FindingIds.NetworkManagerManagesEndpoints, FindingSeverity.Information,
                    $"NetworkManager manages the MPTCP endpoints of {string.Join(", ", s.Devices)} ('{s.Connection}').", s.Detail,
                    $"Change them with nmcli connection modify {ShellText.Quote(s.Connection)} connection.mptcp-flags ..., not by hand.", new object[] { s });
            }
        }

        if (!settings.Any(s => s.Active && !s.External && (s.Flags & NetworkManagerMptcpFlags.Disabled) != 0))
        {
            yield return Passed(FindingIds.NetworkManagerMptcpDisabled, settings.Count == 0 ? "NetworkManager has no active connection." : "No NetworkManager connection disables MPTCP.");
        }
    }

    // The addresses NetworkManager gives no endpoint on the devices it manages, and why: the judge's reasons from
    // NetworkManager's own view of its devices (the default route of its configuration), and the kernel's address
    // flags for what NetworkManager leaves out by design (temporary, unique local, still in DAD).
    private IEnumerable<MptcpFinding> SkippedAddresses(HostFacts f, IReadOnlyList<NetworkManagerMptcpAssessment> assessed)
    {
        if (f.Endpoints is not { } endpoints)
        {
            yield break;
        }

        foreach (NetworkManagerMptcpAssessment s in assessed.Where(a => a.ManagesEndpoints))
        {
            // Addresses as NetworkManager has them, else the kernel's on its devices (an older reader, a bus that gave none).
            IEnumerable<(IPAddress Address, string Device, string? Reason, bool? NoDefaultRoute)> missing = s.Endpoints.Length > 0
                ? s.Endpoints.Where(e => e.EndpointId is null).Select(e => (e.Address, e.Device, (string?)e.Reason, (bool?)e.NoDefaultRoute))
                : (f.Addresses ?? System.Array.Empty<InterfaceAddress>())
                    .Where(a => a.Interface is not null && s.Devices.Contains(a.Interface) && !endpoints.Any(e => a.Address.Equals(e.Address)))
                    .Select(a => (a.Address, a.Interface!, (string?)null, (bool?)null));
            foreach ((IPAddress address, string device, string? judged, bool? judgedNoDefault) in missing)
            {
                if (IPAddress.IsLoopback(address) || address.IsIPv6LinkLocal || (address.AddressFamily == AddressFamily.InterNetwork && address.GetAddressBytes() is [169, 254, ..]))
                {
                    continue; // never an endpoint, by anyone: nothing to say
                }

                InterfaceAddress? kernel = f.Addresses?.FirstOrDefault(a => a.Address.Equals(address));
                bool v6 = address.AddressFamily == AddressFamily.InterNetworkV6;
                bool noDefault = judgedNoDefault
                                 ?? (f.DefaultRoutes is { } routes && !(v6 ? routes.IPv6 : routes.IPv4) && (s.Flags & NetworkManagerMptcpFlags.AlsoWithoutDefaultRoute) == 0);
                (FindingSeverity severity, string why, string fix)? reason =
                    kernel is { Tentative: true } ? (FindingSeverity.Information, "duplicate address detection still runs on it (or failed)", "Wait for DAD to finish; NetworkManager adds the endpoint then.")
                    : kernel is { Temporary: true } ? (FindingSeverity.Information, "it is a temporary (privacy) address", "None needed: subflows use the stable address.")
                    : kernel is { UniqueLocal: true } ? (FindingSeverity.Information, "it is a unique local address (fc00::/7)", "Give the device a global address for MPTCP.")
                    : noDefault ? (FindingSeverity.Warning, $"there is no {(v6 ? "IPv6" : "IPv4")} default route for it, and the connection's mptcp-flags lack also-without-default-route",
                        $"nmcli connection modify {ShellText.Quote(s.Uuid ?? s.Connection)} connection.mptcp-flags enabled,subflow,also-without-default-route; nmcli connection up {ShellText.Quote(s.Uuid ?? s.Connection)} (or give the connection a {(v6 ? "IPv6" : "IPv4")} gateway)")
                    : null;
                if (reason is { } r)
                {
                    yield return Finding(FindingIds.NetworkManagerSkipsAddress, r.severity,
                        $"NetworkManager gives {address} on {device} ('{s.Connection}') no MPTCP endpoint: {r.why}.",
                        $"NetworkManager manages the MPTCP endpoints of {device} and leaves this address out, so no subflow is opened from it.{(judged is null ? "" : $" NetworkManager's view: {judged}")}",
                        r.fix, kernel is null ? new object[] { s } : new object[] { s, kernel });
                }
            }
        }
    }
}
