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
    /// <summary>Reaching a host over PowerShell remoting (Invoke-MptcpDiagnosis -HostName, -Session; Test-MptcpPath).</summary>
    Remoting,
    /// <summary>The network between two hosts (Test-MptcpPath).</summary>
    Path,
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
    public const string HostUnreachable = nameof(HostUnreachable);
    public const string ModuleMissingOnHost = nameof(ModuleMissingOnHost);
    public const string PathStripsMptcpOption = nameof(PathStripsMptcpOption);
    public const string PathDropsMptcpSyn = nameof(PathDropsMptcpSyn);
    public const string ServerDropsMptcpSyn = nameof(ServerDropsMptcpSyn);
    public const string ServerNotListeningMptcp = nameof(ServerNotListeningMptcp);
    public const string NatRewritesSubflow = nameof(NatRewritesSubflow);

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
    /// <summary>
    /// The host the finding is about, by the name it was reached by (Invoke-MptcpDiagnosis -HostName or -Session,
    /// Test-MptcpPath); null for a diagnosis of this host.
    /// </summary>
    public string? ComputerName { get; internal set; }
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

    /// <summary>
    /// Rebuilds a finding from its properties, as another host's finding arrives through remoting (property bags):
    /// its evidence kept as it came, its repair records rebuilt by <paramref name="repair"/> (null: left out), and
    /// <paramref name="computerName"/> as the host it is about.
    /// </summary>
    public static MptcpFinding FromProperties(Func<string, object?> property, Func<object, MptcpRepair?> repair, string computerName)
    {
        static T EnumOf<T>(object? value, T fallback) where T : struct, Enum =>
            value is not null && Enum.TryParse(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture), out T parsed) && Enum.IsDefined(parsed)
                ? parsed : fallback;
        static IEnumerable<object> Items(object? value) => value switch
        {
            null => Array.Empty<object>(),
            string s => new object[] { s },
            System.Collections.IEnumerable e => e.Cast<object?>().OfType<object>(),
            _ => new[] { value },
        };
        string Text(string name) => Convert.ToString(property(name), System.Globalization.CultureInfo.InvariantCulture) ?? "";
        return new MptcpFinding
        {
            Id = Text(nameof(Id)),
            Severity = EnumOf(property(nameof(Severity)), FindingSeverity.Information),
            Component = EnumOf(property(nameof(Component)), FindingComponent.Remoting),
            Summary = Text(nameof(Summary)),
            Detail = Text(nameof(Detail)),
            Remediation = Text(nameof(Remediation)),
            Evidence = Items(property(nameof(Evidence))).ToArray(),
            Repair = Items(property(nameof(Repair))).Select(repair).OfType<MptcpRepair>().ToArray(),
            ComputerName = computerName,
        };
    }
}

/// <summary>A check the diagnosis could not run, and why.</summary>
public sealed record UnavailableCheck(FindingComponent Component, string Check, string Reason, bool NeedsPrivilege = false)
{
    /// <summary>Whether an exception is the kernel's or the file system's refusal (EPERM, EACCES): the check needs root.</summary>
    internal static bool IsPrivilegeRefusal(Exception e) =>
        e is UnauthorizedAccessException or Kernel.KernelException { Errno: 1 or 13 };
}
