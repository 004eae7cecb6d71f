using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;

namespace MptcpTools.Diagnosis;

/// <summary>The changes Repair-MptcpConfiguration knows how to make. Each is one fixed operation of the module.</summary>
public enum RepairKind
{
    SetSysctl,
    SetLimits,
    AddEndpoint,
    StartUnit,
    SetReversePathFilter,
    DeleteNftablesRule,
    DeleteIptablesRule,
    SetNetworkManagerMptcpFlags,
    SetMptcpdAddressFlags,
    /// <summary>A change the module does not automate: only described, with the commands to make it by hand.</summary>
    Manual,
}

/// <summary>A repair record that cannot be one of the module's operations (a forged or damaged finding).</summary>
public sealed class InvalidRepairException : Exception
{
    public InvalidRepairException(string message) : base(message) { }
}

/// <summary>
/// One change that fixes a finding, as data: what it changes and where, how to take it back, whether it is
/// safe to automate, and the command a person would type, rendered from the record and never read back.
/// Properties are plain values (strings, numbers, string arrays), so a record survives Export-Clixml and
/// remoting and is rebuilt from its properties with <see cref="FromProperties"/>. Applying one is
/// RepairEngine's work, which checks its arguments against what the host really has.
/// </summary>
public abstract class MptcpRepair
{
    public abstract RepairKind Kind { get; }
    /// <summary>The finding this repair fixes.</summary>
    public string FindingId { get; init; } = "";
    /// <summary>Applied without -Force. Fixed by the kind, so no record can declare a risky change safe.</summary>
    public bool SafeToAutomate => Kind is RepairKind.SetSysctl or RepairKind.SetLimits or RepairKind.AddEndpoint or RepairKind.StartUnit;
    /// <summary>Cannot be put back by the module: it prompts under the default $ConfirmPreference.</summary>
    public bool Irreversible => Kind is RepairKind.DeleteNftablesRule or RepairKind.DeleteIptablesRule;
    /// <summary>What it changes, in a few words.</summary>
    public abstract string Target { get; }
    /// <summary>The command that makes the same change by hand.</summary>
    public abstract string Command { get; }
    /// <summary>The command that takes the change back, as far as the diagnosis could tell.</summary>
    public abstract string Undo { get; }
    /// <summary>Two findings, one change: the same identity is applied once.</summary>
    public abstract string Identity { get; }
    /// <summary>
    /// The host and network namespace whose diagnosis made the record (<see cref="Kernel.HostIdentity.Id"/>): it is
    /// applied there only, wherever it travels (remoting, Export-Clixml). Null: made without one, checked only by its target.
    /// </summary>
    public string? HostId { get; internal set; }
    /// <summary>That host's name, for people.</summary>
    public string? HostName { get; internal set; }

    public override string ToString() => Command;

