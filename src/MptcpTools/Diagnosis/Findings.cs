using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;

namespace MptcpTools.Diagnosis;

public enum FindingSeverity
{
    Error,
    Warning,
    Information,
    Passed,
}

/// <summary>The part of the host a finding is about. The one vocabulary of Component, everywhere.</summary>
public enum FindingComponent
{
    Kernel,
    Sysctl,
    PathManager,
    Daemon,
    NetworkManager,
    Firewall,
    Routing,
    Application,
    Peer,
    Capture,
    /// <summary>The diagnosis itself: whether every check ran.</summary>
    Diagnosis,
}

/// <summary>
/// The finding ids. They are part of the module's interface: never remove or rename one. about_MptcpTools
/// documents each, and a test checks that every id a rule may emit is documented and every documented id
/// has a rule.
/// </summary>
public static class FindingIds
{
    public const string MptcpUnsupported = nameof(MptcpUnsupported);
    public const string MptcpDisabled = nameof(MptcpDisabled);
    public const string ObsoleteSysctlKey = nameof(ObsoleteSysctlKey);
    public const string SysctlNotPersistent = nameof(SysctlNotPersistent);
    public const string NoSubflowEndpoints = nameof(NoSubflowEndpoints);
    public const string SubflowLimitZero = nameof(SubflowLimitZero);
    public const string AddAddrAcceptedZero = nameof(AddAddrAcceptedZero);
    public const string EndpointAddressMissing = nameof(EndpointAddressMissing);
    public const string EndpointsExceedLimit = nameof(EndpointsExceedLimit);
    public const string UserspacePmWithoutDaemon = nameof(UserspacePmWithoutDaemon);
    public const string DaemonNotRunning = nameof(DaemonNotRunning);
    public const string DaemonConfigInvalid = nameof(DaemonConfigInvalid);
    public const string DaemonPluginMissing = nameof(DaemonPluginMissing);
    public const string NetworkManagerMptcpDisabled = nameof(NetworkManagerMptcpDisabled);
    public const string FirewallDropsMptcpOption = nameof(FirewallDropsMptcpOption);
    public const string FirewallStripsMptcpOption = nameof(FirewallStripsMptcpOption);
    public const string FirewallBlocksSubflowPath = nameof(FirewallBlocksSubflowPath);
    public const string StrictReversePathFilter = nameof(StrictReversePathFilter);
    public const string MissingSourceRoute = nameof(MissingSourceRoute);
    public const string ApplicationNotUsingMptcp = nameof(ApplicationNotUsingMptcp);
    public const string PeerNotMptcpCapable = nameof(PeerNotMptcpCapable);
    public const string MptcpSynDropped = nameof(MptcpSynDropped);
    public const string JoinNotAnswered = nameof(JoinNotAnswered);
    public const string JoinRejected = nameof(JoinRejected);
    public const string PlainTcpOnly = nameof(PlainTcpOnly);
    public const string DaemonWithKernelPm = nameof(DaemonWithKernelPm);
    public const string NetworkManagerManagesEndpoints = nameof(NetworkManagerManagesEndpoints);
    public const string MptcpBlackholeDetected = nameof(MptcpBlackholeDetected);
    public const string PeerUnreachable = nameof(PeerUnreachable);
    public const string FirewallRuleUnjudged = nameof(FirewallRuleUnjudged);
    public const string CheckUnavailable = nameof(CheckUnavailable);
    public const string FallbackAfterHandshake = nameof(FallbackAfterHandshake);
    public const string OtherNetworkNamespace = nameof(OtherNetworkNamespace);
    public const string EndpointRoleMismatch = nameof(EndpointRoleMismatch);
    public const string NetworkManagerSkipsAddress = nameof(NetworkManagerSkipsAddress);
    public const string EndpointManagersConflict = nameof(EndpointManagersConflict);
    public const string DiagnosisIncomplete = nameof(DiagnosisIncomplete);

    /// <summary>Every id, in the order they are declared.</summary>
    public static IReadOnlyList<string> All { get; } = typeof(FindingIds)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.IsLiteral && f.FieldType == typeof(string))
        .Select(f => (string)f.GetRawConstantValue()!)
        .ToArray();
}

/// <summary>One verdict of the diagnosis: a stable id, what was found, the evidence, and the fix.</summary>
public sealed class MptcpFinding
{
    public string Id { get; init; } = "";
    public FindingSeverity Severity { get; init; }
    public FindingComponent Component { get; init; }
    public string Summary { get; init; } = "";
    public string Detail { get; init; } = "";
    /// <summary>The objects the rule judged.</summary>
    public object[] Evidence { get; init; } = Array.Empty<object>();
    /// <summary>What to do, with the exact commands (rendered from <see cref="Repair"/> where there is one).</summary>
    public string Remediation { get; init; } = "";
    /// <summary>Where the id is documented: about_MptcpTools (Get-Help about_MptcpTools) in the project, at the id's entry.</summary>
    public string HelpUri => ProjectSite.AboutTopic(Id);
    /// <summary>The changes that fix it, as data: what Repair-MptcpConfiguration binds and applies.</summary>
    public MptcpRepair[] Repair { get; init; } = Array.Empty<MptcpRepair>();
    /// <summary>Whether Repair-MptcpConfiguration applies every repair of this finding without -Force.</summary>
    public bool SafeToRepair => Repair.Length > 0 && Repair.All(r => r.SafeToAutomate);

    public override string ToString() => $"{Severity} {Id}: {Summary}";
}

/// <summary>A check the diagnosis could not run, and why.</summary>
public sealed record UnavailableCheck(FindingComponent Component, string Check, string Reason);
