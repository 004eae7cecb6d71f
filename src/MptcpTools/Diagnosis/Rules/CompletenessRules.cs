using System;
using System.Collections.Generic;
using System.Linq;

namespace MptcpTools.Diagnosis;

/// <summary>
/// Whether every check ran. A diagnosis that could not run some (no CAP_NET_ADMIN, no D-Bus, no capture) says so
/// at Warning, naming them, so that a script keeping only Errors and Warnings never takes it for a healthy host.
/// </summary>
internal sealed class CompletenessRules : DiagnosisRule
{
    public CompletenessRules() : base(FindingComponent.Diagnosis, FindingIds.DiagnosisIncomplete)
    {
    }

    public override IEnumerable<MptcpFinding> Evaluate(HostFacts f)
    {
        if (f.Unavailable.Count == 0)
        {
            yield return Passed(FindingIds.DiagnosisIncomplete, "Every check ran.");
            yield break;
        }

        List<string> checks = f.Unavailable.Select(u => u.Check).Distinct(StringComparer.Ordinal).ToList();
        bool privilege = f.Unavailable.Any(u => NeedsPrivilege(u.Reason));
        yield return Finding(FindingIds.DiagnosisIncomplete, FindingSeverity.Warning,
            $"The diagnosis is incomplete: {checks.Count} check(s) could not run ({string.Join(", ", checks)}).",
            "The findings say nothing about what these checks look at: " +
            string.Join(" ", f.Unavailable.Select(u => $"{u.Check} ({u.Component}): {u.Reason.TrimEnd('.')}.")),
            privilege
                ? "Run the diagnosis as root (it needs CAP_NET_ADMIN for the firewall and netlink, and to read other users' processes); the CheckUnavailable findings say what each check lacked."
                : "The CheckUnavailable findings say what each check lacked (a D-Bus, a tool, a process that ended); give it, and run the diagnosis again.",
            f.Unavailable.Cast<object>().ToArray());
    }

    /// <summary>Whether a reason is a missing privilege (the kernel's EPERM/EACCES, or a capability named).</summary>
    internal static bool NeedsPrivilege(string reason) =>
        reason.Contains("CAP_NET_ADMIN", StringComparison.Ordinal) || reason.Contains("EPERM", StringComparison.Ordinal)
        || reason.Contains("EACCES", StringComparison.Ordinal) || reason.Contains("ermission", StringComparison.Ordinal)
        || reason.Contains("not permitted", StringComparison.Ordinal);
}
