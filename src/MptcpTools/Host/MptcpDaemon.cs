using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using MptcpTools.Kernel;
using Tmds.DBus.Protocol;

namespace MptcpTools.Host;

/// <summary>What the host says about mptcpd: its binary, its unit (from systemd), its processes, its configuration.</summary>
public record MptcpDaemonStatus
{
    public bool Installed { get; init; }
    public string? BinaryPath { get; init; }
    public string? Version { get; init; }
    public bool Running { get; init; }
    /// <summary>"systemd" when the answer came from systemd over D-Bus, "process table" when from /proc.</summary>
    public string Source { get; init; } = "";
    public string? UnitName { get; init; }
    public string? LoadState { get; init; }
    public string? ActiveState { get; init; }
    public string? SubState { get; init; }
    public string? UnitFileState { get; init; }
    public int? MainPid { get; init; }
    public int? LastExitStatus { get; init; }
    public string? Result { get; init; }
    public DateTime? StateChangedAt { get; init; }
    public int[] ProcessIds { get; init; } = Array.Empty<int>();
    /// <summary>mptcpd processes in other network namespaces (containers, ip netns): they manage those, not this one.</summary>
    public int[] ProcessIdsElsewhere { get; init; } = Array.Empty<int>();
    public string ConfigPath { get; init; } = MptcpdConfig.DefaultPath;
    public string? PathManagerPlugin { get; init; }
    /// <summary>addr-flags of the configuration: the flags mptcpd gives the endpoints it adds (none: endpoints that open no subflow).</summary>
    public string[] AddressFlags { get; init; } = Array.Empty<string>();
    /// <summary>notify-flags of the configuration ("existing": addresses present at start get endpoints too).</summary>
    public string[] NotifyFlags { get; init; } = Array.Empty<string>();
    public string[] InstalledPlugins { get; init; } = Array.Empty<string>();
    public MptcpdConfigProblem[] Problems { get; init; } = Array.Empty<MptcpdConfigProblem>();
    /// <summary>Why systemd could not be asked, when Source is the process table.</summary>
    public string? Note { get; init; }
    /// <summary>The last lines the unit (and systemd about it) wrote to the journal, oldest first: why it stopped, what it disliked.</summary>
    public JournalEntry[] Journal { get; init; } = Array.Empty<JournalEntry>();
    /// <summary>Why the journal could not be read, when it could not.</summary>
    public string? JournalNote { get; init; }

    public override string ToString() => $"mptcpd {(Installed ? Version ?? "installed" : "not installed")}, {(Running ? "running" : "not running")} ({Source})";
}

/// <summary>Gathers mptcpd's state: the binary, the unit through systemd over D-Bus, the process table, the configuration.</summary>
public static class MptcpDaemon
{
    public static readonly string[] UnitNames = { "mptcp.service", "mptcpd.service" };
    public static readonly string[] BinaryPaths = { "/usr/libexec/mptcpd", "/usr/lib/mptcpd/mptcpd", "/usr/sbin/mptcpd", "/usr/bin/mptcpd" };
    /// <summary>How many of the unit's last journal lines are kept as evidence.</summary>
    public const int JournalLines = 10;

