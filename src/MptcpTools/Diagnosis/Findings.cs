using System;
using System.Collections.Generic;
using System.Linq;
using MptcpTools.Host;
using MptcpTools.Kernel;
using MptcpTools.Packets;

namespace MptcpTools.Diagnosis;

public enum FindingSeverity
{
    Error,
    Warning,
    Information,
    Passed,
}

/// <summary>What Repair-MptcpConfiguration can do about a finding.</summary>
public enum RepairKind
{
    None,
    EnableMptcp,
    RaiseLimits,
    AddEndpoints,
    StartDaemon,
    LooseReversePath,
    RemoveFirewallRule,
    AddSourceRoute,
}

/// <summary>One verdict of the diagnosis: a stable id, what was found, the evidence, and the fix.</summary>
public sealed class MptcpFinding
{
    public string Id { get; init; } = "";
    public FindingSeverity Severity { get; init; }
    public string Component { get; init; } = "";
    public string Summary { get; init; } = "";
    public string Detail { get; init; } = "";
    /// <summary>The objects the rule judged.</summary>
    public object[] Evidence { get; init; } = Array.Empty<object>();
    /// <summary>What to do, with the exact commands.</summary>
    public string Remediation { get; init; } = "";
    /// <summary>Where the id is documented: Get-Help about_MptcpTools, section of the id.</summary>
    public string HelpUri => $"about_MptcpTools#{Id}";
    public RepairKind Repair { get; init; }
    /// <summary>Whether Repair-MptcpConfiguration applies the fix without -Force.</summary>
    public bool SafeToRepair { get; init; }

    public override string ToString() => $"{Severity} {Id}: {Summary}";
}

/// <summary>Everything the checks gathered on one host; each part null when it could not be gathered.</summary>
public sealed class HostFacts
{
    public MptcpKernelState? Kernel { get; init; }
    public IReadOnlyList<MptcpEndpoint>? Endpoints { get; init; }
    public IReadOnlyList<InterfaceAddress>? Addresses { get; init; }
    public MptcpDaemonStatus? Daemon { get; init; }
    public IReadOnlyList<NetworkManagerMptcpSetting>? NetworkManager { get; init; }
    public string? NetworkManagerNote { get; init; }
    public IReadOnlyList<FirewallRuleFinding>? Firewall { get; init; }
    public IReadOnlyList<MptcpRoutingResult>? Routing { get; init; }
    public IReadOnlyList<MptcpApplicationReport>? Applications { get; init; }
    public MptcpConnectivityResult? Probe { get; init; }
    public IReadOnlyList<MptcpConnectionSummary>? Capture { get; init; }
    public IReadOnlyDictionary<string, long>? Counters { get; init; }
    /// <summary>Checks that could not run: component and why.</summary>
    public IReadOnlyList<(string Component, string Reason)> Unavailable { get; init; } = Array.Empty<(string, string)>();
    /// <summary>What the caller asked for, so a rule knows a missing part was not asked for, not lost.</summary>
    public bool ApplicationAsked { get; init; }
    public bool ProbeAsked { get; init; }
    public bool CaptureAsked { get; init; }
}

/// <summary>One change Repair-MptcpConfiguration made, or would make, with before and after.</summary>
public sealed class MptcpRepairResult
{
    public string FindingId { get; init; } = "";
    public string Action { get; init; } = "";
    public string Target { get; init; } = "";
    public string? Before { get; init; }
    public string? After { get; init; }
    /// <summary>False when the change was only described (a riskier fix without -Force, or nothing to do).</summary>
    public bool Applied { get; init; }
    /// <summary>The exact commands that make the change by hand.</summary>
    public string Command { get; init; } = "";
    /// <summary>How to take the change back.</summary>
    public string Undo { get; init; } = "";
    public string? Note { get; init; }

    public override string ToString() => $"{FindingId}: {Action} {Target}: {Before} -> {After}{(Applied ? "" : " (not applied)")}";
}
