using System.Collections.Generic;
using MptcpTools.Kernel;

namespace MptcpTools.Diagnosis;

/// <summary>The programs asked about: do they use MPTCP sockets.</summary>
internal sealed class ApplicationRules : DiagnosisRule
{
    public ApplicationRules() : base(FindingComponent.Application, FindingIds.ApplicationNotUsingMptcp)
    {
    }

    public override IEnumerable<MptcpFinding> Evaluate(HostFacts f)
    {
        if (f.Processes is not { } processes)
        {
            yield break;
        }

        foreach (ProcessFacts p in processes)
        {
            MptcpApplicationReport a = ApplicationJudge.Judge(p);
            if (!a.UsesMptcp && a.TcpSockets > 0)
            {
                yield return Finding(FindingIds.ApplicationNotUsingMptcp, FindingSeverity.Error,
                    $"{a.Name} ({a.ProcessId}) uses plain TCP: it never asked for an MPTCP socket.",
                    a.Verdict + (a.Version is null ? "" : $" Installed: {a.Package} {a.Version}."), a.Remediation, new object[] { a });
            }
            else if (a.UsesMptcp)
            {
                yield return Passed(FindingIds.ApplicationNotUsingMptcp, $"{a.Name} ({a.ProcessId}) uses MPTCP.", a);
            }
        }
    }
}
