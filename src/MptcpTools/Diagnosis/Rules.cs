using System;
using System.Collections.Generic;
using System.Linq;
using MptcpTools.Host;
using MptcpTools.Kernel;
using MptcpTools.Packets;

namespace MptcpTools.Diagnosis;

/// <summary>
/// The finding catalog and the rules that produce it. Every rule is a pure function of HostFacts.
/// Ids are part of the interface: never remove or rename one (about_MptcpTools documents each).
/// </summary>
public static class DiagnosisRules
{
    public static readonly IReadOnlyList<string> Catalog = new[]
    {
        "MptcpUnsupported", "MptcpDisabled", "ObsoleteSysctlKey", "SysctlNotPersistent", "NoSubflowEndpoints",
        "SubflowLimitZero", "AddAddrAcceptedZero", "EndpointAddressMissing", "EndpointsExceedLimit",
        "UserspacePmWithoutDaemon", "DaemonNotRunning", "DaemonConfigInvalid", "DaemonPluginMissing",
        "NetworkManagerMptcpDisabled", "FirewallDropsMptcpOption", "FirewallStripsMptcpOption",
        "FirewallBlocksSubflowPath", "StrictReversePathFilter", "MissingSourceRoute", "ApplicationNotUsingMptcp",
        "PeerNotMptcpCapable", "MptcpSynDropped", "JoinNotAnswered", "JoinRejected", "PlainTcpOnly",
        // Added beyond the first catalog, from what users hit:
        "DaemonWithKernelPm", "NetworkManagerManagesEndpoints", "MptcpBlackholeDetected", "PeerUnreachable",
        "FirewallRuleUnjudged", "CheckUnavailable", "FallbackAfterHandshake",
    };

    public static List<MptcpFinding> Evaluate(HostFacts f)
    {
        var all = new List<MptcpFinding>();
        foreach ((string component, string reason) in f.Unavailable)
        {
            all.Add(new MptcpFinding
            {
                Id = "CheckUnavailable", Severity = FindingSeverity.Information, Component = component,
                Summary = $"The {component} check could not run.", Detail = reason,
                Remediation = reason.Contains("CAP_NET_ADMIN") || reason.Contains("ermission") ? "Run the diagnosis as root." : "See Detail.",
            });
        }

        all.AddRange(KernelRules(f));
        all.AddRange(PathManagerRules(f));
        all.AddRange(DaemonRules(f));
        all.AddRange(NetworkManagerRules(f));
        all.AddRange(FirewallRules(f));
        all.AddRange(RoutingRules(f));
        all.AddRange(ApplicationRules(f));
        all.AddRange(ProbeRules(f));
        all.AddRange(CaptureRules(f));
        return all.OrderBy(x => x.Severity).ToList();
    }

    private static MptcpFinding Passed(string id, string component, string summary, params object[] evidence) =>
        new() { Id = id, Severity = FindingSeverity.Passed, Component = component, Summary = summary, Evidence = evidence };

