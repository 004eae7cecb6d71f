using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using MptcpTools.Host;
using MptcpTools.Kernel;

namespace MptcpTools.Diagnosis;

/// <summary>A repair record that is not one of the module's changes, or whose target this host does not have.</summary>
public sealed class RepairRefusedException : Exception
{
    public RepairRefusedException(string message, bool targetMissing = false) : base(message) => TargetMissing = targetMissing;

    /// <summary>The record is well formed, but its rule, interface or address is not on this host.</summary>
    public bool TargetMissing { get; }
}

/// <summary>A change that was made, or attempted, and did not take.</summary>
public sealed class RepairFailedException : Exception
{
    public RepairFailedException(string message, Exception? inner = null) : base(message, inner) { }
}

public enum RepairPlanStatus
{
    /// <summary>Checked against the host and ready to apply.</summary>
    Ready,
    /// <summary>Can only be described here (no systemd on the bus, a file that no sysctl.d file can beat).</summary>
    Describe,
    /// <summary>The host already has what the repair would set.</summary>
    NothingToDo,
}

/// <summary>A repair checked against the host: what it will change, and the change itself.</summary>
public sealed class RepairPlan
{
    internal RepairPlan(MptcpRepair repair, RepairPlanStatus status, string target, string action, string? note, Func<MptcpRepairResult>? apply)
    {
        Repair = repair;
        Status = status;
        Target = target;
        Action = action;
        Note = note;
        _apply = apply;
    }

    private readonly Func<MptcpRepairResult>? _apply;

    public MptcpRepair Repair { get; }
    public RepairPlanStatus Status { get; }
    /// <summary>What it changes, as ShouldProcess names it.</summary>
    public string Target { get; }
    /// <summary>What it does, as ShouldProcess names it.</summary>
    public string Action { get; }
    public string? Note { get; }

    public MptcpRepairResult Apply() =>
        _apply is not null && Status == RepairPlanStatus.Ready ? _apply() : throw new InvalidOperationException("This repair is not ready to apply.");

    /// <summary>The result of not applying it: described, with the command to run by hand.</summary>
    public MptcpRepairResult Described(string note) => new()
    {
        FindingId = Repair.FindingId, Action = Action, Target = Target, Applied = false, Command = Repair.Command, Undo = Repair.Undo, Note = note, Repair = Repair,
    };
}

/// <summary>
/// Applies repair records: each kind is one fixed operation of the module, and every argument is checked
/// against what the host has before anything changes (the rule with that handle exists and still drops or
/// strips option 30; the interface and the address exist; the unit is mptcpd's). No text from a finding is
/// ever run.
/// </summary>
public sealed class RepairEngine
{
    private static readonly string[] NftFamilies = { "ip", "ip6", "inet", "arp", "bridge", "netdev" };
    private static readonly string[] IptablesTables = { "filter", "mangle", "nat", "raw", "security" };
    private const string EnabledKey = "net.mptcp.enabled";
    private const uint MaxLimit = 8; // MPTCP_PM_ADDR_MAX: the kernel refuses more

    private readonly string _sysctlFile;
    private readonly string? _busAddress;

    /// <param name="sysctlFile">The file of its own that makes a sysctl persistent.</param>
    /// <param name="busAddress">The D-Bus of systemd; null for the system bus.</param>
    public RepairEngine(string sysctlFile, string? busAddress)
    {
        _sysctlFile = sysctlFile;
        _busAddress = busAddress;
    }

    /// <summary>Checks a repair against the host. Throws RepairRefusedException, or what the layers throw when they cannot read.</summary>
    public RepairPlan Prepare(MptcpRepair repair) => repair switch
    {
        SysctlRepair r => PrepareSysctl(r),
        LimitRepair r => PrepareLimits(r),
        EndpointRepair r => PrepareEndpoint(r),
        UnitRepair r => PrepareUnit(r),
        ReversePathFilterRepair r => PrepareReversePath(r),
        NftablesRuleRepair r => PrepareNftables(r),
        IptablesRuleRepair r => PrepareIptables(r),
        NetworkManagerFlagsRepair r => PrepareNetworkManager(r),
        MptcpdAddressFlagsRepair r => PrepareMptcpd(r),
        ManualRepair r => new RepairPlan(r, RepairPlanStatus.Describe, r.Target, "None", $"Not automated: {r.Reason}", null),
        _ => throw new RepairRefusedException($"'{repair.Kind}' is not a repair this module makes."),
    };

