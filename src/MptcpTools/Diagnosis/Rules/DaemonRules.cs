using System.Collections.Generic;
using System.Linq;
using MptcpTools.Host;

namespace MptcpTools.Diagnosis;

/// <summary>mptcpd: does it run when it should, does it fit the kernel's path manager, is its configuration sound.</summary>
internal sealed class DaemonRules : DiagnosisRule
{
    public DaemonRules() : base(FindingComponent.Daemon, FindingIds.UserspacePmWithoutDaemon, FindingIds.DaemonWithKernelPm,
        FindingIds.DaemonNotRunning, FindingIds.DaemonPluginMissing, FindingIds.DaemonConfigInvalid)
    {
    }

    public override IEnumerable<MptcpFinding> Evaluate(HostFacts f)
    {
        if (f.Daemon is null)
        {
            yield break;
        }

        MptcpDaemonAssessment d = DaemonJudge.Assess(f.Daemon, f.Kernel?.PathManager);
        string unit = d.UnitName ?? MptcpDaemon.UnitNames[0];
        var start = new UnitRepair { FindingId = FindingIds.DaemonNotRunning, Unit = unit };
        switch (d.Agreement)
        {
            case DaemonKernelAgreement.UserspacePmWithoutDaemon:
                yield return Finding(FindingIds.UserspacePmWithoutDaemon, FindingSeverity.Error, "The kernel expects a userspace path manager, and no mptcpd runs.",
                    d.AgreementDetail,
                    d.Installed
                        ? $"Start it: {start.Command}; or go back to the in-kernel manager: sysctl -w net.mptcp.pm_type=0"
                        : "Install mptcpd (apt-get install mptcpd mptcpd-plugins) and start it, or: sysctl -w net.mptcp.pm_type=0",
                    new object[] { d }, d.Installed ? new MptcpRepair[] { new UnitRepair { FindingId = FindingIds.UserspacePmWithoutDaemon, Unit = unit } } : null);
                break;
            case DaemonKernelAgreement.DaemonWithKernelPm:
                yield return Finding(FindingIds.DaemonWithKernelPm, FindingSeverity.Warning,
                    "mptcpd runs a userspace path-manager plug-in while the kernel uses its in-kernel manager.", d.AgreementDetail,
                    "Either sysctl -w net.mptcp.pm_type=1 (let mptcpd manage paths), or set path-manager=addr_adv in /etc/mptcpd/mptcpd.conf.", new object[] { d });
                break;
            default:
                yield return Passed(FindingIds.UserspacePmWithoutDaemon, d.AgreementDetail, d);
                break;
        }

        if (d.Installed && !d.Running && (d.UnitFileState == "enabled" || d.ActiveState == "failed"))
        {
            yield return Finding(FindingIds.DaemonNotRunning, FindingSeverity.Warning,
                $"mptcpd is {(d.UnitFileState == "enabled" ? "enabled" : "installed")} but not running ({d.UnitName}: {d.ActiveState}/{d.SubState}{(d.LastExitStatus is { } s && s != 0 ? $", exit status {s}" : "")}).",
                "The endpoints it would manage are not added, and a userspace path manager would have no daemon."
                + (d.Journal.Length > 0 ? $" Its journal ends: {string.Join(" | ", d.Journal.TakeLast(5).Select(j => j.Message))}" : ""),
                $"{start.Command}; journalctl -u {unit} says why it stopped.", new object[] { d }, new MptcpRepair[] { start });
        }
        else if (d.Installed)
        {
            yield return Passed(FindingIds.DaemonNotRunning, d.Running ? $"mptcpd runs ({d.Source})." : "mptcpd is installed, not enabled, and not needed by the kernel's path manager.", d);
        }

        if (!d.Installed)
        {
            yield break;
        }

        var plugin = d.Problems.Where(p => p.Kind is MptcpdProblemKind.PluginMissing or MptcpdProblemKind.PluginDirMissing).ToList();
        var other = d.Problems.Except(plugin).Where(p => p.Kind != MptcpdProblemKind.FileMissing).ToList();
        foreach (MptcpdConfigProblem p in plugin)
        {
            yield return Finding(FindingIds.DaemonPluginMissing, FindingSeverity.Error, $"{p.File}:{p.Line}: {p.Message}",
                "mptcpd cannot use a plug-in that is not installed; it falls back to another, or does not start.",
                "apt-get install mptcpd-plugins, or correct the plug-in name (the installed ones: " + string.Join(", ", d.InstalledPlugins) + ").", new object[] { p });
        }

        foreach (MptcpdConfigProblem p in other)
        {
            yield return Finding(FindingIds.DaemonConfigInvalid, FindingSeverity.Warning, $"{p.File}:{(p.Line > 0 ? $"{p.Line}:" : "")} {p.Kind}: {p.Message}",
                "mptcpd ignores or rejects what it does not understand, so the configuration does not do what it says.",
                $"Correct {p.File}{(p.Line > 0 ? $" line {p.Line}" : "")}; the keys of [core] are {string.Join(", ", MptcpdConfig.KnownKeys)}.", new object[] { p });
        }

        if (plugin.Count == 0 && other.Count == 0)
        {
            yield return Passed(FindingIds.DaemonConfigInvalid, $"{d.ConfigPath} is sound.", d);
        }
    }
}