    private static IEnumerable<MptcpFinding> KernelRules(HostFacts f)
    {
        MptcpKernelState? k = f.Kernel;
        if (k is null)
        {
            yield break;
        }

        if (!k.Present)
        {
            yield return new MptcpFinding
            {
                Id = "MptcpUnsupported", Severity = FindingSeverity.Error, Component = "Kernel", Evidence = new object[] { k },
                Summary = $"The kernel {k.KernelRelease} has no MPTCP.",
                Detail = $"/proc/net/protocols lists no MPTCP and /proc/sys/net/mptcp does not exist (CONFIG_MPTCP: {k.BuildMode}).",
                Remediation = "Boot a kernel built with CONFIG_MPTCP=y: every Debian and Ubuntu kernel since 5.6 has it (Debian 12: 6.1; Ubuntu 24.04: 6.8).",
            };
            yield break; // nothing else about MPTCP can hold
        }

        yield return Passed("MptcpUnsupported", "Kernel", $"The kernel {k.KernelRelease} has MPTCP ({k.BuildMode}; lsmod shows nothing when it is built in).", k);
        if (k.Enabled == false)
        {
            yield return new MptcpFinding
            {
                Id = "MptcpDisabled", Severity = FindingSeverity.Error, Component = "Kernel", Evidence = new object[] { k },
                Summary = "MPTCP is disabled: net.mptcp.enabled is 0.",
                Detail = "With net.mptcp.enabled=0 the kernel refuses IPPROTO_MPTCP sockets (ENOPROTOOPT) in this network namespace, so every program falls back to TCP.",
                Remediation = "sysctl -w net.mptcp.enabled=1, and persistently: echo 'net.mptcp.enabled = 1' > /etc/sysctl.d/90-mptcp.conf",
                Repair = RepairKind.EnableMptcp, SafeToRepair = true,
            };
        }
        else
        {
            yield return Passed("MptcpDisabled", "Kernel", "MPTCP is enabled (net.mptcp.enabled = 1).", k);
        }

        List<PersistentSysctlSetting> obsolete = k.Persistent.Where(p => p.ExistsInKernel == false).ToList();
        foreach (PersistentSysctlSetting p in obsolete)
        {
            yield return new MptcpFinding
            {
                Id = "ObsoleteSysctlKey", Severity = FindingSeverity.Warning, Component = "Sysctl", Evidence = new object[] { p },
                Summary = $"{p.File}:{p.Line} sets {p.Key}, which this kernel does not have.",
                Detail = p.Key == "net.mptcp.mptcp_enabled"
                    ? "net.mptcp.mptcp_enabled belongs to the out-of-tree multipath-tcp.org kernel; upstream kernels use net.mptcp.enabled. At boot the line fails (or is ignored with '-') and does nothing."
                    : $"{p.Key} is not a sysctl of this kernel: the line does nothing at boot.",
                Remediation = p.Key == "net.mptcp.mptcp_enabled"
                    ? $"Replace line {p.Line} of {p.File} with: net.mptcp.enabled = 1"
                    : $"Remove line {p.Line} of {p.File}.",
            };
        }

        if (obsolete.Count == 0)
        {
            yield return Passed("ObsoleteSysctlKey", "Sysctl", "No persistent sysctl file sets an MPTCP key this kernel lacks.");
        }

        // What the boot will leave: the effective persistent value, or the kernel's default of 1.
        PersistentSysctlSetting? effective = k.Persistent.LastOrDefault(p => p.Effective && p.Key == "net.mptcp.enabled");
        bool bootEnabled = effective is null || effective.Value.Trim() != "0";
        if (k.Enabled == true && !bootEnabled)
        {
            yield return new MptcpFinding
            {
                Id = "SysctlNotPersistent", Severity = FindingSeverity.Warning, Component = "Sysctl", Evidence = new object[] { effective! },
                Summary = $"MPTCP is enabled now, but {effective!.File}:{effective.Line} disables it at the next boot.",
                Detail = $"{effective.File} line {effective.Line} sets net.mptcp.enabled = {effective.Value}; systemd-sysctl applies it at boot and MPTCP is off from then on.",
                Remediation = $"Change line {effective.Line} of {effective.File} to net.mptcp.enabled = 1, or add a later file: echo 'net.mptcp.enabled = 1' > /etc/sysctl.d/90-mptcp.conf",
                Repair = RepairKind.EnableMptcp, SafeToRepair = true,
            };
        }
        else if (k.Enabled == true)
        {
            yield return Passed("SysctlNotPersistent", "Sysctl", effective is null
                ? "MPTCP stays enabled after a reboot (the kernel's default, no file overrides it)."
                : $"MPTCP stays enabled after a reboot ({effective.File}:{effective.Line}).");
        }

        if (f.Counters is { } counters && counters.TryGetValue("Blackhole", out long blackholes) && blackholes > 0)
        {
            yield return new MptcpFinding
            {
                Id = "MptcpBlackholeDetected", Severity = FindingSeverity.Warning, Component = "Kernel",
                Summary = $"The kernel detected {blackholes} MPTCP blackhole(s) and disabled MPTCP for active opens for a while.",
                Detail = $"MPTcpExt Blackhole = {blackholes}: MPTCP SYNs were dropped repeatedly, so new connections go out as plain TCP for net.mptcp.blackhole_timeout ({k.BlackholeTimeout}).",
                Remediation = "Find what drops option 30 on the path (Test-MptcpFirewall here, and the middleboxes between); sysctl -w net.mptcp.blackhole_timeout=0 stops the kernel from disabling MPTCP.",
            };
        }
    }

