using System;
using System.Collections.Generic;
using System.Linq;
using MptcpTools.Host;

namespace MptcpTools.Diagnosis;

public enum FirewallEffect
{
    /// <summary>Drops or rejects packets that carry TCP option 30: MPTCP SYNs vanish, or joins do.</summary>
    DropsMptcpOption,
    /// <summary>Removes option 30: the peer never sees MP_CAPABLE, every connection falls back.</summary>
    StripsMptcpOption,
    /// <summary>Admits the port only on some interfaces or source ranges: subflows over the other paths die.</summary>
    BlocksSubflowPath,
    /// <summary>rp_filter=1 on an interface that carries an endpoint.</summary>
    StrictReversePath,
    /// <summary>A rule that may touch MPTCP but that this module cannot judge (u32, bpf, raw payload, opaque xt).</summary>
    Unjudged,
}

/// <summary>One firewall rule (or setting) that gets in MPTCP's way, and what to do about it.</summary>
public sealed class FirewallRuleFinding
{
    /// <summary>nftables, iptables, iptables-legacy, ip6tables, ip6tables-legacy, sysctl.</summary>
    public string Source { get; init; } = "";
    public string Family { get; init; } = "";
    public string? Table { get; init; }
    public string? Chain { get; init; }
    /// <summary>The nftables rule handle.</summary>
    public long? Handle { get; init; }
    /// <summary>The line in the *-save output.</summary>
    public int? Line { get; init; }
    public string Rule { get; init; } = "";
    public FirewallEffect Effect { get; init; }
    public FindingSeverity Severity { get; init; }
    public string Detail { get; init; } = "";
    public string Remediation { get; init; } = "";
    /// <summary>The change that removes the problem, when the module can make it.</summary>
    public MptcpRepair? Repair { get; init; }

    public override string ToString() => $"{Source} {Family} {Table} {Chain}: {Effect}: {Rule}";
}

/// <summary>
/// Judges the rules the firewall readers found: which drop or strip option 30, which admit a service port on
/// one path only, which reverse-path filters are strict on an endpoint's interface. Pure: tests feed it rulesets.
/// </summary>
public static class FirewallJudge
{
    private static readonly string[] DropVerdicts = { "drop", "reject" };

    /// <summary>Every finding, Errors first, in ruleset order within a severity.</summary>
    /// <param name="persistent">The persistent rp_filter assignments (sysctl.d), to name where strict mode comes from.</param>
    /// <param name="ufw">ufw's own sysctl assignments, when ufw is enabled.</param>
    public static List<FirewallRuleFinding> Judge(FirewallRuleset set, int? port, IReadOnlyCollection<string> interfaces,
        IReadOnlyList<Kernel.PersistentSysctlSetting>? persistent = null, IReadOnlyList<Kernel.PersistentSysctlSetting>? ufw = null)
    {
        var findings = new List<FirewallRuleFinding>();
        findings.AddRange(JudgeRules(set.Rules, port, interfaces));
        if (port is { } p)
        {
            findings.AddRange(JudgePortAccepts(set.Chains, set.Rules, p, interfaces));
        }

        findings.AddRange(JudgeReversePath(set.ReversePathFilters, interfaces, persistent, ufw));
        findings.AddRange(JudgeReversePathRules(set, interfaces));
        return findings.OrderBy(f => f.Severity).ToList();
    }

    /// <summary>
    /// Firewall rules that drop what fails a strict reverse-path check (nft fib saddr . iif, ip6tables -m rpfilter):
    /// the IPv6 counterpart of rp_filter=1, which the kernel does not have as a sysctl.
    /// </summary>
    public static IEnumerable<FirewallRuleFinding> JudgeReversePathRules(FirewallRuleset set, IReadOnlyCollection<string> interfaces)
    {
        if (interfaces.Count == 0)
        {
            yield break;
        }

        foreach (FirewallRule r in set.Rules.Where(r => r.ReversePathCheck == "strict" && r.Verdict is "drop" or "reject"
                                                        && (r.InputInterface is null || interfaces.Contains(r.InputInterface))))
        {
            bool nft = r.Source == "nftables";
            bool firewalld = nft && r.Table == "firewalld";
            string fix = firewalld
                ? $"firewalld adds it (IPv6_rpfilter={set.FirewalldIpv6RpFilter ?? "yes"} in /etc/firewalld/firewalld.conf): set IPv6_rpfilter=loose there (firewalld 1.0 and later), then firewall-cmd --reload"
                : nft
                    ? "Check the source against any route back instead: fib saddr oif missing drop (without '. iif')"
                    : $"Accept any route back: add --loose to the rule ({FirewallChanges.IptablesCommands.GetValueOrDefault(r.Source, r.Source)} -t {r.Table} ... -m rpfilter --loose --invert -j DROP)";
            yield return Finding(r, FirewallEffect.StrictReversePath, FindingSeverity.Warning,
                $"Drops packets whose source is not routed back through the interface they came in on (strict reverse-path filtering{(r.Family == "ip6" ? " for IPv6" : r.Family == "inet" ? ", IPv4 and IPv6" : "")}), in {r.Table}/{r.Chain}: subflows that arrive over one path and are routed back over another are dropped.",
                fix, null);
        }
    }