    /// <summary>
    /// Rebuilds a record from its properties, as a deserialized object carries them (Import-Clixml,
    /// remoting). Throws InvalidRepairException when they do not make one of the module's repairs.
    /// </summary>
    public static MptcpRepair FromProperties(Func<string, object?> property)
    {
        string kindText = Text(property, "Kind");
        // A deserialized enum may arrive as its number (remoting, jobs) or its name (Export-Clixml): both are fine.
        if (!Enum.TryParse(kindText, ignoreCase: false, out RepairKind kind) || !Enum.IsDefined(kind))
        {
            throw new InvalidRepairException($"'{kindText}' is not a kind of repair this module makes.");
        }

        string findingId = OptionalText(property, "FindingId") ?? "";
        MptcpRepair repair = kind switch
        {
            RepairKind.SetSysctl => new SysctlRepair
            {
                FindingId = findingId, Name = Text(property, "Name"), Value = Text(property, "Value"),
                Persistent = Bool(property, "Persistent"), Before = OptionalText(property, "Before"), File = OptionalText(property, "File"),
            },
            RepairKind.SetLimits => new LimitRepair
            {
                FindingId = findingId, Subflows = UInt(property, "Subflows"), AddAddrAccepted = UInt(property, "AddAddrAccepted"),
                Before = OptionalText(property, "Before"),
            },
            RepairKind.AddEndpoint => new EndpointRepair
            {
                FindingId = findingId, Address = Text(property, "Address"), Interface = Text(property, "Interface"), Flags = Text(property, "Flags"),
            },
            RepairKind.StartUnit => new UnitRepair { FindingId = findingId, Unit = Text(property, "Unit") },
            RepairKind.SetReversePathFilter => new ReversePathFilterRepair
            {
                FindingId = findingId, Interface = Text(property, "Interface"), Value = (int)UInt(property, "Value"),
                Before = (int)UInt(property, "Before"),
            },
            RepairKind.DeleteNftablesRule => new NftablesRuleRepair
            {
                FindingId = findingId, Family = Text(property, "Family"), Table = Text(property, "Table"), Chain = Text(property, "Chain"),
                Handle = Long(property, "Handle"), Rule = OptionalText(property, "Rule") ?? "", Index = (int)UInt(property, "Index"),
                Last = Bool(property, "Last"), RuleJson = OptionalText(property, "RuleJson"),
            },
            RepairKind.DeleteIptablesRule => new IptablesRuleRepair
            {
                FindingId = findingId, Source = Text(property, "Source"), Table = Text(property, "Table"), Chain = Text(property, "Chain"),
                Arguments = Texts(property, "Arguments"), Position = (int)UInt(property, "Position"), Rule = OptionalText(property, "Rule") ?? "",
            },
            RepairKind.Manual => new ManualRepair
            {
                FindingId = findingId, Instructions = OptionalText(property, "Instructions") ?? "", Reason = OptionalText(property, "Reason") ?? "",
            },
            RepairKind.SetNetworkManagerMptcpFlags => new NetworkManagerFlagsRepair
            {
                FindingId = findingId, Uuid = Text(property, "Uuid"), Connection = OptionalText(property, "Connection") ?? "",
                Flags = UInt(property, "Flags"), Before = OptionalLong(property, "Before") is { } before ? (uint)Math.Clamp(before, 0, uint.MaxValue) : null,
            },
            RepairKind.SetMptcpdAddressFlags => new MptcpdAddressFlagsRepair
            {
                FindingId = findingId, File = Text(property, "File"), Unit = Text(property, "Unit"), AddressFlags = Text(property, "AddressFlags"),
                NotifyFlags = Text(property, "NotifyFlags"), BeforeAddressFlags = OptionalText(property, "BeforeAddressFlags"),
                BeforeNotifyFlags = OptionalText(property, "BeforeNotifyFlags"),
            },
            _ => throw new InvalidRepairException($"'{kind}' is not a kind of repair this module makes."),
        };
        repair.HostId = OptionalText(property, "HostId");
        repair.HostName = OptionalText(property, "HostName");
        return repair;
    }

    /// <summary>
    /// The record as one JSON object of its properties (Kind first), for sending it to another host as text: PowerShell
    /// sends arguments into a session one level deep, which would leave a record nothing but its Command.
    /// </summary>
    public string ToJson()
    {
        var properties = new Dictionary<string, object?> { [nameof(Kind)] = Kind.ToString() };
        foreach (System.Reflection.PropertyInfo p in GetType().GetProperties())
        {
            if (p.Name != nameof(Kind) && p.CanWrite && p.GetIndexParameters().Length == 0)
            {
                properties[p.Name] = p.GetValue(this);
            }
        }

        return System.Text.Json.JsonSerializer.Serialize(properties);
    }

    /// <summary>Rebuilds a record from <see cref="ToJson"/>'s text, checked as <see cref="FromProperties"/> checks any record.</summary>
    public static MptcpRepair FromJson(string json)
    {
        Dictionary<string, System.Text.Json.JsonElement>? properties;
        try
        {
            properties = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, System.Text.Json.JsonElement>>(json);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidRepairException($"Not a repair record: {e.Message}");
        }

        if (properties is null)
        {
            throw new InvalidRepairException("Not a repair record: the text holds no object.");
        }

        static object? Value(System.Text.Json.JsonElement e) => e.ValueKind switch
        {
            System.Text.Json.JsonValueKind.String => e.GetString(),
            System.Text.Json.JsonValueKind.Number => e.GetRawText(),
            System.Text.Json.JsonValueKind.True => true,
            System.Text.Json.JsonValueKind.False => false,
            System.Text.Json.JsonValueKind.Array => e.EnumerateArray().Select(x => x.ValueKind == System.Text.Json.JsonValueKind.String ? x.GetString() : x.GetRawText()).ToArray(),
            _ => null,
        };
        return FromProperties(name => properties.TryGetValue(name, out System.Text.Json.JsonElement e) ? Value(e) : null);
    }