    private static IEnumerable<MptcpFinding> PathManagerRules(HostFacts f)
    {
        MptcpKernelState? k = f.Kernel;
        if (k is null || !k.Present || f.Endpoints is not { } endpoints || k.Limits is not { } limits)
        {
            yield break;
        }

        bool userspace = k.PathManager == "userspace";
        var subflowEndpoints = endpoints.Where(e => (e.Flags & (MptcpEndpointFlags.Subflow | MptcpEndpointFlags.Fullmesh)) != 0).ToList();
        if (!userspace && subflowEndpoints.Count == 0)
        {
            yield return new MptcpFinding
            {
                Id = "NoSubflowEndpoints", Severity = FindingSeverity.Warning, Component = "PathManager", Evidence = endpoints.Cast<object>().ToArray(),
                Summary = endpoints.Count == 0 ? "The in-kernel path manager has no endpoints." : "No endpoint has the subflow flag.",
                Detail = "Without subflow endpoints, connections this host opens never get a second subflow: MPTCP works, on one path only. (A server needs signal endpoints to announce its other addresses.)",
                Remediation = "Add one per extra uplink: Add-MptcpEndpoint -Address ADDRESS -Interface IFNAME -Flags Subflow (ip mptcp endpoint add ADDRESS dev IFNAME subflow)",
                Repair = RepairKind.AddEndpoints, SafeToRepair = true,
            };
        }
        else if (!userspace)
        {
            yield return Passed("NoSubflowEndpoints", "PathManager", $"{subflowEndpoints.Count} endpoint(s) open subflows.", subflowEndpoints.Cast<object>().ToArray());
        }

        if (!userspace && limits.Subflows == 0)
        {
            yield return new MptcpFinding
            {
                Id = "SubflowLimitZero", Severity = subflowEndpoints.Count > 0 ? FindingSeverity.Error : FindingSeverity.Warning,
                Component = "PathManager", Evidence = new object[] { limits },
                Summary = "The subflow limit is 0: no connection may open an extra subflow.",
                Detail = "ip mptcp limits shows subflows 0, so the kernel opens no subflow beyond the first, whatever the endpoints.",
                Remediation = $"Set-MptcpLimit -Subflows {Math.Max(2, subflowEndpoints.Count)} (ip mptcp limits set subflows {Math.Max(2, subflowEndpoints.Count)})",
                Repair = RepairKind.RaiseLimits, SafeToRepair = true,
            };
        }
        else if (!userspace)
        {
            yield return Passed("SubflowLimitZero", "PathManager", $"Up to {limits.Subflows} extra subflow(s) per connection.", limits);
        }

        if (!userspace && limits.AddAddrAccepted == 0)
        {
            yield return new MptcpFinding
            {
                Id = "AddAddrAcceptedZero", Severity = FindingSeverity.Warning, Component = "PathManager", Evidence = new object[] { limits },
                Summary = "add_addr_accepted is 0: addresses the peer announces are ignored.",
                Detail = "When a server announces another address (ADD_ADDR), this host opens no subflow to it (the kernel's default limit is 0).",
                Remediation = "Set-MptcpLimit -AddAddrAccepted 2 (ip mptcp limits set add_addr_accepted 2)",
                Repair = RepairKind.RaiseLimits, SafeToRepair = true,
            };
        }
        else if (!userspace)
        {
            yield return Passed("AddAddrAcceptedZero", "PathManager", $"Up to {limits.AddAddrAccepted} announced address(es) are used.", limits);
        }

        if (!userspace && limits.Subflows > 0 && subflowEndpoints.Count > limits.Subflows)
        {
            yield return new MptcpFinding
            {
                Id = "EndpointsExceedLimit", Severity = FindingSeverity.Warning, Component = "PathManager", Evidence = new object[] { limits },
                Summary = $"{subflowEndpoints.Count} subflow endpoints, but only {limits.Subflows} extra subflow(s) allowed.",
                Detail = "The kernel stops opening subflows at the limit: the endpoints beyond it are never used.",
                Remediation = $"Set-MptcpLimit -Subflows {Math.Min(8, subflowEndpoints.Count)} (ip mptcp limits set subflows {Math.Min(8, subflowEndpoints.Count)})",
                Repair = RepairKind.RaiseLimits, SafeToRepair = true,
            };
        }
        else if (!userspace && subflowEndpoints.Count > 0)
        {
            yield return Passed("EndpointsExceedLimit", "PathManager", "The subflow limit covers every subflow endpoint.");
        }
    }

