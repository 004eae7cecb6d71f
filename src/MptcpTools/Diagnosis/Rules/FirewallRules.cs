using System.Collections.Generic;
using System.Linq;

namespace MptcpTools.Diagnosis;

/// <summary>Firewall rules and reverse-path filters that drop, strip or block MPTCP, from FirewallJudge.</summary>
internal sealed class FirewallRules : DiagnosisRule
{
    private static readonly Dictionary<FirewallEffect, (string Id, string What)> IdsByEffect = new()
    {
        [FirewallEffect.DropsMptcpOption] = (FindingIds.FirewallDropsMptcpOption, "drops TCP segments that carry MPTCP options"),
        [FirewallEffect.StripsMptcpOption] = (FindingIds.FirewallStripsMptcpOption, "strips the MPTCP option"),
        [FirewallEffect.BlocksSubflowPath] = (FindingIds.FirewallBlocksSubflowPath, "admits the service port on one path only"),
        [FirewallEffect.StrictReversePath] = (FindingIds.StrictReversePathFilter, "is strict reverse-path filtering on an endpoint interface"),
        [FirewallEffect.Unjudged] = (FindingIds.FirewallRuleUnjudged, "may touch MPTCP options and cannot be judged"),
    };

    public FirewallRules() : base(FindingComponent.Firewall, IdsByEffect.Values.Select(v => v.Id).ToArray())
    {
    }

    public override IEnumerable<MptcpFinding> Evaluate(HostFacts f)
    {
        if (f.Firewall is not { } set)
        {
            yield break;
        }

        IReadOnlyCollection<string> interfaces = f.Request.Interfaces ?? (IReadOnlyCollection<string>)EndpointInterfaces(f);
        List<FirewallRuleFinding> rules = FirewallJudge.Judge(set, f.Request.Port, interfaces, f.ReversePathSettings, f.UfwSysctls);
        foreach (FirewallRuleFinding r in rules)
        {
            (string id, string what) = IdsByEffect[r.Effect];
            yield return Finding(id, r.Severity,
                $"{r.Source} {string.Join(" ", new[] { r.Family, r.Table, r.Chain }.Where(x => !string.IsNullOrEmpty(x)))}: '{r.Rule}' {what}.",
                r.Detail, r.Remediation, new object[] { r }, r.Repair is { } repair ? new[] { repair } : null);
        }

        foreach ((FirewallEffect effect, (string id, string what)) in IdsByEffect.Where(m => m.Key != FirewallEffect.Unjudged))
        {
            if (!rules.Any(r => r.Effect == effect))
            {
                yield return Passed(id, $"No rule here {what.Replace("is strict", "sets strict")}.");
            }
        }
    }
}