    private static string Text(Func<string, object?> property, string name) =>
        OptionalText(property, name) ?? throw new InvalidRepairException($"The repair has no {name}.");

    private static string? OptionalText(Func<string, object?> property, string name) =>
        property(name) is { } value ? Convert.ToString(value, CultureInfo.InvariantCulture) : null;

    private static bool Bool(Func<string, object?> property, string name) =>
        property(name) switch
        {
            bool b => b,
            string s when bool.TryParse(s, out bool b) => b,
            null => false,
            var other => throw new InvalidRepairException($"The repair's {name} '{other}' is not true or false."),
        };

    private static uint UInt(Func<string, object?> property, string name) =>
        (uint)Math.Clamp(Long(property, name), 0, uint.MaxValue);

    private static long Long(Func<string, object?> property, string name) =>
        OptionalLong(property, name) ?? throw new InvalidRepairException($"The repair has no {name}.");

    private static long? OptionalLong(Func<string, object?> property, string name)
    {
        string? text = OptionalText(property, name);
        if (text is null || text.Length == 0)
        {
            return null;
        }

        return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n)
            ? n
            : throw new InvalidRepairException($"The repair's {name} '{text}' is not a number.");
    }

    private static string[] Texts(Func<string, object?> property, string name) =>
        property(name) switch
        {
            string s => new[] { s },
            IEnumerable items => items.Cast<object?>().Select(i => Convert.ToString(i, CultureInfo.InvariantCulture) ?? "").ToArray(),
            _ => throw new InvalidRepairException($"The repair has no {name}."),
        };
}

/// <summary>Set a sysctl now, and, when Persistent, in a sysctl.d file that wins at boot.</summary>
public sealed class SysctlRepair : MptcpRepair
{
    /// <summary>The file Repair-MptcpConfiguration writes unless told otherwise (-SysctlFile).</summary>
    public const string DefaultFile = "/etc/sysctl.d/90-mptcp.conf";

    public override RepairKind Kind => RepairKind.SetSysctl;
    public string Name { get; init; } = "";
    public string Value { get; init; } = "";
    public bool Persistent { get; init; }
    /// <summary>The value when the diagnosis ran.</summary>
    public string? Before { get; init; }
    /// <summary>
    /// The file that, when the diagnosis ran, would be applied after the one that wins at boot: for the rendered
    /// command only. Repair-MptcpConfiguration works the file out again on the host it changes.
    /// </summary>
    public string? File { get; init; }
    private string ShownFile => File ?? DefaultFile;
    public override string Target => Name;
    public override string Command => $"sysctl -w {ShellText.Quote($"{Name}={Value}")}" + (Persistent ? $"; {FileCommand(Name, Value, ShownFile)}" : "");

    /// <summary>
    /// What the persistent change does, as a person would type it: the file's own lines for the key (in either
    /// spelling, '.' or '/', with or without '-') replaced by one assignment, every other line kept.
    /// </summary>
    public static string FileCommand(string name, string value, string file) =>
        $"{{ {WithoutKey(name, file)}; echo {ShellText.Quote($"{name} = {value}")}; }} > {ShellText.Quote(file + ".new")} && mv {ShellText.Quote(file + ".new")} {ShellText.Quote(file)}";

    /// <summary>The persistent change taken back by hand: the key's lines removed from the file, every other line kept.</summary>
    public static string FileUndoCommand(string name, string file) =>
        $"{WithoutKey(name, file)} > {ShellText.Quote(file + ".new")}; mv {ShellText.Quote(file + ".new")} {ShellText.Quote(file)}";