    private static IEnumerable<MptcpFinding> DaemonRules(HostFacts f)
    {
        MptcpDaemonStatus? d = f.Daemon;
        if (d is null)
        {
            yield break;
        }

        string unit = d.UnitName ?? "mptcp.service";
        switch (d.Agreement)
        {
            case DaemonKernelAgreement.UserspacePmWithoutDaemon:
                yield return new MptcpFinding
                {
                    Id = "UserspacePmWithoutDaemon", Severity = FindingSeverity.Error, Component = "Daemon", Evidence = new object[] { d },
                    Summary = "The kernel expects a userspace path manager, and no mptcpd runs.", Detail = d.AgreementDetail,
                    Remediation = d.Installed
                        ? $"Start it: systemctl enable --now {unit}; or go back to the in-kernel manager: sysctl -w net.mptcp.pm_type=0"
                        : "Install mptcpd (apt-get install mptcpd mptcpd-plugins) and start it, or: sysctl -w net.mptcp.pm_type=0",
                    Repair = d.Installed ? RepairKind.StartDaemon : RepairKind.None, SafeToRepair = d.Installed,
                };
                break;
            case DaemonKernelAgreement.DaemonWithKernelPm:
                yield return new MptcpFinding
                {
                    Id = "DaemonWithKernelPm", Severity = FindingSeverity.Warning, Component = "Daemon", Evidence = new object[] { d },
                    Summary = "mptcpd runs a userspace path-manager plug-in while the kernel uses its in-kernel manager.", Detail = d.AgreementDetail,
                    Remediation = "Either sysctl -w net.mptcp.pm_type=1 (let mptcpd manage paths), or set path-manager=addr_adv in /etc/mptcpd/mptcpd.conf.",
                };
                break;
            default:
                yield return Passed("UserspacePmWithoutDaemon", "Daemon", d.AgreementDetail, d);
                break;
        }

        if (d.Installed && !d.Running && (d.UnitFileState == "enabled" || d.ActiveState == "failed"))
        {
            yield return new MptcpFinding
            {
                Id = "DaemonNotRunning", Severity = FindingSeverity.Warning, Component = "Daemon", Evidence = new object[] { d },
                Summary = $"mptcpd is {(d.UnitFileState == "enabled" ? "enabled" : "installed")} but not running ({d.UnitName}: {d.ActiveState}/{d.SubState}{(d.LastExitStatus is { } s && s != 0 ? $", exit status {s}" : "")}).",
                Detail = "The endpoints it would manage are not added, and a userspace path manager would have no daemon.",
                Remediation = $"systemctl enable --now {unit}; journalctl -u {unit} says why it stopped.",
                Repair = RepairKind.StartDaemon, SafeToRepair = true,
            };
        }
        else if (d.Installed)
        {
            yield return Passed("DaemonNotRunning", "Daemon", d.Running ? $"mptcpd runs ({d.Source})." : "mptcpd is installed, not enabled, and not needed by the kernel's path manager.", d);
        }

        if (!d.Installed)
        {
            yield break;
        }

        var plugin = d.Problems.Where(p => p.Kind is MptcpdProblemKind.PluginMissing or MptcpdProblemKind.PluginDirMissing).ToList();
        var other = d.Problems.Except(plugin).Where(p => !(p.Kind == MptcpdProblemKind.Unreadable && p.Line == 0 && p.Message.Contains("does not exist"))).ToList();
        foreach (MptcpdConfigProblem p in plugin)
        {
            yield return new MptcpFinding
            {
                Id = "DaemonPluginMissing", Severity = FindingSeverity.Error, Component = "Daemon", Evidence = new object[] { p },
                Summary = $"{p.File}:{p.Line}: {p.Message}", Detail = "mptcpd cannot use a plug-in that is not installed; it falls back to another, or does not start.",
                Remediation = "apt-get install mptcpd-plugins, or correct the plug-in name (the installed ones: " + string.Join(", ", d.InstalledPlugins) + ").",
            };
        }

        foreach (MptcpdConfigProblem p in other)
        {
            yield return new MptcpFinding
            {
                Id = "DaemonConfigInvalid", Severity = FindingSeverity.Warning, Component = "Daemon", Evidence = new object[] { p },
                Summary = $"{p.File}:{(p.Line > 0 ? $"{p.Line}:" : "")} {p.Kind}: {p.Message}",
                Detail = "mptcpd ignores or rejects what it does not understand, so the configuration does not do what it says.",
                Remediation = $"Correct {p.File}{(p.Line > 0 ? $" line {p.Line}" : "")}; the keys of [core] are {string.Join(", ", MptcpdConfig.KnownKeys)}.",
            };
        }

        if (plugin.Count == 0 && other.Count == 0)
        {
            yield return Passed("DaemonConfigInvalid", "Daemon", $"{d.ConfigPath} is sound.", d);
        }
    }