    /// <summary>Rules that drop, strip or might touch option 30.</summary>
    public static IEnumerable<FirewallRuleFinding> JudgeRules(IReadOnlyList<FirewallRule> rules, int? port, IReadOnlyCollection<string> interfaces)
    {
        foreach (FirewallRule r in rules)
        {
            string where = r.Source == "nftables" ? $"{r.Family} {r.Table} {r.Chain}" : $"{r.Table}/{r.Chain}";
            bool drops = r.Verdict is not null && DropVerdicts.Contains(r.Verdict);
            if (r.MatchesMptcpOption && drops)
            {
                MptcpRepair repair = DeleteRule(r, rules, FindingIds.FirewallDropsMptcpOption);
                yield return Finding(r, FirewallEffect.DropsMptcpOption, FindingSeverity.Error,
                    r.MptcpSubtype is null
                        ? $"Drops every TCP segment that carries option 30 (MPTCP) in {where}: MPTCP SYNs go unanswered and the kernel falls back to TCP."
                        : $"Drops TCP segments whose MPTCP option has subtype {r.MptcpSubtype} in {where}.",
                    $"Delete the rule: {repair.Command}", repair);
            }
            else if (r.StripsMptcpOption)
            {
                MptcpRepair repair = DeleteRule(r, rules, FindingIds.FirewallStripsMptcpOption);
                yield return Finding(r, FirewallEffect.StripsMptcpOption, FindingSeverity.Error,
                    r.Source == "nftables"
                        ? $"Resets (strips) TCP option 30 (MPTCP) in {where}: peers never see MP_CAPABLE and every connection falls back to TCP."
                        : $"Strips TCP option 30 (MPTCP) in {where}: peers never see MP_CAPABLE and every connection falls back to TCP.",
                    r.Source == "nftables" ? $"Delete the rule: {repair.Command}" : $"Remove 30 from --strip-options, or delete the rule: {repair.Command}", repair);
            }
            else if (r.OpaqueMatch is { } opaque && (opaque == "xt" || drops))
            {
                yield return Finding(r, FirewallEffect.Unjudged, FindingSeverity.Information,
                    opaque == "xt"
                        ? "An iptables extension (xt) inside nftables, opaque in nft's JSON, and no iptables-save showed it: it may strip or drop MPTCP options."
                        : $"A {opaque} match that drops packets: it may match TCP option 30, and this module cannot tell.",
                    opaque == "xt" ? "Read it with iptables-nft-save, or check it by hand." : "Read the rule and check it does not match MPTCP options.", null);
            }
        }
    }

    /// <summary>A service port admitted only on some interfaces or from some sources under a drop policy.</summary>
    public static IEnumerable<FirewallRuleFinding> JudgePortAccepts(IReadOnlyList<FirewallChain> chains, IReadOnlyList<FirewallRule> rules, int port, IReadOnlyCollection<string> interfaces)
    {
        var accepts = rules.Where(r => r.Verdict == "accept" && r.DestinationPorts.Any(range => range.Contains(port))).ToList();
        foreach (var group in accepts.GroupBy(r => (r.Source, r.Family, r.Table, r.Chain)))
        {
            FirewallChain? chain = chains.FirstOrDefault(c => c.Source == group.Key.Source && c.Family == group.Key.Family && c.Table == group.Key.Table && c.Name == group.Key.Chain);
            bool filtering = chain is { Policy: "drop" } && chain.Hook is "input" or "forward";
            if (!filtering || group.Any(r => r.InputInterface is null && r.SourceNetwork is null))
            {
                continue; // no drop policy, or an accept that admits the port from everywhere
            }

            string[] admitted = group.Select(r => r.InputInterface ?? r.SourceNetwork ?? "").Distinct().ToArray();
            string[] others = interfaces.Where(i => !group.Any(r => r.InputInterface == i)).ToArray();
            if (group.All(r => r.InputInterface is not null) && others.Length == 0 && interfaces.Count > 0)
            {
                continue; // every endpoint interface is admitted
            }

            foreach (FirewallRule accept in group)
            {
                string how = group.Key.Source == "nftables"
                    ? $"nft add rule {ShellText.Join(new[] { group.Key.Family, group.Key.Table, group.Key.Chain })} tcp dport {port} accept"
                    : $"{FirewallChanges.IptablesCommands.GetValueOrDefault(group.Key.Source, group.Key.Source)} -A {ShellText.Quote(group.Key.Chain)} -p tcp --dport {port} -j ACCEPT (or one rule per subflow interface or source range)";
                yield return Finding(accept, FirewallEffect.BlocksSubflowPath, FindingSeverity.Warning,
                    $"Port {port} is admitted only {(accept.InputInterface is not null ? $"on {string.Join(", ", admitted)}" : $"from {string.Join(", ", admitted)}")} under a {(group.Key.Source == "nftables" ? "drop" : "DROP")} policy: subflows that arrive{(others.Length > 0 ? $" on {string.Join(", ", others)}" : " over other paths")} are dropped.",
                    $"Admit the port on every path: {how}", null);
            }
        }
    }

