using System.Collections.Generic;
using System.Linq;
using MptcpTools.Kernel;

namespace MptcpTools.Diagnosis;

/// <summary>
/// All of net.mptcp is per network namespace: a program or an mptcpd in another namespace (a container, ip netns)
/// has its own endpoints, limits, sysctls and sockets, which this diagnosis does not see.
/// </summary>
internal sealed class NamespaceRules : DiagnosisRule
{
    public NamespaceRules() : base(FindingComponent.Application, FindingIds.OtherNetworkNamespace)
    {
    }

    public override IEnumerable<MptcpFinding> Evaluate(HostFacts f)
    {
        foreach (ProcessFacts p in (f.Processes ?? System.Array.Empty<ProcessFacts>()).Where(p => p.InOtherNetworkNamespace))
        {
            string label = ApplicationJudge.NamespaceLabel(p);
            yield return Finding(FindingIds.OtherNetworkNamespace, FindingSeverity.Warning,
                $"{p.Name} ({p.ProcessId}) runs in network namespace {label}, not in this one.",
                $"Everything MPTCP is per network namespace: {label} has its own endpoints, limits, sysctls and sockets, and this diagnosis read this namespace's. What it found about the host does not apply to {p.Name}.",
                $"Diagnose it where it runs: {ApplicationJudge.EnterNamespace(p)} pwsh -c 'Import-Module MptcpTools; Invoke-MptcpDiagnosis -ProcessId {p.ProcessId}'",
                new object[] { ApplicationJudge.Judge(p) });
        }

        if (f.Daemon is { Running: false, ProcessIdsElsewhere.Length: > 0 } d)
        {
            yield return Finding(FindingIds.OtherNetworkNamespace, FindingSeverity.Information,
                $"mptcpd runs in other network namespaces (process {string.Join(", ", d.ProcessIdsElsewhere)}), not in this one.",
                "An mptcpd manages the MPTCP endpoints and path manager of the namespace it runs in: those in containers or other namespaces do nothing for this one.",
                "Run mptcpd in this namespace if this one needs it (systemctl start mptcp.service on the host, or ip netns exec NAME /usr/libexec/mptcpd).",
                new object[] { d }, component: FindingComponent.Daemon);
        }
    }
}
