using System.Collections.Generic;
using System.Linq;
using MptcpTools.Host;

namespace MptcpTools.Diagnosis;

/// <summary>NetworkManager: connections that disable MPTCP, and endpoints it manages that a person may edit by hand.</summary>
internal sealed class NetworkManagerRules : DiagnosisRule
{
    public NetworkManagerRules() : base(FindingComponent.NetworkManager, FindingIds.NetworkManagerMptcpDisabled, FindingIds.NetworkManagerManagesEndpoints)
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
        foreach (NetworkManagerMptcpAssessment s in settings.Where(s => s.Active && !s.External).Select(s => NetworkManagerJudge.Assess(s, f.Kernel?.Enabled, f.Endpoints)))
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
}