    private static string WithoutKey(string name, string file)
    {
        string key = string.Concat(name.Select(c => c is '.' or '/' ? "[./]" : char.IsAsciiLetterOrDigit(c) || c is '_' or '-' ? c.ToString() : "\\" + c));
        return $"grep -vE {ShellText.Quote($"^[[:space:]]*-?{key}[[:space:]]*=")} {ShellText.Quote(file)} 2>/dev/null";
    }
    public override string Undo => (Before is null ? "" : $"sysctl -w {ShellText.Quote($"{Name}={Before}")}") + (Persistent ? $"{(Before is null ? "" : "; ")}{FileUndoCommand(Name, ShownFile)}" : "");
    public override string Identity => $"{Kind}:{Name}={Value}";
}

/// <summary>Raise the path manager's limits to at least these values.</summary>
public sealed class LimitRepair : MptcpRepair
{
    public override RepairKind Kind => RepairKind.SetLimits;
    public uint Subflows { get; init; }
    public uint AddAddrAccepted { get; init; }
    /// <summary>The limits when the diagnosis ran.</summary>
    public string? Before { get; init; }
    public override string Target => "MPTCP limits";
    public override string Command => $"ip mptcp limits set subflows {Subflows} add_addr_accepted {AddAddrAccepted}";
    public override string Undo => Before is null ? "" : $"ip mptcp limits set {Before}";
    public override string Identity => $"{Kind}:{Subflows}:{AddAddrAccepted}";
}

/// <summary>Add an in-kernel path manager endpoint for an address on an interface.</summary>
public sealed class EndpointRepair : MptcpRepair
{
    public override RepairKind Kind => RepairKind.AddEndpoint;
    public string Address { get; init; } = "";
    public string Interface { get; init; } = "";
    /// <summary>The endpoint flags by name ("Subflow").</summary>
    public string Flags { get; init; } = "Subflow";
    public override string Target => $"{Address} dev {Interface}";
    public override string Command =>
        $"ip mptcp endpoint add {ShellText.Quote(Address)} dev {ShellText.Quote(Interface)} " +
        string.Join(" ", Flags.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(f => f.ToLowerInvariant()));
    public override string Undo => $"Get-MptcpEndpoint -Address {ShellText.Quote(Address)} | Remove-MptcpEndpoint";
    public override string Identity => $"{Kind}:{Address}";
}

/// <summary>Enable and start mptcpd's unit through systemd.</summary>
public sealed class UnitRepair : MptcpRepair
{
    public override RepairKind Kind => RepairKind.StartUnit;
    public string Unit { get; init; } = "";
    public override string Target => Unit;
    public override string Command => $"systemctl enable --now {ShellText.Quote(Unit)}";
    public override string Undo => $"systemctl disable --now {ShellText.Quote(Unit)}";
    public override string Identity => $"{Kind}:{Unit}";
}

/// <summary>
/// Loosen reverse-path filtering on an interface. The kernel applies the larger of "all" and the interface's own
/// value, so setting the interface to 2 is enough, also when "all" is 1, and leaves the other interfaces alone.
/// </summary>
public sealed class ReversePathFilterRepair : MptcpRepair
{
    public override RepairKind Kind => RepairKind.SetReversePathFilter;
    public string Interface { get; init; } = "";
    public int Value { get; init; } = 2;
    public int Before { get; init; }
    public string SysctlName => Kernel.ProcFiles.InterfaceSysctlName("ipv4", Interface, "rp_filter");
    public override string Target => SysctlName;
    public override string Command => $"sysctl -w {ShellText.Quote($"{SysctlName}={Value}")}";
    public override string Undo => $"sysctl -w {ShellText.Quote($"{SysctlName}={Before}")}";
    public override string Identity => $"{Kind}:{Interface}";
}

