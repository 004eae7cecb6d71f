using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Net;
using System.Net.Sockets;
using MptcpTools.Diagnosis;
using MptcpTools.Host;
using MptcpTools.Kernel;

namespace MptcpTools.Commands;

/// <summary>
/// Repair-MptcpConfiguration: applies the fixes that are safe to automate for the findings it is given;
/// riskier ones (firewall rules, reverse-path filtering, source routing) are only described unless -Force.
/// </summary>
[Cmdlet(VerbsDiagnostic.Repair, "MptcpConfiguration", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(MptcpRepairResult))]
public sealed class RepairMptcpConfigurationCommand : MptcpCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    public MptcpFinding[] Finding { get; set; } = Array.Empty<MptcpFinding>();

    /// <summary>Also apply the riskier fixes (reverse-path filter, firewall rules).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>The file of its own that makes net.mptcp.enabled persistent.</summary>
    [Parameter]
    public string SysctlFile { get; set; } = "/etc/sysctl.d/90-mptcp.conf";

    /// <summary>The D-Bus to ask systemd on (default: the system bus).</summary>
    [Parameter]
    public string? BusAddress { get; set; }

    private readonly HashSet<string> _done = new(StringComparer.Ordinal);

    protected override void ProcessRecord()
    {
        foreach (MptcpFinding finding in Finding)
        {
            if (finding.Severity == FindingSeverity.Passed || finding.Repair == RepairKind.None)
            {
                WriteVerbose($"{finding.Id}: nothing to repair automatically. {finding.Remediation}");
                continue;
            }

            string key = finding.Repair switch
            {
                RepairKind.EnableMptcp or RepairKind.RaiseLimits or RepairKind.AddEndpoints or RepairKind.StartDaemon => finding.Repair.ToString(),
                _ => $"{finding.Repair}:{finding.Summary}",
            };
            if (!_done.Add(key))
            {
                continue; // two findings, one fix (MptcpDisabled and SysctlNotPersistent)
            }

            try
            {
                switch (finding.Repair)
                {
                    case RepairKind.EnableMptcp: EnableMptcp(finding); break;
                    case RepairKind.RaiseLimits: RaiseLimits(finding); break;
                    case RepairKind.AddEndpoints: AddEndpoints(finding); break;
                    case RepairKind.StartDaemon: StartDaemon(finding); break;
                    case RepairKind.LooseReversePath: LooseReversePath(finding); break;
                    case RepairKind.RemoveFirewallRule: RemoveFirewallRule(finding); break;
                    default: Describe(finding, "Not automated: the gateway of the second path cannot be known for sure."); break;
                }
            }
            catch (Exception e) when (KernelErrors.IsExpected(e) || e is BusUnavailableException or Tmds.DBus.Protocol.DBusExceptionBase)
            {
                WriteError(e is Tmds.DBus.Protocol.DBusExceptionBase or BusUnavailableException
                    ? new ErrorRecord(e, "RepairFailed", ErrorCategory.ResourceUnavailable, finding)
                    : KernelErrors.ToErrorRecord(e, finding));
            }
        }
    }

    private void EnableMptcp(MptcpFinding finding)
    {
        string? before = ProcFiles.ReadSysctl("net.mptcp.enabled");
        string file = GetUnresolvedProviderPathFromPSPath(SysctlFile);
        // The file must be applied after whatever disables MPTCP at boot, or it changes nothing.
        PersistentSysctlSetting? winner = SysctlPersistence.Read("/", out _).LastOrDefault(p => p.Effective && p.Key == "net.mptcp.enabled");
        if (winner is not null && winner.Value.Trim() == "0")
        {
            if (winner.File == SysctlPersistence.MainFile && !SysctlPersistence.ConfigurationFiles().Any(f => f.EndsWith("/99-sysctl.conf", StringComparison.Ordinal)))
            {
                Describe(finding, $"{winner.File} is applied after every file in /etc/sysctl.d: change its line {winner.Line} to net.mptcp.enabled = 1.");
                return;
            }

            string winnerName = Path.GetFileName(winner.File);
            if (string.CompareOrdinal(Path.GetFileName(file), winnerName) <= 0)
            {
                file = Path.Combine(Path.GetDirectoryName(file)!, $"{Path.GetFileNameWithoutExtension(winnerName)}-zz-mptcp.conf");
            }
        }

        string? fileBefore = File.Exists(file) ? File.ReadAllText(file) : null;
        string command = $"sysctl -w net.mptcp.enabled=1; echo 'net.mptcp.enabled = 1' >> {file}";
        if (!ShouldProcess($"net.mptcp.enabled (now {before ?? "absent"}) and {file}", "Set net.mptcp.enabled = 1 now and at boot"))
        {
            return;
        }

        if (before != "1")
        {
            ProcFiles.WriteSysctl("net.mptcp.enabled", "1");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        // Keep what the file already says; replace only its net.mptcp.enabled line.
        var lines = (fileBefore ?? "# Written by Repair-MptcpConfiguration (MptcpTools): MPTCP on at boot.\n").Split('\n').ToList();
        lines.RemoveAll(l => SysctlPersistence.ParseLine(l) is { Key: "net.mptcp.enabled" });
        while (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        lines.Add("net.mptcp.enabled = 1");
        File.WriteAllText(file, string.Join("\n", lines) + "\n");
        PersistentSysctlSetting? after = SysctlPersistence.Read("/", out _).LastOrDefault(p => p.Effective && p.Key == "net.mptcp.enabled");
        WriteObject(new MptcpRepairResult
        {
            FindingId = finding.Id, Action = "Set sysctl", Target = $"net.mptcp.enabled, {file}",
            Before = $"{before}; at boot: {(winner is null ? "kernel default" : $"{winner.Value} ({winner.File}:{winner.Line})")}",
            After = $"{ProcFiles.ReadSysctl("net.mptcp.enabled")}; at boot: {(after is null ? "kernel default" : $"{after.Value} ({after.File}:{after.Line})")}",
            Applied = true, Command = command,
            Undo = fileBefore is null ? $"rm {file}; sysctl -w net.mptcp.enabled={before}" : $"remove the line 'net.mptcp.enabled = 1' from {file}; sysctl -w net.mptcp.enabled={before}",
        });
    }

    private void RaiseLimits(MptcpFinding finding)
    {
        using MptcpPathManager pm = MptcpPathManager.Open();
        MptcpLimit before = pm.GetLimits();
        int subflowEndpoints = pm.GetEndpoints().Count(e => (e.Flags & (MptcpEndpointFlags.Subflow | MptcpEndpointFlags.Fullmesh)) != 0);
        uint subflows = Math.Max(before.Subflows, (uint)Math.Min(8, Math.Max(2, subflowEndpoints)));
        uint accepted = Math.Max(before.AddAddrAccepted, 2);
        if ((subflows == before.Subflows && accepted == before.AddAddrAccepted)
            || !ShouldProcess($"MPTCP limits ({before})", $"Set subflows {subflows}, add_addr_accepted {accepted}"))
        {
            return;
        }

        pm.SetLimits(subflows, accepted);
        WriteObject(new MptcpRepairResult
        {
            FindingId = finding.Id, Action = "Set limits", Target = "MPTCP limits", Before = before.ToString(), After = pm.GetLimits().ToString(),
            Applied = true, Command = $"ip mptcp limits set subflows {subflows} add_addr_accepted {accepted}",
            Undo = $"Set-MptcpLimit -Subflows {before.Subflows} -AddAddrAccepted {before.AddAddrAccepted}",
            Note = "Limits last until reboot; mptcpd, NetworkManager or a boot script must set them again.",
        });
    }

    // A subflow endpoint for every global address on an interface other than the default route's, when
    // the kernel routes traffic from that address out of its own interface.
    private void AddEndpoints(MptcpFinding finding)
    {
        using MptcpPathManager pm = MptcpPathManager.Open();
        IReadOnlyList<MptcpEndpoint> existing = pm.GetEndpoints();
        List<InterfaceAddress> addresses = RouteTable.Addresses();
        var added = 0;
        foreach (AddressFamily family in new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 })
        {
            if (RouteTable.DefaultGateway(family) is not { } gateway)
            {
                continue;
            }

            string? defaultInterface = RouteTable.Get(gateway, null)?.OutputInterface;
            foreach (InterfaceAddress a in addresses.Where(a => a.Address.AddressFamily == family && a.Interface is not null && a.Interface != defaultInterface
                                                              && !IPAddress.IsLoopback(a.Address) && !a.Address.IsIPv6LinkLocal
                                                              && !existing.Any(e => a.Address.Equals(e.Address))))
            {
                RouteLookup? route = RouteTable.Get(gateway, a.Address);
                if (route?.OutputInterface != a.Interface)
                {
                    WriteVerbose($"{a.Address} on {a.Interface}: traffic from it leaves through {route?.OutputInterface ?? "nowhere"}, so no endpoint (add a source route first).");
                    continue;
                }

                if (!ShouldProcess($"{a.Address} on {a.Interface}", "Add MPTCP subflow endpoint"))
                {
                    continue;
                }

                pm.AddEndpoint(a.Address, 0, 0, MptcpEndpointFlags.Subflow, a.InterfaceIndex);
                MptcpEndpoint? now = pm.GetEndpoints().FirstOrDefault(e => a.Address.Equals(e.Address));
                added++;
                WriteObject(new MptcpRepairResult
                {
                    FindingId = finding.Id, Action = "Add endpoint", Target = $"{a.Address} dev {a.Interface}", Before = "no endpoint", After = now?.ToString(),
                    Applied = true, Command = $"ip mptcp endpoint add {a.Address} dev {a.Interface} subflow",
                    Undo = $"Remove-MptcpEndpoint -Id {now?.Id}",
                });
            }
        }

        if (added == 0 && !WhatIfMode())
        {
            Describe(finding, "No interface besides the default route's has an address that the kernel routes out of that interface; add a source route first (Test-MptcpRouting).");
        }
    }

    private void StartDaemon(MptcpFinding finding)
    {
        MptcpDaemonStatus? status = finding.Evidence.OfType<MptcpDaemonStatus>().FirstOrDefault();
        string unit = status?.UnitName ?? "mptcp.service";
        string command = $"systemctl enable --now {unit}";
        if (status?.Source != "systemd")
        {
            Describe(finding, $"No systemd answered on the D-Bus, so the unit cannot be started from here: {command}");
            return;
        }

        if (!ShouldProcess(unit, "Enable and start the unit over D-Bus"))
        {
            return;
        }

        using SystemBus bus = SystemBus.Connect(BusAddress, TimeSpan.FromSeconds(3));
        bus.CallIgnoringReply("org.freedesktop.systemd1", "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "EnableUnitFiles", "asbb", new[] { unit }, false, true);
        bus.CallIgnoringReply("org.freedesktop.systemd1", "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "StartUnit", "ss", unit, "replace");
        MptcpDaemonStatus after = MptcpDaemon.Read(status.ConfigPath, BusAddress);
        WriteObject(new MptcpRepairResult
        {
            FindingId = finding.Id, Action = "Enable and start unit", Target = unit,
            Before = $"{status.ActiveState}/{status.SubState}, {status.UnitFileState}", After = $"{after.ActiveState}/{after.SubState}, {after.UnitFileState}",
            Applied = true, Command = command, Undo = $"systemctl disable --now {unit}",
        });
    }

    private void LooseReversePath(MptcpFinding finding)
    {
        FirewallRuleFinding? rule = finding.Evidence.OfType<FirewallRuleFinding>().FirstOrDefault();
        System.Text.RegularExpressions.Match m = System.Text.RegularExpressions.Regex.Match(rule?.Rule ?? "", @"^net\.ipv4\.conf\.(.+)\.rp_filter ");
        string? iface = m.Success ? m.Groups[1].Value : null;
        if (iface is null)
        {
            Describe(finding, "The interface could not be read from the finding.");
            return;
        }

        string name = $"net.ipv4.conf.{iface}.rp_filter";
        string? before = ProcFiles.ReadSysctl(name);
        string? all = ProcFiles.ReadSysctl("net.ipv4.conf.all.rp_filter");
        string command = $"sysctl -w {name}=2{(all == "1" ? " net.ipv4.conf.all.rp_filter=2" : "")}";
        if (!Force)
        {
            Describe(finding, $"Riskier (it weakens spoofing protection on {iface}): run with -Force, or by hand: {command}");
            return;
        }

        if (!ShouldProcess(name, $"Set to 2 (loose) from {before}"))
        {
            return;
        }

        ProcFiles.WriteSysctl(name, "2");
        if (all == "1")
        {
            ProcFiles.WriteSysctl("net.ipv4.conf.all.rp_filter", "2");
        }

        WriteObject(new MptcpRepairResult
        {
            FindingId = finding.Id, Action = "Set sysctl", Target = name, Before = before, After = ProcFiles.ReadSysctl(name), Applied = true,
            Command = command, Undo = $"sysctl -w {name}={before}{(all == "1" ? " net.ipv4.conf.all.rp_filter=1" : "")}",
            Note = "Not persistent: add it to a file in /etc/sysctl.d to keep it.",
        });
    }

    private void RemoveFirewallRule(MptcpFinding finding)
    {
        FirewallRuleFinding? rule = finding.Evidence.OfType<FirewallRuleFinding>().FirstOrDefault();
        string? command = rule?.Remediation.StartsWith("Delete the rule: ", StringComparison.Ordinal) == true ? rule.Remediation["Delete the rule: ".Length..] : null;
        if (rule is null || command is null)
        {
            Describe(finding, "No single command removes this rule; edit the ruleset by hand.");
            return;
        }

        if (!Force)
        {
            Describe(finding, $"Riskier (a firewall change, and the rule cannot be put back exactly by this module): run with -Force, or by hand: {command}");
            return;
        }

        if (!ShouldProcess($"{rule.Source} rule '{rule.Rule}'", "Delete (this cannot be undone automatically)"))
        {
            return;
        }

        (bool deleted, string error) = Firewall.Apply(command);
        WriteObject(new MptcpRepairResult
        {
            FindingId = finding.Id, Action = "Delete firewall rule", Target = $"{rule.Source} {rule.Table} {rule.Chain}", Before = rule.Rule,
            After = deleted ? "deleted" : $"failed: {error}", Applied = deleted, Command = command,
            Undo = $"Add it again by hand: {rule.Rule}",
        });
    }

    private void Describe(MptcpFinding finding, string note) => WriteObject(new MptcpRepairResult
    {
        FindingId = finding.Id, Action = "None", Target = finding.Component, Applied = false, Command = finding.Remediation, Note = note,
    });

    private bool WhatIfMode() =>
        MyInvocation.BoundParameters.TryGetValue("WhatIf", out object? w) && w is SwitchParameter { IsPresent: true };
}