    private RepairPlan PrepareSysctl(SysctlRepair r)
    {
        if (r.Name != EnabledKey || r.Value != "1")
        {
            throw new RepairRefusedException($"Setting {r.Name} to '{r.Value}' is not a repair this module makes (it sets {EnabledKey} = 1).");
        }

        string? before = ProcFiles.ReadSysctl(r.Name) ?? throw new RepairRefusedException($"This kernel has no {r.Name}.", targetMissing: true);
        PersistentSysctlSetting? winner = SysctlPersistence.Winner(SysctlPersistence.Read("/", out _), r.Name);
        bool bootDisables = winner.IsDisabling();
        string? file = r.Persistent ? SysctlPersistence.FileApplied(_sysctlFile, bootDisables ? winner : null) : null;
        string Boot(PersistentSysctlSetting? w) => w is null ? "kernel default" : $"{w.Value} ({w.File}:{w.Line})";
        // /etc/sysctl.conf read on its own comes after every sysctl.d file: only an edit of its line wins there,
        // and the module does not edit a file it did not write. The runtime value still changes.
        string? note = r.Persistent && file is null
            ? $"Not persistent: {winner!.File} is applied after every file in /etc/sysctl.d; change its line {winner.Line} to {r.Name} = {r.Value}."
            : file is not null && !SysctlPersistence.IsReadAtBoot(file)
                ? $"{file} is not in a directory systemd-sysctl reads ({string.Join(", ", SysctlPersistence.Directories)}): it does not change the boot."
                : null;
        if (before == r.Value && !(r.Persistent && bootDisables))
        {
            return new RepairPlan(r, RepairPlanStatus.NothingToDo, r.Name, "Set", $"{r.Name} is {before} now and at boot.", null);
        }

        if (before == r.Value && file is null)
        {
            return new RepairPlan(r, RepairPlanStatus.Describe, r.Name, "Set at boot", note, null);
        }

        string target = file is not null ? $"{r.Name} (now {before}) and {file}" : $"{r.Name} (now {before})";
        return new RepairPlan(r, RepairPlanStatus.Ready, target, $"Set {r.Name} = {r.Value}{(r.Persistent ? " now and at boot" : "")}", null, () =>
        {
            if (before != r.Value)
            {
                ProcFiles.WriteSysctl(r.Name, r.Value);
            }

            string? fileBefore = null;
            if (file is not null)
            {
                try
                {
                    fileBefore = SysctlPersistence.WriteAssignment(file, r.Name, r.Value, "# Written by Repair-MptcpConfiguration (MptcpTools): MPTCP on at boot.");
                }
                catch (Exception e) when (e is System.IO.IOException or UnauthorizedAccessException or KernelException)
                {
                    // The runtime change goes back too: half a repair would look done until the next boot.
                    if (before != r.Value)
                    {
                        ProcFiles.WriteSysctl(r.Name, before);
                    }

                    throw new RepairFailedException($"{file} could not be written ({e.Message}); {r.Name} is back to {before}.", e);
                }
            }

            PersistentSysctlSetting? after = SysctlPersistence.Winner(SysctlPersistence.Read("/", out _), r.Name);
            if (file is not null && after.IsDisabling() && SysctlPersistence.IsReadAtBoot(file))
            {
                throw new RepairFailedException($"{file} was written, but {after!.File}:{after.Line} still sets {r.Name} = {after.Value} at boot.");
            }

            return new MptcpRepairResult
            {
                FindingId = r.FindingId, Action = "Set sysctl", Target = file is null ? r.Name : $"{r.Name}, {file}",
                Before = $"{before}; at boot: {Boot(winner)}", After = $"{ProcFiles.ReadSysctl(r.Name)}; at boot: {Boot(after)}", Applied = true,
                Command = $"sysctl -w {r.Name}={r.Value}" + (file is null ? "" : $"; echo '{r.Name} = {r.Value}' >> {ShellText.Quote(file)}"),
                Undo = (file is null ? "" : fileBefore is null ? $"rm {ShellText.Quote(file)}; " : $"remove the line '{r.Name} = {r.Value}' from {file}; ") + $"sysctl -w {r.Name}={before}",
                Note = note, Repair = r,
            };
        });
    }