    private static IEnumerable<MptcpFinding> NetworkManagerRules(HostFacts f)
    {
        if (f.NetworkManager is not { } settings)
        {
            yield break;
        }

        HashSet<string> endpointInterfaces = EndpointInterfaces(f);
        foreach (NetworkManagerMptcpSetting s in settings)
        {
            if ((s.Flags & NetworkManagerMptcpFlags.Disabled) != 0)
            {
                yield return new MptcpFinding
                {
                    Id = "NetworkManagerMptcpDisabled", Severity = FindingSeverity.Warning, Component = "NetworkManager", Evidence = new object[] { s },
                    Summary = $"NetworkManager connection '{s.Connection}' ({string.Join(", ", s.Devices)}) has mptcp-flags=disabled.",
                    Detail = "NetworkManager configures no MPTCP endpoint for these devices, and removes those it made.",
                    Remediation = $"nmcli connection modify '{s.Connection}' connection.mptcp-flags enabled,subflow; nmcli connection up '{s.Connection}'",
                };
            }
            else if (s.ManagesEndpoints && s.Devices.Any(endpointInterfaces.Contains))
            {
                yield return new MptcpFinding
                {
                    Id = "NetworkManagerManagesEndpoints", Severity = FindingSeverity.Information, Component = "NetworkManager", Evidence = new object[] { s },
                    Summary = $"NetworkManager manages the MPTCP endpoints of {string.Join(", ", s.Devices)} ('{s.Connection}').",
                    Detail = s.Detail,
                    Remediation = $"Change them with nmcli connection modify '{s.Connection}' connection.mptcp-flags ..., not by hand.",
                };
            }
        }

        if (!settings.Any(s => (s.Flags & NetworkManagerMptcpFlags.Disabled) != 0))
        {
            yield return Passed("NetworkManagerMptcpDisabled", "NetworkManager", settings.Count == 0 ? "NetworkManager has no active connection." : "No NetworkManager connection disables MPTCP.");
        }
    }

