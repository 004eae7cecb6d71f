using System;
using System.Collections.Generic;

namespace MptcpTools.Host;

/// <summary>A port or a range of ports a rule matches.</summary>
public readonly record struct PortRange(int From, int To)
{
    public bool Contains(int port) => From <= port && port <= To;
}

/// <summary>A chain of a ruleset, with its hook and policy (lower case: "drop", "accept"; null for none).</summary>
public sealed record FirewallChain(string Source, string Family, string Table, string Name, string? Hook, string? Policy);

/// <summary>
/// One firewall rule, reduced to what matters to MPTCP: what it matches (option 30, a port, an interface, a
/// source range, something unreadable) and what it does. Facts only: Diagnosis.FirewallJudge decides.
/// </summary>
public sealed record FirewallRule
{
    /// <summary>nftables, iptables, ip6tables, iptables-legacy or ip6tables-legacy.</summary>
    public string Source { get; init; } = "";
    /// <summary>ip, ip6, inet, arp, bridge or netdev.</summary>
    public string Family { get; init; } = "";
    public string Table { get; init; } = "";
    public string Chain { get; init; } = "";
    /// <summary>The nftables rule handle.</summary>
    public long? Handle { get; init; }
    /// <summary>The line in the *-save output.</summary>
    public int? Line { get; init; }
    /// <summary>The rule's place in its chain, from 1.</summary>
    public int Position { get; init; }
    /// <summary>The rule as its tool shows it: nft's text, or the -A line of *-save.</summary>
    public string Text { get; init; } = "";
    /// <summary>nftables: the rule as nft -j listed it (a JSON object), to compare and to put it back exactly.</summary>
    public string? Json { get; init; }
    /// <summary>iptables: the rule's arguments after "-A CHAIN", unquoted as iptables-restore reads them.</summary>
    public string[] Arguments { get; init; } = Array.Empty<string>();
    /// <summary>accept, drop, reject, jump, goto, return, or an iptables target, in lower case; null without one.</summary>
    public string? Verdict { get; init; }
    /// <summary>The rule matches segments that carry TCP option 30 (MPTCP).</summary>
    public bool MatchesMptcpOption { get; init; }
    /// <summary>The MPTCP subtype the match is limited to, when it is.</summary>
    public string? MptcpSubtype { get; init; }
    /// <summary>The rule removes option 30 (TCPOPTSTRIP, or nft's reset tcp option mptcp).</summary>
    public bool StripsMptcpOption { get; init; }
    /// <summary>A match this module cannot read (u32, bpf, string, an xt extension, a raw header match).</summary>
    public string? OpaqueMatch { get; init; }
    /// <summary>
    /// The rule drops packets that fail a reverse-path check: "strict" (the route back must leave through the
    /// interface the packet came in on: nft fib saddr . iif, iptables -m rpfilter) or "loose" (any route back).
    /// </summary>
    public string? ReversePathCheck { get; init; }
    public string? InputInterface { get; init; }
    public string? SourceNetwork { get; init; }
    public PortRange[] DestinationPorts { get; init; } = Array.Empty<PortRange>();

    public override string ToString() => $"{Source} {Family} {Table} {Chain}: {Text}";
}

/// <summary>Why a firewall reader read nothing, or what else it noticed.</summary>
public enum FirewallReadProblem
{
    /// <summary>The tool is not installed: nothing of that kind to read.</summary>
    NotInstalled,
    /// <summary>The tool ran and failed, or did not finish.</summary>
    Failed,
    /// <summary>The tool's output could not be read.</summary>
    Unparsable,
    /// <summary>The tool ran and was refused: reading the rules takes CAP_NET_ADMIN.</summary>
    NotPermitted,
    /// <summary>ufw is enabled; its rules are read through iptables.</summary>
    UfwEnabled,
}

/// <summary>What a firewall reader could not read, and why.</summary>
public sealed record FirewallReadNote(string Source, FirewallReadProblem Problem, string Message);

/// <summary>net.ipv4.conf.INTERFACE.rp_filter ("all" and "default" included).</summary>
public sealed record ReversePathFilterSetting(string Interface, int Value);

/// <summary>Everything the firewall readers found on this host.</summary>
public sealed class FirewallRuleset
{
    public List<FirewallChain> Chains { get; init; } = new();
    public List<FirewallRule> Rules { get; init; } = new();
    public List<ReversePathFilterSetting> ReversePathFilters { get; init; } = new();
    public List<FirewallReadNote> Notes { get; init; } = new();
    /// <summary>firewalld's IPv6_rpfilter setting (/etc/firewalld/firewalld.conf), when firewalld is configured.</summary>
    public string? FirewalldIpv6RpFilter { get; init; }
}