    public static MptcpDaemonStatus Read(string configPath, string? busAddress)
    {
        string? binary = BinaryPaths.FirstOrDefault(File.Exists);
        string? version = binary is null ? null : DebianPackages.Owner(binary).Version;
        MptcpdConfig config = MptcpdConfig.Read(configPath);
        (int[] pids, int[] elsewhere) = FindProcessesByNamespace(binary);
        Dictionary<string, VariantValue>? unit = null;
        Dictionary<string, VariantValue>? service = null;
        string? unitName = null;
        string? note = null;
        try
        {
            using SystemBus bus = SystemBus.Connect(busAddress, TimeSpan.FromSeconds(3));
            if (!bus.HasOwner("org.freedesktop.systemd1"))
            {
                note = $"No systemd on the D-Bus at {bus.Address}.";
            }
            else
            {
                (unitName, unit, service) = ReadUnit(bus);
            }
        }
        catch (Exception e) when (e is BusUnavailableException or DBusExceptionBase)
        {
            note = e.Message;
        }

        if (unit is not null)
        {
            string? active = Str(unit, "ActiveState");
            string? sub = Str(unit, "SubState");
            ulong changed = unit.TryGetValue("StateChangeTimestamp", out VariantValue t) && t.Type == VariantValueType.UInt64 ? t.GetUInt64() : 0;
            int? mainPid = service is not null && service.TryGetValue("MainPID", out VariantValue p) ? (int)p.GetUInt32() : null;
            // The journal of a unit this systemd has (one it does not know has none), read here: only when the
            // systemd asked is this host's, on its system bus.
            bool thisHost = busAddress is null || busAddress == SystemBus.DefaultAddress || busAddress == DBusAddress.System;
            (JournalEntry[] journal, string? journalNote) = Str(unit, "LoadState") is not "loaded" || unitName is null
                ? (Array.Empty<JournalEntry>(), null)
                : thisHost ? Journal.ReadUnit(unitName, JournalLines)
                : (Array.Empty<JournalEntry>(), $"The journal is read on this host only; {busAddress} may be another's.");
            return new MptcpDaemonStatus
            {
                Installed = binary is not null || Str(unit, "LoadState") == "loaded",
                BinaryPath = binary,
                Version = version,
                Running = active == "active" && sub == "running",
                Source = "systemd",
                UnitName = unitName,
                LoadState = Str(unit, "LoadState"),
                ActiveState = active,
                SubState = sub,
                UnitFileState = Str(unit, "UnitFileState"),
                MainPid = mainPid is 0 ? null : mainPid,
                LastExitStatus = service is not null && service.TryGetValue("ExecMainStatus", out VariantValue s) ? s.GetInt32() : null,
                Result = service is null ? null : Str(service, "Result"),
                StateChangedAt = changed == 0 ? null : DateTime.UnixEpoch.AddTicks((long)changed * 10),
                ProcessIds = pids,
                ProcessIdsElsewhere = elsewhere,
                ConfigPath = configPath,
                PathManagerPlugin = config.PathManager,
                AddressFlags = config.AddressFlags,
                NotifyFlags = config.NotifyFlagList,
                InstalledPlugins = config.InstalledPlugins,
                Problems = config.Problems.ToArray(),
                Journal = journal,
                JournalNote = journalNote,
            };
        }

        return new MptcpDaemonStatus
        {
            Installed = binary is not null,
            BinaryPath = binary,
            Version = version,
            Running = pids.Length > 0,
            Source = "process table",
            ProcessIds = pids,
            ProcessIdsElsewhere = elsewhere,
            MainPid = pids.Length > 0 ? pids[0] : null,
            ConfigPath = configPath,
            PathManagerPlugin = config.PathManager,
            AddressFlags = config.AddressFlags,
            NotifyFlags = config.NotifyFlagList,
            InstalledPlugins = config.InstalledPlugins,
            Problems = config.Problems.ToArray(),
            Note = note,
        };
    }

    // The first of the unit names that systemd has loaded; if none is, the first one systemd knows of.
    private static (string?, Dictionary<string, VariantValue>?, Dictionary<string, VariantValue>?) ReadUnit(SystemBus bus)
    {
        (string Name, Dictionary<string, VariantValue> Unit, Dictionary<string, VariantValue>? Service)? fallback = null;
        foreach (string name in UnitNames)
        {
            string path;
            try
            {
                path = bus.CallReturningPath("org.freedesktop.systemd1", "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "GetUnit", name);
            }
            catch (DBusExceptionBase)
            {
                try
                {
                    path = bus.CallReturningPath("org.freedesktop.systemd1", "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "LoadUnit", name);
                }
                catch (DBusExceptionBase)
                {
                    continue;
                }
            }

            Dictionary<string, VariantValue> unit = bus.GetAll("org.freedesktop.systemd1", path, "org.freedesktop.systemd1.Unit");
            Dictionary<string, VariantValue>? service = null;
            try
            {
                service = bus.GetAll("org.freedesktop.systemd1", path, "org.freedesktop.systemd1.Service");
            }
            catch (DBusExceptionBase)
            {
            }

            if (Str(unit, "LoadState") == "loaded")
            {
                return (name, unit, service);
            }

            fallback ??= (name, unit, service);
        }

        return fallback is { } f ? (f.Name, f.Unit, f.Service) : (null, null, null);
    }

    /// <summary>
    /// Processes whose executable is mptcpd (or whose name is, when the link is unreadable), in this
    /// network namespace only: an mptcpd in another namespace (a container) manages that namespace's MPTCP.
    /// </summary>
    public static int[] FindProcesses(string? binary) => FindProcessesByNamespace(binary).Here;

    /// <summary>mptcpd processes in this network namespace, and in others.</summary>
    public static (int[] Here, int[] Elsewhere) FindProcessesByNamespace(string? binary)
    {
        var here = new List<int>();
        var elsewhere = new List<int>();
        string? ownNamespace = ProcessTable.NetworkNamespace("self");
        foreach (int pid in ProcessTable.ProcessIds())
        {
            string? exe = ProcessTable.ExecutablePath(pid);
            if ((exe is not null && (exe == binary || Path.GetFileName(exe) == "mptcpd"))
                || (exe is null && ProcessTable.CommandName(pid) == "mptcpd"))
            {
                bool mine = ownNamespace is null || ProcessTable.NetworkNamespace(pid.ToString(CultureInfo.InvariantCulture)) is not { } ns || ns == ownNamespace;
                (mine ? here : elsewhere).Add(pid);
            }
        }

        return (here.ToArray(), elsewhere.ToArray());
    }

    private static string? Str(Dictionary<string, VariantValue> props, string key) =>
        props.TryGetValue(key, out VariantValue v) && v.Type == VariantValueType.String ? v.GetString() : null;
}