    private static IEnumerable<MptcpFinding> FirewallRules(HostFacts f)
    {
        if (f.Firewall is not { } rules)
        {
            yield break;
        }

        var map = new Dictionary<FirewallEffect, (string Id, FindingSeverity Severity, string Summary)>
        {
            [FirewallEffect.DropsMptcpOption] = ("FirewallDropsMptcpOption", FindingSeverity.Error, "drops TCP segments that carry MPTCP options"),
            [FirewallEffect.StripsMptcpOption] = ("FirewallStripsMptcpOption", FindingSeverity.Error, "strips the MPTCP option"),
            [FirewallEffect.BlocksSubflowPath] = ("FirewallBlocksSubflowPath", FindingSeverity.Warning, "admits the service port on one path only"),
            [FirewallEffect.StrictReversePath] = ("StrictReversePathFilter", FindingSeverity.Warning, "is strict reverse-path filtering on an endpoint interface"),
            [FirewallEffect.Unjudged] = ("FirewallRuleUnjudged", FindingSeverity.Information, "may touch MPTCP options and cannot be judged"),
        };
        foreach (FirewallRuleFinding r in rules)
        {
            (string id, FindingSeverity severity, string what) = map[r.Effect];
            yield return new MptcpFinding
            {
                Id = id, Severity = severity, Component = "Firewall", Evidence = new object[] { r },
                Summary = $"{r.Source} {string.Join(" ", new[] { r.Family, r.Table, r.Chain }.Where(x => !string.IsNullOrEmpty(x)))}: '{r.Rule}' {what}.",
                Detail = r.Detail, Remediation = r.Remediation,
                Repair = r.Effect == FirewallEffect.StrictReversePath ? RepairKind.LooseReversePath
                    : r.Effect is FirewallEffect.DropsMptcpOption or FirewallEffect.StripsMptcpOption ? RepairKind.RemoveFirewallRule : RepairKind.None,
                SafeToRepair = false,
            };
        }

        foreach (var (effect, (id, _, what)) in map.Where(m => m.Key != FirewallEffect.Unjudged))
        {
            if (!rules.Any(r => r.Effect == effect))
            {
                yield return Passed(id, "Firewall", $"No rule here {what.Replace("drops", "drops").Replace("is strict", "sets strict")}.");
            }
        }
    }

    private static IEnumerable<MptcpFinding> RoutingRules(HostFacts f)
    {
        if (f.Routing is not { } routing)
        {
            yield break;
        }

        foreach (MptcpRoutingResult r in routing)
        {
            if (r.Status == RoutingStatus.AddressMissing)
            {
                yield return new MptcpFinding
                {
                    Id = "EndpointAddressMissing", Severity = FindingSeverity.Error, Component = "Routing", Evidence = new object[] { r },
                    Summary = $"Endpoint {r.EndpointId}'s address {r.Address} is not on {r.Interface ?? "any interface"}.",
                    Detail = r.Detail, Remediation = r.Remediation,
                };
            }
            else if (r.Status is RoutingStatus.MissingSourceRoute or RoutingStatus.NoRoute)
            {
                yield return new MptcpFinding
                {
                    Id = "MissingSourceRoute", Severity = FindingSeverity.Warning, Component = "Routing", Evidence = new object[] { r },
                    Summary = r.Status == RoutingStatus.NoRoute
                        ? $"No route from endpoint {r.EndpointId}'s address {r.Address} to {r.Destination}."
                        : $"Traffic from endpoint {r.EndpointId}'s address {r.Address} leaves through {r.OutputInterface}, not {r.Interface}.",
                    Detail = r.Detail, Remediation = r.Remediation, Repair = RepairKind.AddSourceRoute, SafeToRepair = false,
                };
            }
        }

        if (routing.All(r => r.Status == RoutingStatus.Ok))
        {
            yield return Passed("MissingSourceRoute", "Routing", routing.Count == 0 ? "No endpoint to route." : "Every endpoint's address is routed out of its own interface.", routing.Cast<object>().ToArray());
        }

        if (!routing.Any(r => r.Status == RoutingStatus.AddressMissing))
        {
            yield return Passed("EndpointAddressMissing", "Routing", "Every endpoint's address is configured.");
        }
    }

