using System;
using System.Collections.Generic;
using System.Linq;
using MptcpTools.Kernel;

namespace MptcpTools.Diagnosis;

/// <summary>
/// One group of rules: the ids it may emit, and a pure function of the facts. A finding can only be made
/// through <see cref="Finding"/> and <see cref="Passed"/>, which refuse an id the rule did not declare.
/// </summary>
public abstract class DiagnosisRule
{
    private readonly HashSet<string> _ids;

    protected DiagnosisRule(FindingComponent component, params string[] ids)
    {
        Component = component;
        Ids = ids;
        _ids = new HashSet<string>(ids, StringComparer.Ordinal);
    }

    public FindingComponent Component { get; }
    /// <summary>Every id this rule can emit.</summary>
    public IReadOnlyList<string> Ids { get; }

    public abstract IEnumerable<MptcpFinding> Evaluate(HostFacts facts);

    protected MptcpFinding Finding(string id, FindingSeverity severity, string summary, string detail, string remediation,
        object?[] evidence, MptcpRepair[]? repairs = null, FindingComponent? component = null) => new()
    {
        Id = Declared(id), Severity = severity, Component = component ?? Component, Summary = summary, Detail = detail,
        Remediation = remediation, Evidence = evidence.OfType<object>().ToArray(), Repair = repairs ?? Array.Empty<MptcpRepair>(),
    };

    protected MptcpFinding Passed(string id, string summary, params object?[] evidence) =>
        Finding(id, FindingSeverity.Passed, summary, "", "", evidence);

    protected MptcpFinding PassedAs(FindingComponent component, string id, string summary, params object?[] evidence) =>
        Finding(id, FindingSeverity.Passed, summary, "", "", evidence, component: component);

    private string Declared(string id) =>
        _ids.Contains(id) ? id : throw new InvalidOperationException($"{GetType().Name} emitted '{id}', which it does not declare.");

    /// <summary>The interfaces the endpoints use (their own, or the one their address is on).</summary>
    protected static IReadOnlyList<string> EndpointInterfaces(HostFacts f) =>
        RouteTable.EndpointInterfaces(f.Endpoints ?? Array.Empty<MptcpEndpoint>(), f.Addresses);
}

/// <summary>The finding catalog: every rule, and the engine that runs them over a host's facts.</summary>
public static class DiagnosisRules
{
    public static IReadOnlyList<DiagnosisRule> All { get; } = new DiagnosisRule[]
    {
        new KernelRules(), new PathManagerRules(), new DaemonRules(), new NetworkManagerRules(), new FirewallRules(),
        new RoutingRules(), new ApplicationRules(), new NamespaceRules(), new EndpointRoleRules(), new PeerRules(), new CaptureRules(), new CompletenessRules(),
    };

    /// <summary>Every id the diagnosis can emit: CheckUnavailable and the ids the rules declare.</summary>
    public static IReadOnlyList<string> Catalog { get; } =
        new[] { FindingIds.CheckUnavailable }.Concat(All.SelectMany(r => r.Ids)).Distinct(StringComparer.Ordinal).ToArray();

    /// <summary>Judges the facts: every finding, ordered by severity.</summary>
    public static List<MptcpFinding> Evaluate(HostFacts f)
    {
        var all = new List<MptcpFinding>();
        foreach (UnavailableCheck u in f.Unavailable)
        {
            all.Add(new MptcpFinding
            {
                Id = FindingIds.CheckUnavailable, Severity = FindingSeverity.Information, Component = u.Component,
                Summary = $"The {u.Check} check could not run.", Detail = u.Reason, Evidence = new object[] { u },
                Remediation = u.Reason.Contains("CAP_NET_ADMIN", StringComparison.Ordinal) || u.Reason.Contains("ermission", StringComparison.Ordinal)
                    || u.Reason.Contains("not permitted", StringComparison.Ordinal)
                    ? "Run the diagnosis as root." : "See Detail.",
            });
        }

        foreach (DiagnosisRule rule in All)
        {
            all.AddRange(rule.Evaluate(f));
        }

        return all.OrderBy(x => x.Severity).ToList();
    }
}