    /// <summary>rp_filter=1 (strict) on the given interfaces: the maximum of "all" and the interface's own; with where it is set.</summary>
    public static IEnumerable<FirewallRuleFinding> JudgeReversePath(IReadOnlyList<ReversePathFilterSetting> settings, IReadOnlyCollection<string> interfaces,
        IReadOnlyList<Kernel.PersistentSysctlSetting>? persistent = null, IReadOnlyList<Kernel.PersistentSysctlSetting>? ufw = null)
    {
        int all = settings.FirstOrDefault(s => s.Interface == "all")?.Value ?? 0;
        foreach (string iface in interfaces)
        {
            if (settings.FirstOrDefault(s => s.Interface == iface) is not { } own || Math.Max(all, own.Value) != 1)
            {
                continue;
            }

            var repair = new ReversePathFilterRepair { FindingId = FindingIds.StrictReversePathFilter, Interface = iface, Value = 2, Before = own.Value };
            string origin = Origin(iface, own.Value, all, persistent, ufw);
            yield return new FirewallRuleFinding
            {
                Source = "sysctl", Family = "ip", Rule = $"{repair.SysctlName} = {own.Value} (all = {all})",
                Effect = FirewallEffect.StrictReversePath, Severity = FindingSeverity.Warning,
                Detail = $"Strict reverse-path filtering on {iface}, which carries an MPTCP endpoint: packets that arrive on {iface} from a source the kernel would route through another interface are dropped, which kills subflows on asymmetric paths.{origin}",
                Remediation = $"Use loose mode: {repair.Command}, and make it persistent in /etc/sysctl.d.",
                Repair = repair,
            };
        }
    }

    // Where strict mode comes from at boot: ufw's sysctl file (applied when ufw starts, after sysctl.d), the
    // winning sysctl.d/sysctl.conf line for the interface, for "all", or "default" (which new interfaces copy).
    private static string Origin(string iface, int own, int all, IReadOnlyList<Kernel.PersistentSysctlSetting>? persistent, IReadOnlyList<Kernel.PersistentSysctlSetting>? ufw)
    {
        var keys = new List<string>();
        if (all == 1)
        {
            keys.Add("net.ipv4.conf.all.rp_filter");
        }

        if (own == 1)
        {
            keys.Add($"net.ipv4.conf.{iface}.rp_filter");
            keys.Add("net.ipv4.conf.default.rp_filter");
        }

        var said = new List<string>();
        foreach (string key in keys)
        {
            if (ufw?.LastOrDefault(p => p.Effective && p.Matches(key) && p.Value.Trim() == "1") is { } u)
            {
                said.Add($"ufw, which is enabled, applies {u.File}:{u.Line} ({u.Key} = 1) when it starts, after sysctl.d");
            }
            else if (persistent?.LastOrDefault(p => p.Effective && p.Matches(key)) is { } winner && winner.Value.Trim() == "1")
            {
                said.Add($"{winner.File}:{winner.Line} sets {winner.Key} = 1 at boot{(key.Contains(".default.") ? " (new interfaces take it)" : "")}");
            }
        }

        return said.Count == 0 ? "" : " " + string.Join("; ", said) + ".";
    }

    private static FirewallRuleFinding Finding(FirewallRule r, FirewallEffect effect, FindingSeverity severity, string detail, string remediation, MptcpRepair? repair) => new()
    {
        Source = r.Source, Family = r.Family, Table = r.Table, Chain = r.Chain, Handle = r.Handle, Line = r.Line, Rule = r.Text,
        Effect = effect, Severity = severity, Detail = detail, Remediation = remediation, Repair = repair,
    };

    /// <summary>The record that deletes a rule, with where it stood so it can be put back.</summary>
    private static MptcpRepair DeleteRule(FirewallRule r, IReadOnlyList<FirewallRule> rules, string findingId)
    {
        if (r.Source == "nftables")
        {
            bool last = !rules.Any(o => o.Source == r.Source && o.Family == r.Family && o.Table == r.Table && o.Chain == r.Chain && o.Position > r.Position);
            return new NftablesRuleRepair
            {
                FindingId = findingId, Family = r.Family, Table = r.Table, Chain = r.Chain, Handle = r.Handle ?? 0, Rule = r.Text,
                Index = r.Position - 1, Last = last, RuleJson = r.Json,
            };
        }

        return new IptablesRuleRepair
        {
            FindingId = findingId, Source = r.Source, Table = r.Table, Chain = r.Chain, Arguments = r.Arguments, Position = r.Position, Rule = r.Text,
        };
    }
}