    private static IEnumerable<MptcpFinding> ApplicationRules(HostFacts f)
    {
        if (f.Applications is not { } apps)
        {
            yield break;
        }

        foreach (MptcpApplicationReport a in apps)
        {
            if (!a.UsesMptcp && a.TcpSockets > 0)
            {
                yield return new MptcpFinding
                {
                    Id = "ApplicationNotUsingMptcp", Severity = FindingSeverity.Error, Component = "Application", Evidence = new object[] { a },
                    Summary = $"{a.Name} ({a.ProcessId}) uses plain TCP: it never asked for an MPTCP socket.",
                    Detail = a.Verdict + (a.Version is null ? "" : $" Installed: {a.Package} {a.Version}."),
                    Remediation = a.Remediation,
                };
            }
            else if (a.UsesMptcp)
            {
                yield return Passed("ApplicationNotUsingMptcp", "Application", $"{a.Name} ({a.ProcessId}) uses MPTCP.", a);
            }
        }
    }

    private static IEnumerable<MptcpFinding> ProbeRules(HostFacts f)
    {
        if (f.Probe is not { } p)
        {
            yield break;
        }

        string peer = $"{p.ComputerName}:{p.Port}";
        switch (p.FallbackReason)
        {
            case FallbackReason.PeerNotMptcpCapable:
                yield return new MptcpFinding
                {
                    Id = "PeerNotMptcpCapable", Severity = FindingSeverity.Error, Component = "Peer", Evidence = new object[] { p },
                    Summary = $"{peer} answered without MP_CAPABLE: the connection fell back to TCP.", Detail = p.Detail,
                    Remediation = "Make the server use MPTCP (its own switch, or mptcpize run), and check that no middlebox strips option 30 (Test-MptcpFirewall on the path).",
                };
                break;
            case FallbackReason.SynDropped:
                yield return new MptcpFinding
                {
                    Id = "MptcpSynDropped", Severity = FindingSeverity.Error, Component = "Peer", Evidence = new object[] { p },
                    Summary = $"MPTCP SYNs to {peer} were dropped; the kernel retried without MPTCP.", Detail = p.Detail,
                    Remediation = "Something on the path drops TCP option 30: run Test-MptcpFirewall on this host, the routers and the server, and check middleboxes.",
                };
                break;
            case FallbackReason.ConnectFailed:
                yield return new MptcpFinding
                {
                    Id = "PeerUnreachable", Severity = FindingSeverity.Error, Component = "Peer", Evidence = new object[] { p },
                    Summary = $"No connection to {peer} at all.", Detail = p.Detail,
                    Remediation = "Check that the server listens and is reachable (this is not an MPTCP problem yet).",
                };
                break;
            case FallbackReason.FellBackLater:
                yield return new MptcpFinding
                {
                    Id = "FallbackAfterHandshake", Severity = FindingSeverity.Error, Component = "Peer", Evidence = new object[] { p },
                    Summary = $"{peer} negotiated MPTCP, then the connection fell back to TCP.", Detail = p.Detail,
                    Remediation = "Something on the path alters the stream (a middlebox rewriting payload or sequence numbers): capture on both ends (Read-MptcpCapture -Summary shows FallbackLater and why) and find it.",
                };
                break;
            case FallbackReason.MptcpDisabledLocally:
                break; // MptcpDisabled (or MptcpBlackholeDetected) says it, from the kernel's own state
            default:
                yield return Passed("PeerNotMptcpCapable", "Peer", $"{peer} negotiates MPTCP ({p.SubflowCount} subflow(s)).", p);
                break;
        }

        long joinsSent = p.CounterDeltas.GetValueOrDefault("MPJoinSynTx");
        long joinsAnswered = p.CounterDeltas.GetValueOrDefault("MPJoinSynAckRx");
        if (f.Capture is null && p.MptcpNegotiated && joinsSent > joinsAnswered)
        {
            yield return JoinNotAnswered($"{joinsSent - joinsAnswered} of {joinsSent} MP_JOIN SYN(s) to {peer} got no MP_JOIN SYN-ACK (MPJoinSynTx without MPJoinSynAckRx).", p);
        }
    }