/// <summary>Delete one nftables rule, named by family, table, chain and handle.</summary>
public sealed class NftablesRuleRepair : MptcpRepair
{
    public override RepairKind Kind => RepairKind.DeleteNftablesRule;
    public string Family { get; init; } = "";
    public string Table { get; init; } = "";
    public string Chain { get; init; } = "";
    public long Handle { get; init; }
    /// <summary>The rule's text, as nft lists it: what the deletion removes.</summary>
    public string Rule { get; init; } = "";
    /// <summary>Its place in the chain, from 0, when it was listed, and whether it was the last: where Undo puts it back.</summary>
    public int Index { get; init; }
    public bool Last { get; init; }
    /// <summary>The rule as nft -j listed it: what Undo adds back, exactly (nft's text form does not always read back).</summary>
    public string? RuleJson { get; init; }
    public override string Target => $"nftables {Family} {Table} {Chain} handle {Handle}";
    public override string Command => Plain(Family) && Plain(Table) && Plain(Chain)
        ? $"nft delete rule {Family} {Table} {Chain} handle {Handle}"
        : NftJson("delete", new Dictionary<string, object> { ["family"] = Family, ["table"] = Table, ["chain"] = Chain, ["handle"] = Handle });
    public override string Undo
    {
        get
        {
            var rule = new Dictionary<string, object> { ["family"] = Family, ["table"] = Table, ["chain"] = Chain };
            if (RuleJson is not null)
            {
                try
                {
                    using var doc = System.Text.Json.JsonDocument.Parse(RuleJson);
                    foreach (string member in new[] { "comment", "expr" })
                    {
                        if (doc.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object && doc.RootElement.TryGetProperty(member, out var value))
                        {
                            rule[member] = value.Clone();
                        }
                    }
                }
                catch (System.Text.Json.JsonException)
                {
                    return $"add it again by hand in {Family} {Table} {Chain}: {Rule}";
                }
            }

            if (!rule.ContainsKey("expr"))
            {
                return $"add it again by hand in {Family} {Table} {Chain}: {Rule}";
            }

            // Run in the order the deletions were made: each goes back to the place it had then.
            if (!Last)
            {
                rule["index"] = Index;
            }

            return NftJson(Last ? "add" : "insert", rule);
        }
    }

    public override string Identity => $"{Kind}:{Family}/{Table}/{Chain}/{Handle}";

    // A name nft's command line reads as it is; anything else goes through JSON.
    private static bool Plain(string name) =>
        name.Length > 0 && (char.IsAsciiLetter(name[0]) || name[0] == '_') && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.');

    // Relaxed escaping keeps quotes and apostrophes readable; the shell quoting makes them safe.
    private static readonly System.Text.Json.JsonSerializerOptions Readable = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string NftJson(string verb, Dictionary<string, object> rule) =>
        $"echo {ShellText.Quote(System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object> { ["nftables"] = new object[] { new Dictionary<string, object> { [verb] = new Dictionary<string, object> { ["rule"] = rule } } } }, Readable))} | nft -j -f -";
}

/// <summary>Delete one iptables rule, named by its flavour, table, chain and exact arguments.</summary>
public sealed class IptablesRuleRepair : MptcpRepair
{
    public override RepairKind Kind => RepairKind.DeleteIptablesRule;
    /// <summary>iptables, ip6tables, iptables-legacy or ip6tables-legacy.</summary>
    public string Source { get; init; } = "";
    public string Table { get; init; } = "";
    public string Chain { get; init; } = "";
    /// <summary>The rule's arguments after "-A CHAIN", as iptables-save listed them.</summary>
    public string[] Arguments { get; init; } = Array.Empty<string>();
    /// <summary>Its place in the chain, where Undo puts it back.</summary>
    public int Position { get; init; }
    /// <summary>The -A line as iptables-save showed it.</summary>
    public string Rule { get; init; } = "";
    private string Tool => Host.FirewallChanges.IptablesCommands.TryGetValue(Source, out string? tool) ? tool : Source;
    public override string Target => $"{Source} {Table} {Chain} rule {Position}";
    public override string Command => ShellText.Join(new[] { Tool, "-t", Table, "-D", Chain }.Concat(Arguments));
    public override string Undo => ShellText.Join(new[] { Tool, "-t", Table, "-I", Chain, Position.ToString(CultureInfo.InvariantCulture) }.Concat(Arguments));
    public override string Identity => $"{Kind}:{Source}/{Table}/{Chain}/{string.Join("\u0001", Arguments)}";
}