    private static RepairPlan PrepareLimits(LimitRepair r)
    {
        if (r.Subflows > MaxLimit || r.AddAddrAccepted > MaxLimit)
        {
            throw new RepairRefusedException($"The kernel's limits go up to {MaxLimit}: subflows {r.Subflows} add_addr_accepted {r.AddAddrAccepted} is not a repair.");
        }

        MptcpLimit before;
        using (MptcpPathManager pm = MptcpPathManager.Open())
        {
            before = pm.GetLimits();
        }

        // Only ever raised: a limit someone set higher stays.
        uint subflows = Math.Max(before.Subflows, r.Subflows), accepted = Math.Max(before.AddAddrAccepted, r.AddAddrAccepted);
        if (subflows == before.Subflows && accepted == before.AddAddrAccepted)
        {
            return new RepairPlan(r, RepairPlanStatus.NothingToDo, "MPTCP limits", "Set limits", $"The limits are already {before}.", null);
        }

        return new RepairPlan(r, RepairPlanStatus.Ready, $"MPTCP limits ({before})", $"Set subflows {subflows}, add_addr_accepted {accepted}", null, () =>
        {
            using MptcpPathManager pm = MptcpPathManager.Open();
            pm.SetLimits(subflows, accepted);
            return new MptcpRepairResult
            {
                FindingId = r.FindingId, Action = "Set limits", Target = "MPTCP limits", Before = before.ToString(), After = pm.GetLimits().ToString(),
                Applied = true, Command = $"ip mptcp limits set subflows {subflows} add_addr_accepted {accepted}",
                Undo = $"Set-MptcpLimit -Subflows {before.Subflows} -AddAddrAccepted {before.AddAddrAccepted}",
                Note = "Limits last until reboot; mptcpd, NetworkManager or a boot script must set them again.", Repair = r,
            };
        });
    }

    private static RepairPlan PrepareEndpoint(EndpointRepair r)
    {
        if (!IPAddress.TryParse(r.Address, out IPAddress? address) || address.ToString() != r.Address
            || IPAddress.IsLoopback(address) || address.IsIPv6LinkLocal || address.IsIPv6Multicast
            || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.Broadcast)
            || (address.AddressFamily == AddressFamily.InterNetwork && address.GetAddressBytes()[0] >= 224))
        {
            throw new RepairRefusedException($"'{r.Address}' is not a unicast address an endpoint can have.");
        }

        // The diagnosis proposes plain subflow or signal endpoints, nothing else.
        if (!Enum.TryParse(r.Flags, ignoreCase: true, out MptcpEndpointFlags flags) || flags is not (MptcpEndpointFlags.Subflow or MptcpEndpointFlags.Signal))
        {
            throw new RepairRefusedException($"'{r.Flags}' are not endpoint flags this repair sets (Subflow or Signal).");
        }

        int index = ValidInterfaceName(r.Interface) && r.Interface != "lo" ? InterfaceNames.IndexOf(r.Interface) : 0;
        if (index == 0)
        {
            throw new RepairRefusedException($"There is no interface '{r.Interface}' here.", targetMissing: true);
        }

        if (!RouteTable.Addresses().Any(a => a.Address.Equals(address) && a.InterfaceIndex == index))
        {
            throw new RepairRefusedException($"{address} is not an address of {r.Interface}.", targetMissing: true);
        }

        using (MptcpPathManager pm = MptcpPathManager.Open())
        {
            if (pm.GetEndpoints().FirstOrDefault(e => address.Equals(e.Address)) is { } existing)
            {
                return new RepairPlan(r, RepairPlanStatus.NothingToDo, r.Target, "Add MPTCP endpoint", $"{address} is already endpoint {existing.Id}.", null);
            }
        }

        if (RouteTable.DefaultGateway(address.AddressFamily) is { } gateway && RouteTable.Get(gateway, address)?.OutputInterface is { } leaves && leaves != r.Interface)
        {
            return new RepairPlan(r, RepairPlanStatus.Describe, r.Target, "Add MPTCP endpoint",
                $"Traffic from {address} leaves through {leaves}, not {r.Interface}: add a source route first (Test-MptcpRouting).", null);
        }

