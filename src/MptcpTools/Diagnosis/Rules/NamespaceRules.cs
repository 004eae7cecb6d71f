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
        ProcessFacts[] processes = f.Processes?.ToArray() ?? System.Array.Empty<ProcessFacts>();
        // Named processes also run here: those elsewhere are worth knowing, not a problem of this diagnosis.
        bool someHere = processes.Any(p => !p.InOtherNetworkNamespace);
        foreach (IGrouping<string, ProcessFacts> group in processes.Where(p => p.InOtherNetworkNamespace).GroupBy(ApplicationJudge.NamespaceLabel))
        {
            ProcessFacts[] elsewhere = group.ToArray();
            ProcessFacts first = elsewhere[0];
            string label = group.Key;
            string names = string.Join(", ", elsewhere.GroupBy(p => p.Name).Select(n => $"{n.Key} ({string.Join(", ", n.Select(p => p.ProcessId))})"));
            yield return Finding(FindingIds.OtherNetworkNamespace, someHere ? FindingSeverity.Information : FindingSeverity.Warning,
                $"{names} {(elsewhere.Length == 1 ? "runs" : "run")} in network namespace {label}, not in this one.",
                $"Everything MPTCP is per network namespace: {label} has its own endpoints, limits, sysctls and sockets, and this diagnosis read this namespace's. What it found about the host does not apply to {(elsewhere.Length == 1 ? first.Name : "them")}." +
                (someHere ? " Processes of the same name run in this namespace too, and the diagnosis judged those." : ""),
                $"Diagnose {(elsewhere.Length == 1 ? "it" : "them")} where {(elsewhere.Length == 1 ? "it runs" : "they run")}: {ApplicationJudge.EnterNamespace(first)} pwsh -c 'Import-Module MptcpTools; Invoke-MptcpDiagnosis -ProcessId {string.Join(", ", elsewhere.Select(p => p.ProcessId))}'",
                elsewhere.Select(p => (object)ApplicationJudge.Judge(p)).ToArray());
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