/// <summary>
/// Set a NetworkManager connection's connection.mptcp-flags (saved in its profile, so it holds after a reboot)
/// and activate it again, so that NetworkManager, which owns the endpoints of its devices, makes them.
/// </summary>
public sealed class NetworkManagerFlagsRepair : MptcpRepair
{
    public override RepairKind Kind => RepairKind.SetNetworkManagerMptcpFlags;
    public string Uuid { get; init; } = "";
    /// <summary>The connection's name, for people; the UUID is what names it.</summary>
    public string Connection { get; init; } = "";
    public uint Flags { get; init; }
    /// <summary>The flags when the diagnosis ran.</summary>
    public uint? Before { get; init; }
    public override string Target => $"NetworkManager connection '{Connection}' ({Uuid})";
    public override string Command =>
        $"nmcli connection modify {ShellText.Quote(Uuid)} connection.mptcp-flags {ShellText.Quote(Host.NetworkManagerMptcpSetting.NmcliValue(Flags))}; nmcli connection up {ShellText.Quote(Uuid)}";
    public override string Undo => Before is { } b
        ? $"nmcli connection modify {ShellText.Quote(Uuid)} connection.mptcp-flags {ShellText.Quote(Host.NetworkManagerMptcpSetting.NmcliValue(b))}; nmcli connection up {ShellText.Quote(Uuid)}"
        : "";
    public override string Identity => $"{Kind}:{Uuid}";
}

/// <summary>
/// Have mptcpd, which adds an endpoint for every address, give them the subflow flag: addr-flags (and
/// notify-flags=existing, so addresses present when it starts get one too) in its configuration, its
/// flagless endpoints removed, and its unit restarted. The configuration makes it hold after a reboot.
/// </summary>
public sealed class MptcpdAddressFlagsRepair : MptcpRepair
{
    public override RepairKind Kind => RepairKind.SetMptcpdAddressFlags;
    public string File { get; init; } = Host.MptcpdConfig.DefaultPath;
    public string Unit { get; init; } = "";
    /// <summary>addr-flags to set, comma-separated (subflow, and the valid flags it had).</summary>
    public string AddressFlags { get; init; } = "subflow";
    /// <summary>notify-flags to set, comma-separated.</summary>
    public string NotifyFlags { get; init; } = "existing,skip_link_local,skip_loopback";
    /// <summary>addr-flags when the diagnosis ran (null: not set).</summary>
    public string? BeforeAddressFlags { get; init; }
    public string? BeforeNotifyFlags { get; init; }
    public override string Target => $"{File} ({Unit})";
    public override string Command =>
        $"sed -i -e '/^addr-flags *=/d' -e '/^notify-flags *=/d' -e 's/^\\[core\\]$/[core]\\naddr-flags={AddressFlags}\\nnotify-flags={NotifyFlags}/' {ShellText.Quote(File)}; "
        + $"ip mptcp endpoint delete id ID (each endpoint without flags); systemctl restart {ShellText.Quote(Unit)}";
    public override string Undo =>
        $"sed -i -e '/^addr-flags *=/d' -e '/^notify-flags *=/d'"
        + (BeforeAddressFlags is { } a ? $" -e 's/^\\[core\\]$/[core]\\naddr-flags={a}/'" : "")
        + (BeforeNotifyFlags is { } n ? $" -e 's/^\\[core\\]$/[core]\\nnotify-flags={n}/'" : "")
        + $" {ShellText.Quote(File)}; systemctl restart {ShellText.Quote(Unit)}";
    public override string Identity => $"{Kind}:{File}";
}

/// <summary>
/// A fix the module does not make itself (a source route: the second path's gateway cannot be known for sure):
/// Repair-MptcpConfiguration only describes it. Its text is shown, never run.
/// </summary>
public sealed class ManualRepair : MptcpRepair
{
    public override RepairKind Kind => RepairKind.Manual;
    public string Instructions { get; init; } = "";
    /// <summary>Why the module does not make the change.</summary>
    public string Reason { get; init; } = "";
    public override string Target => FindingId;
    public override string Command => Instructions;
    public override string Undo => "";
    public override string Identity => $"{Kind}:{FindingId}:{Instructions}";
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
    /// <summary>The repair record this result is for.</summary>
    public MptcpRepair? Repair { get; init; }

    public override string ToString() => $"{FindingId}: {Action} {Target}: {Before} -> {After}{(Applied ? "" : " (not applied)")}";
}