        return new RepairPlan(r, RepairPlanStatus.Ready, $"{address} on {r.Interface}", $"Add MPTCP {flags} endpoint", null, () =>
        {
            using MptcpPathManager pm = MptcpPathManager.Open();
            pm.AddEndpoint(address, 0, 0, flags, index);
            MptcpEndpoint? now = pm.GetEndpoints().FirstOrDefault(e => address.Equals(e.Address));
            return new MptcpRepairResult
            {
                FindingId = r.FindingId, Action = "Add endpoint", Target = r.Target, Before = "no endpoint", After = now?.ToString(),
                Applied = true, Command = r.Command, Undo = now is null ? r.Undo : $"Remove-MptcpEndpoint -Id {now.Id}", Repair = r,
            };
        });
    }

    private RepairPlan PrepareUnit(UnitRepair r)
    {
        if (!MptcpDaemon.UnitNames.Contains(r.Unit))
        {
            throw new RepairRefusedException($"'{r.Unit}' is not mptcpd's unit ({string.Join(" or ", MptcpDaemon.UnitNames)}).");
        }

        MptcpDaemonStatus status = MptcpDaemon.Read(MptcpdConfig.DefaultPath, _busAddress);
        if (status.Source != "systemd")
        {
            return new RepairPlan(r, RepairPlanStatus.Describe, r.Unit, "Enable and start the unit over D-Bus",
                "No systemd answered on the D-Bus, so the unit cannot be started from here: run the Command by hand.", null);
        }

        if (status.Running && status.UnitFileState == "enabled")
        {
            return new RepairPlan(r, RepairPlanStatus.NothingToDo, r.Unit, "Enable and start the unit", $"{r.Unit} is enabled and running.", null);
        }

        return new RepairPlan(r, RepairPlanStatus.Ready, r.Unit, "Enable and start the unit over D-Bus", null, () =>
        {
            using (SystemBus bus = SystemBus.Connect(_busAddress, TimeSpan.FromSeconds(3)))
            {
                bus.CallIgnoringReply("org.freedesktop.systemd1", "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "EnableUnitFiles", "asbb", new[] { r.Unit }, false, true);
                // As systemctl enable does: systemd reads the unit files again, so it knows what was enabled.
                bus.CallIgnoringReply("org.freedesktop.systemd1", "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "Reload", "");
                bus.CallIgnoringReply("org.freedesktop.systemd1", "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "StartUnit", "ss", r.Unit, "replace");
            }

            MptcpDaemonStatus after = MptcpDaemon.Read(MptcpdConfig.DefaultPath, _busAddress);
            return new MptcpRepairResult
            {
                FindingId = r.FindingId, Action = "Enable and start unit", Target = r.Unit,
                Before = $"{status.ActiveState}/{status.SubState}, {status.UnitFileState}", After = $"{after.ActiveState}/{after.SubState}, {after.UnitFileState}",
                Applied = true, Command = r.Command, Undo = r.Undo, Repair = r,
            };
        });
    }

    private static RepairPlan PrepareReversePath(ReversePathFilterRepair r)
    {
        if (r.Value != 2)
        {
            throw new RepairRefusedException($"rp_filter {r.Value} is not a repair this module makes (it sets 2, loose).");
        }

        if (!ValidInterfaceName(r.Interface) || r.Interface == "lo" || InterfaceNames.IndexOf(r.Interface) == 0)
        {
            throw new RepairRefusedException($"There is no interface '{r.Interface}' here that carries subflows.", targetMissing: true);
        }

        string name = r.SysctlName;
        string before = ProcFiles.ReadSysctl(name) ?? throw new RepairRefusedException($"{name} does not exist here.", targetMissing: true);
        string? all = ProcFiles.ReadSysctl("net.ipv4.conf.all.rp_filter");
        // The kernel applies the larger of "all" and the interface's value: strict is exactly 1.
        int effective = Math.Max(ParseInt(all), ParseInt(before));
        if (effective != 1)
        {
            return new RepairPlan(r, RepairPlanStatus.NothingToDo, name, "Set to 2 (loose)", $"{name} is {before} and all is {all}: not strict.", null);
        }

        return new RepairPlan(r, RepairPlanStatus.Ready, name, $"Set to 2 (loose) from {before}", null, () =>
        {
            ProcFiles.WriteSysctl(name, "2");
            return new MptcpRepairResult
            {
                FindingId = r.FindingId, Action = "Set sysctl", Target = name, Before = before, After = ProcFiles.ReadSysctl(name), Applied = true,
                Command = $"sysctl -w {ShellText.Quote($"{name}=2")}", Undo = $"sysctl -w {ShellText.Quote($"{name}={before}")}",
                Note = "Not persistent: add it to a file in /etc/sysctl.d to keep it.", Repair = r,
            };
        });
    }

    private static int ParseInt(string? text) =>
        int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int n) ? n : 0;

    private static RepairPlan PrepareNftables(NftablesRuleRepair r)
    {
        if (!NftFamilies.Contains(r.Family) || r.Handle <= 0 || r.Table.Length == 0 || r.Chain.Length == 0)
        {
            throw new RepairRefusedException($"'{r.Family} {r.Table} {r.Chain} handle {r.Handle}' does not name an nftables rule.");
        }

        FirewallRule rule = CurrentNftablesRule(r)
            ?? throw new RepairRefusedException($"There is no nftables rule {r.Family} {r.Table} {r.Chain} handle {r.Handle} here.", targetMissing: true);
        if (r.RuleJson is not null && !SameJson(r.RuleJson, rule.Json))
        {
            throw new RepairRefusedException($"The nftables rule with handle {r.Handle} is no longer the one the diagnosis saw ('{r.Rule}'; now '{rule.Text}').", targetMissing: true);
        }

        RequireBreaksMptcp(rule);
        // Undo puts it back where the diagnosis saw it (the record's place), with the rule as nft -j lists it now.
        var current = new NftablesRuleRepair
        {
            FindingId = r.FindingId, Family = r.Family, Table = r.Table, Chain = r.Chain, Handle = r.Handle, Rule = rule.Text,
            Index = r.RuleJson is null ? rule.Position - 1 : r.Index, Last = r.RuleJson is null ? rule.Position == CountInChain(r) : r.Last, RuleJson = rule.Json,
        };
        return new RepairPlan(r, RepairPlanStatus.Ready, $"nftables rule '{rule.Text}' ({r.Family} {r.Table} {r.Chain} handle {r.Handle})",
            "Delete (the module cannot put it back; Undo says how)", null, () =>
            {
                // The ruleset may have been reloaded while a prompt was open: the handle must still name this rule.
                if (CurrentNftablesRule(r) is not { } now || !SameJson(now.Json, rule.Json))
                {
                    throw new RepairFailedException($"The nftables rule with handle {r.Handle} changed after it was checked; nothing was deleted.");
                }

                try
                {
                    FirewallChanges.DeleteNftablesRule(r.Family, r.Table, r.Chain, r.Handle);
                }
                catch (FirewallChangeException e)
                {
                    throw new RepairFailedException($"nft did not delete the rule: {e.Message}", e);
                }

                bool gone = CurrentNftablesRule(r) is not { } after || !SameJson(after.Json, rule.Json);
                return new MptcpRepairResult
                {
                    FindingId = r.FindingId, Action = "Delete firewall rule", Target = $"nftables {r.Family} {r.Table} {r.Chain}", Before = rule.Text,
                    After = gone ? "deleted" : "still there", Applied = gone, Command = current.Command, Undo = current.Undo, Repair = current,
                };
            });
    }

    private static FirewallRule? CurrentNftablesRule(NftablesRuleRepair r)
    {
        var notes = new List<FirewallReadNote>();
        (List<FirewallChain> _, List<FirewallRule> rules) = FirewallReader.ReadNftables(notes)
            ?? throw new RepairFailedException($"nftables could not be read: {string.Join("; ", notes.Select(n => n.Message))}");
        return rules.FirstOrDefault(x => x.Family == r.Family && x.Table == r.Table && x.Chain == r.Chain && x.Handle == r.Handle);
    }

    private static int CountInChain(NftablesRuleRepair r) =>
        FirewallReader.ReadNftables(new List<FirewallReadNote>())?.Rules.Count(x => x.Family == r.Family && x.Table == r.Table && x.Chain == r.Chain) ?? 0;

    // nft -j's object for a rule, compared member by member (the text of two listings can differ in spacing).
    private static bool SameJson(string? a, string? b)
    {
        if (a is null || b is null)
        {
            return a == b;
        }

        try
        {
            using System.Text.Json.JsonDocument x = System.Text.Json.JsonDocument.Parse(a), y = System.Text.Json.JsonDocument.Parse(b);
            return Same(x.RootElement, y.RootElement);
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }

    private static RepairPlan PrepareIptables(IptablesRuleRepair r)
    {
        if (!FirewallChanges.IptablesCommands.ContainsKey(r.Source) || !IptablesTables.Contains(r.Table) || r.Chain.Length == 0 || r.Arguments.Length == 0)
        {
            throw new RepairRefusedException($"'{r.Source} -t {r.Table} {r.Chain}' does not name an iptables rule.");
        }

        var notes = new List<FirewallReadNote>();
        (List<FirewallChain> _, List<FirewallRule> rules) = FirewallReader.ReadIptables(r.Source, notes)
            ?? throw new RepairFailedException($"{r.Source} could not be read: {string.Join("; ", notes.Select(n => n.Message))}");
        bool Same(FirewallRule x) => x.Table == r.Table && x.Chain == r.Chain && x.Arguments.SequenceEqual(r.Arguments, StringComparer.Ordinal);
        FirewallRule rule = rules.FirstOrDefault(Same)
            ?? throw new RepairRefusedException($"There is no {r.Source} rule in {r.Table}/{r.Chain} with those arguments here.", targetMissing: true);
        RequireBreaksMptcp(rule);
        // Undo puts it back where the diagnosis saw it (the record's place), as deletions earlier in the run move the rest.
        var current = new IptablesRuleRepair
        {
            FindingId = r.FindingId, Source = r.Source, Table = r.Table, Chain = r.Chain, Arguments = rule.Arguments,
            Position = r.Position > 0 ? r.Position : rule.Position, Rule = rule.Text,
        };
        return new RepairPlan(r, RepairPlanStatus.Ready, $"{r.Source} rule '{rule.Text}' (table {r.Table})",
            "Delete (the module cannot put it back; Undo says how)", null, () =>
            {
                try
                {
                    FirewallChanges.DeleteIptablesRule(r.Source, r.Table, r.Chain, rule.Arguments);
                }
                catch (FirewallChangeException e)
                {
                    throw new RepairFailedException($"{r.Source} did not delete the rule: {e.Message}", e);
                }

                bool gone = FirewallReader.ReadIptables(r.Source, new List<FirewallReadNote>()) is not { } after
                            || after.Rules.Count(Same) < rules.Count(Same);
                return new MptcpRepairResult
                {
                    FindingId = r.FindingId, Action = "Delete firewall rule", Target = $"{r.Source} {r.Table} {r.Chain}", Before = rule.Text,
                    After = gone ? "deleted" : "still there", Applied = gone, Command = current.Command, Undo = current.Undo, Repair = current,
                };
            });
    }

    private const uint KnownNetworkManagerFlags = 0xFF;

    private RepairPlan PrepareNetworkManager(NetworkManagerFlagsRepair r)
    {
        if (!Guid.TryParse(r.Uuid, out _) || (r.Flags & ~KnownNetworkManagerFlags) != 0
            || ((r.Flags & (uint)NetworkManagerMptcpFlags.Disabled) != 0 && r.Flags != (uint)NetworkManagerMptcpFlags.Disabled))
        {
            throw new RepairRefusedException($"'{r.Uuid}' with mptcp-flags 0x{r.Flags:x} is not a NetworkManager change this module makes.");
        }

        uint before;
        try
        {
            before = NetworkManager.ReadFlags(_busAddress, r.Uuid);
        }
        catch (NetworkManagerException e)
        {
            throw new RepairRefusedException(e.Message, targetMissing: true);
        }

        string wanted = NetworkManagerMptcpSetting.NmcliValue(r.Flags);
        if (before == r.Flags)
        {
            return new RepairPlan(r, RepairPlanStatus.NothingToDo, r.Target, "Set mptcp-flags", $"'{r.Connection}' already has mptcp-flags {wanted}.", null);
        }

        return new RepairPlan(r, RepairPlanStatus.Ready, $"{r.Target} (mptcp-flags now {NetworkManagerMptcpSetting.NmcliValue(before)})",
            $"Set connection.mptcp-flags {wanted} and activate it again", null, () =>
            {
                try
                {
                    NetworkManager.SetFlags(_busAddress, r.Uuid, r.Flags);
                    uint after = NetworkManager.ReadFlags(_busAddress, r.Uuid);
                    var current = new NetworkManagerFlagsRepair { FindingId = r.FindingId, Uuid = r.Uuid, Connection = r.Connection, Flags = r.Flags, Before = before };
                    return new MptcpRepairResult
                    {
                        FindingId = r.FindingId, Action = "Set NetworkManager mptcp-flags", Target = r.Target,
                        Before = NetworkManagerMptcpSetting.NmcliValue(before), After = NetworkManagerMptcpSetting.NmcliValue(after), Applied = after == r.Flags,
                        Command = current.Command, Undo = current.Undo, Repair = current,
                        Note = "Saved in the connection's profile: it holds after a reboot. NetworkManager makes the endpoints once the connection is up again.",
                    };
                }
                catch (NetworkManagerException e)
                {
                    throw new RepairFailedException(e.Message, e);
                }
            });
    }

    private const MptcpEndpointFlags EndpointKinds = MptcpEndpointFlags.Signal | MptcpEndpointFlags.Subflow | MptcpEndpointFlags.Backup | MptcpEndpointFlags.Fullmesh;

    private RepairPlan PrepareMptcpd(MptcpdAddressFlagsRepair r)
    {
        static string[] Split(string text) => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string[] addr = Split(r.AddressFlags), notify = Split(r.NotifyFlags);
        if (r.File != MptcpdConfig.DefaultPath || !MptcpDaemon.UnitNames.Contains(r.Unit) || !addr.Contains("subflow")
            || addr.Any(f => !MptcpdConfig.AddrFlags.Contains(f)) || notify.Any(f => !MptcpdConfig.NotifyFlags.Contains(f))
            || (addr.Contains("signal") && addr.Contains("fullmesh")))
        {
            throw new RepairRefusedException($"addr-flags={r.AddressFlags} notify-flags={r.NotifyFlags} in {r.File} for {r.Unit} is not a change this module makes to mptcpd.");
        }

        MptcpdConfig config = MptcpdConfig.Read(r.File);
        if (!config.Exists)
        {
            throw new RepairRefusedException($"{r.File} does not exist here.", targetMissing: true);
        }

        MptcpDaemonStatus status = MptcpDaemon.Read(r.File, _busAddress);
        if (status.Source != "systemd")
        {
            return new RepairPlan(r, RepairPlanStatus.Describe, r.Target, "Set addr-flags and restart mptcpd",
                $"No systemd answered on the D-Bus, so mptcpd cannot be restarted from here: {r.Command}", null);
        }

        string before = $"addr-flags={string.Join(",", config.AddressFlags)}, notify-flags={string.Join(",", config.NotifyFlagList)}";
        if (addr.All(config.AddressFlags.Contains) && notify.All(config.NotifyFlagList.Contains))
        {
            return new RepairPlan(r, RepairPlanStatus.NothingToDo, r.Target, "Set addr-flags", $"{r.File} already has {before}.", null);
        }

        return new RepairPlan(r, RepairPlanStatus.Ready, $"{r.File} ({before}) and {r.Unit}",
            $"Set addr-flags={r.AddressFlags} notify-flags={r.NotifyFlags}, remove mptcpd's endpoints without flags, restart {r.Unit}", null, () =>
            {
                try
                {
                    MptcpdConfig.WriteCoreKeys(r.File, new Dictionary<string, string> { ["addr-flags"] = r.AddressFlags, ["notify-flags"] = r.NotifyFlags });
                }
                catch (Exception e) when (e is System.IO.IOException or UnauthorizedAccessException)
                {
                    throw new RepairFailedException($"{r.File} could not be written: {e.Message}", e);
                }

                // mptcpd adds an endpoint per address once; those it added without flags stay unless removed.
                var removed = new List<string>();
                using (MptcpPathManager pm = MptcpPathManager.Open())
                {
                    foreach (MptcpEndpoint e in pm.GetEndpoints().Where(e => (e.Flags & (EndpointKinds | MptcpEndpointFlags.Implicit)) == 0))
                    {
                        pm.RemoveEndpoint(e.Id);
                        removed.Add($"ip mptcp endpoint delete id {e.Id}");
                    }
                }

                using (SystemBus bus = SystemBus.Connect(_busAddress, TimeSpan.FromSeconds(3)))
                {
                    bus.CallIgnoringReply("org.freedesktop.systemd1", "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "RestartUnit", "ss", r.Unit, "replace");
                }

                MptcpDaemonStatus after = MptcpDaemon.Read(r.File, _busAddress);
                for (int i = 0; i < 50 && !after.Running; i++)
                {
                    System.Threading.Thread.Sleep(100);
                    after = MptcpDaemon.Read(r.File, _busAddress);
                }

                MptcpdConfig now = MptcpdConfig.Read(r.File);
                var current = new MptcpdAddressFlagsRepair
                {
                    FindingId = r.FindingId, File = r.File, Unit = r.Unit, AddressFlags = r.AddressFlags, NotifyFlags = r.NotifyFlags,
                    BeforeAddressFlags = config.AddressFlags.Length > 0 ? string.Join(",", config.AddressFlags) : null,
                    BeforeNotifyFlags = config.NotifyFlagList.Length > 0 ? string.Join(",", config.NotifyFlagList) : null,
                };
                return new MptcpRepairResult
                {
                    FindingId = r.FindingId, Action = "Set mptcpd addr-flags", Target = r.Target, Before = $"{before}; {status.ActiveState}/{status.SubState}",
                    After = $"addr-flags={string.Join(",", now.AddressFlags)}, notify-flags={string.Join(",", now.NotifyFlagList)}; {after.ActiveState}/{after.SubState}",
                    Applied = after.Running, Command = string.Join("; ", new[] { $"edit {r.File}: addr-flags={r.AddressFlags}, notify-flags={r.NotifyFlags}" }.Concat(removed).Append($"systemctl restart {r.Unit}")),
                    Undo = current.Undo, Repair = current,
                    Note = after.Running ? "In mptcpd's configuration: it holds after a reboot." : $"{r.Unit} did not come back up: {string.Join(" | ", after.Journal.TakeLast(3).Select(j => j.Message))}",
                };
            });
    }

    // A deletion record can only remove what the module itself judges harmful to MPTCP.
    private static void RequireBreaksMptcp(FirewallRule rule)
    {
        if (!FirewallJudge.JudgeRules(new[] { rule }, null, Array.Empty<string>())
                .Any(f => f.Effect is FirewallEffect.DropsMptcpOption or FirewallEffect.StripsMptcpOption))
        {
            throw new RepairRefusedException($"'{rule.Text}' neither drops nor strips TCP option 30: this module does not delete it.");
        }
    }

    private static bool Same(System.Text.Json.JsonElement a, System.Text.Json.JsonElement b)
    {
        if (a.ValueKind != b.ValueKind)
        {
            return false;
        }

        switch (a.ValueKind)
        {
            case System.Text.Json.JsonValueKind.Object:
                var left = a.EnumerateObject().ToList();
                var right = b.EnumerateObject().ToDictionary(p => p.Name, p => p.Value);
                return left.Count == right.Count && left.All(p => right.TryGetValue(p.Name, out var v) && Same(p.Value, v));
            case System.Text.Json.JsonValueKind.Array:
                return a.GetArrayLength() == b.GetArrayLength() && a.EnumerateArray().Zip(b.EnumerateArray()).All(pair => Same(pair.First, pair.Second));
            default:
                return a.GetRawText() == b.GetRawText();
        }
    }

    private static bool ValidInterfaceName(string name) =>
        name.Length is > 0 and < 16 && name != "." && name != ".." && !name.Any(c => c == '/' || c == '\0' || char.IsWhiteSpace(c));
}