    private static IEnumerable<MptcpFinding> CaptureRules(HostFacts f)
    {
        if (f.Capture is not { } connections)
        {
            yield break;
        }

        foreach (MptcpConnectionSummary c in connections)
        {
            foreach (MptcpSubflowSummary s in c.Subflows.Where(s => !s.Initial))
            {
                if (s.Outcome == MptcpSubflowOutcome.SynUnanswered)
                {
                    yield return JoinNotAnswered($"The join from {s.ClientAddress}:{s.ClientPort} to {s.ServerAddress}:{s.ServerPort} got no answer in the capture.", c);
                }
                else if (s.Outcome == MptcpSubflowOutcome.JoinRefused
                         || (s.Outcome == MptcpSubflowOutcome.Reset && s.Established && s.PayloadBytesFromClient + s.PayloadBytesFromServer == 0))
                {
                    yield return new MptcpFinding
                    {
                        Id = "JoinRejected", Severity = FindingSeverity.Warning, Component = "Capture", Evidence = new object[] { c, s },
                        Summary = $"The peer refused the join from {s.ClientAddress} to {s.ServerAddress}:{s.ServerPort}{(s.ResetReason is { } r ? $" ({r})" : "")}.",
                        Detail = s.Outcome == MptcpSubflowOutcome.Reset
                            ? "The join completed its handshake, then was reset before any data: typically the accepting side's subflow limit is reached (its MPJoinRejected counter moves)."
                            : "The SYN-ACK carried no MP_JOIN, or a reset ended the join before its third ACK: the peer's limits are reached, it does not accept joins to that address, or an HMAC did not match.",
                        Remediation = "On the peer: ip mptcp limits set subflows 2 (its subflow limit counts joins it accepts); check MPJoinRejected in its counters.",
                    };
                }
            }
        }

        if (connections.Count > 0 && connections.All(c => c.Outcome == MptcpConnectionOutcome.PlainTcp))
        {
            yield return new MptcpFinding
            {
                Id = "PlainTcpOnly", Severity = FindingSeverity.Error, Component = "Capture", Evidence = connections.Cast<object>().ToArray(),
                Summary = $"The capture saw {connections.Count} connection(s), and not one offered MPTCP.",
                Detail = "Every SYN lacked MP_CAPABLE: the programs opened plain TCP sockets (the classic: iperf3 or curl without their MPTCP switch).",
                Remediation = "Run the program with its MPTCP switch (iperf3 --mptcp, curl --mptcp), or under mptcpize run; Test-MptcpApplication -Name PROGRAM says which.",
            };
        }
        else if (connections.Any(c => c.Outcome == MptcpConnectionOutcome.Mptcp))
        {
            yield return Passed("PlainTcpOnly", "Capture", "The capture shows MPTCP on the wire (MP_CAPABLE in the handshake).", connections.Cast<object>().ToArray());
        }
    }

    private static MptcpFinding JoinNotAnswered(string summary, object evidence) => new()
    {
        Id = "JoinNotAnswered", Severity = FindingSeverity.Warning, Component = "Capture", Evidence = new[] { evidence },
        Summary = summary,
        Detail = "The extra subflow's SYN never came back: the second path drops it (a firewall, a missing route back, reverse-path filtering), or the peer does not listen on that address.",
        Remediation = "Test-MptcpRouting and Test-MptcpFirewall -Port PORT here; on routers and the server, check that SYNs from the second path's addresses pass.",
    };

    private static HashSet<string> EndpointInterfaces(HostFacts f) =>
        new(RouteTable.EndpointInterfaces(f.Endpoints ?? Array.Empty<MptcpEndpoint>(), f.Addresses), StringComparer.Ordinal);
}
