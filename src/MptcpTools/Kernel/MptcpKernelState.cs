using System;
using System.Management.Automation;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;

namespace MptcpTools.Kernel;

/// <summary>What the running kernel (in this network namespace) says about MPTCP.</summary>
public sealed class MptcpKernelState
{
    /// <summary>The sysctls this type has typed properties for; others land in <see cref="UnknownSysctls"/>.</summary>
    public static readonly IReadOnlyCollection<string> KnownSysctls = new[]
    {
        "net.mptcp.enabled", "net.mptcp.path_manager", "net.mptcp.available_path_managers", "net.mptcp.pm_type",
        "net.mptcp.scheduler", "net.mptcp.available_schedulers", "net.mptcp.checksum_enabled",
        "net.mptcp.add_addr_timeout", "net.mptcp.allow_join_initial_addr_port", "net.mptcp.stale_loss_cnt",
        "net.mptcp.close_timeout", "net.mptcp.blackhole_timeout", "net.mptcp.syn_retrans_before_tcp_fallback",
    };

    private MptcpKernelState() { }

    public string KernelRelease { get; private set; } = "";
    /// <summary>MPTCP exists in this kernel: the protocol is registered or /proc/sys/net/mptcp exists.</summary>
    public bool Present { get; private set; }
    /// <summary>/proc/net/protocols lists MPTCP.</summary>
    public bool ProtocolRegistered { get; private set; }
    public KernelBuildMode BuildMode { get; private set; }
    /// <summary>Where <see cref="BuildMode"/> was read from (/proc/config.gz, /boot/config-…), or null.</summary>
    public string? KernelConfigSource { get; private set; }
    /// <summary>net.mptcp.enabled; null when the kernel has no such sysctl.</summary>
    public bool? Enabled { get; private set; }
    /// <summary>"kernel" or "userspace": net.mptcp.path_manager, or pm_type on kernels that only have that.</summary>
    public string? PathManager { get; private set; }
    public int? PmType { get; private set; }
    public string[] AvailablePathManagers { get; private set; } = Array.Empty<string>();
    public string? Scheduler { get; private set; }
    public string[] AvailableSchedulers { get; private set; } = Array.Empty<string>();
    public bool? ChecksumEnabled { get; private set; }
    // ConvertTo-Json writes AddAddrTimeoutSeconds instead, a number a monitoring system reads; Format-List * shows that one too.
    [Hidden]
    [Newtonsoft.Json.JsonIgnore]
    public TimeSpan? AddAddrTimeout { get; private set; }
    /// <summary><see cref="AddAddrTimeout"/> in seconds, as the sysctl holds it.</summary>
    public double? AddAddrTimeoutSeconds => AddAddrTimeout?.TotalSeconds;
    public bool? AllowJoinInitialAddrPort { get; private set; }
    public int? StaleLossCount { get; private set; }
    // ConvertTo-Json writes CloseTimeoutSeconds instead, a number a monitoring system reads; Format-List * shows that one too.
    [Hidden]
    [Newtonsoft.Json.JsonIgnore]
    public TimeSpan? CloseTimeout { get; private set; }
    /// <summary><see cref="CloseTimeout"/> in seconds, as the sysctl holds it.</summary>
    public double? CloseTimeoutSeconds => CloseTimeout?.TotalSeconds;
    // ConvertTo-Json writes BlackholeTimeoutSeconds instead, a number a monitoring system reads; Format-List * shows that one too.
    [Hidden]
    [Newtonsoft.Json.JsonIgnore]
    public TimeSpan? BlackholeTimeout { get; private set; }
    /// <summary><see cref="BlackholeTimeout"/> in seconds, as the sysctl holds it.</summary>
    public double? BlackholeTimeoutSeconds => BlackholeTimeout?.TotalSeconds;
    public int? SynRetransBeforeTcpFallback { get; private set; }
    /// <summary>Every net.mptcp.* sysctl this kernel has, as the kernel prints it.</summary>
    public IReadOnlyDictionary<string, string> Sysctls { get; private set; } = new SortedDictionary<string, string>();
    /// <summary>Sysctls this module has no typed property for (a newer kernel's), kept by name.</summary>
    public string[] UnknownSysctls { get; private set; } = Array.Empty<string>();
    /// <summary>The path manager's limits; null when they could not be read (see <see cref="Notes"/>).</summary>
    public MptcpLimit? Limits { get; private set; }
    /// <summary>How many endpoints the in-kernel path manager has; null when unreadable.</summary>
    public int? EndpointCount { get; private set; }
    /// <summary>Every net.mptcp.* assignment in the persistent sysctl files, in boot order.</summary>
    public IReadOnlyList<PersistentSysctlSetting> Persistent { get; private set; } = Array.Empty<PersistentSysctlSetting>();
    /// <summary>What this kernel supports, found by probing (sysctls, counters, endpoint flags); see <see cref="MptcpKernelFeatures"/>.</summary>
    public MptcpKernelFeatures Features { get; private set; } = new();
    /// <summary>What could not be read, and why.</summary>
    public IReadOnlyList<string> Notes { get; private set; } = Array.Empty<string>();

    /// <summary>
    /// Builds the state from gathered facts, without counters or an endpoint flag probe (the features those
    /// show are then judged from the sysctls alone, or Unknown).
    /// </summary>
    public static MptcpKernelState Create(
        string kernelRelease,
        bool protocolRegistered,
        (KernelBuildMode Mode, string Source)? kernelConfig,
        IReadOnlyDictionary<string, string> sysctls,
        MptcpLimit? limits,
        int? endpointCount,
        IEnumerable<PersistentSysctlSetting> persistent,
        IEnumerable<string> notes) =>
        Create(kernelRelease, protocolRegistered, kernelConfig, sysctls, limits, endpointCount, persistent, notes, null, null);

    /// <summary>
    /// Builds the state from gathered facts. Pure: tests pass fixtures; the cmdlet passes what
    /// <see cref="Read"/> collected from this host. <paramref name="counters"/> are the MPTcpExt counter names
    /// (null: not read), <paramref name="flagProbe"/> what the kernel did with probe endpoints (null: not probed).
    /// </summary>
    public static MptcpKernelState Create(
        string kernelRelease,
        bool protocolRegistered,
        (KernelBuildMode Mode, string Source)? kernelConfig,
        IReadOnlyDictionary<string, string> sysctls,
        MptcpLimit? limits,
        int? endpointCount,
        IEnumerable<PersistentSysctlSetting> persistent,
        IEnumerable<string> notes,
        IReadOnlyCollection<string>? counters,
        EndpointFlagProbe? flagProbe)
    {
        var state = new MptcpKernelState
        {
            KernelRelease = kernelRelease,
            ProtocolRegistered = protocolRegistered,
            BuildMode = kernelConfig?.Mode ?? KernelBuildMode.Unknown,
            KernelConfigSource = kernelConfig?.Source,
            Sysctls = new SortedDictionary<string, string>(sysctls.ToDictionary(kv => kv.Key, kv => kv.Value), StringComparer.Ordinal),
            Limits = limits,
            EndpointCount = endpointCount,
            Notes = notes.ToArray(),
        };
        state.Present = protocolRegistered || sysctls.Count > 0;
        state.Enabled = Bool(sysctls, "net.mptcp.enabled");
        state.PmType = Int(sysctls, "net.mptcp.pm_type");
        state.PathManager = PathManagerOf(sysctls);
        state.AvailablePathManagers = List(sysctls, "net.mptcp.available_path_managers");
        state.Scheduler = sysctls.TryGetValue("net.mptcp.scheduler", out string? scheduler) ? scheduler : null;
        state.AvailableSchedulers = List(sysctls, "net.mptcp.available_schedulers");
        state.ChecksumEnabled = Bool(sysctls, "net.mptcp.checksum_enabled");
        state.AddAddrTimeout = Seconds(sysctls, "net.mptcp.add_addr_timeout");
        state.AllowJoinInitialAddrPort = Bool(sysctls, "net.mptcp.allow_join_initial_addr_port");
        state.StaleLossCount = Int(sysctls, "net.mptcp.stale_loss_cnt");
        state.CloseTimeout = Seconds(sysctls, "net.mptcp.close_timeout");
        state.BlackholeTimeout = Seconds(sysctls, "net.mptcp.blackhole_timeout");
        state.SynRetransBeforeTcpFallback = Int(sysctls, "net.mptcp.syn_retrans_before_tcp_fallback");
        state.UnknownSysctls = sysctls.Keys.Where(k => !KnownSysctls.Contains(k)).OrderBy(k => k, StringComparer.Ordinal).ToArray();
        state.Features = MptcpKernelFeatures.Create(kernelRelease, state.Present, sysctls, counters, flagProbe);

        var mptcpSettings = persistent.Where(s => s.Key.StartsWith("net.mptcp.", StringComparison.Ordinal)
                                                  || (s.IsPattern && s.Key.StartsWith("net.", StringComparison.Ordinal)
                                                      && sysctls.Keys.Any(s.Matches))).ToList();
        foreach (PersistentSysctlSetting setting in mptcpSettings)
        {
            // Without MPTCP at all, say nothing about existence rather than "false" for every key.
            setting.ExistsInKernel = state.Present ? sysctls.Keys.Any(setting.Matches) : null;
        }

        state.Persistent = mptcpSettings;
        return state;
    }

    /// <summary>
    /// The kernel's path manager, "kernel" or "userspace": net.mptcp.path_manager (6.15 and later), else
    /// pm_type on kernels that only have that; null without MPTCP. The one place the module works it out.
    /// </summary>
    public static string? PathManagerOf(IReadOnlyDictionary<string, string> sysctls) =>
        sysctls.TryGetValue("net.mptcp.path_manager", out string? pm) ? pm
        : Int(sysctls, "net.mptcp.pm_type") switch { 0 => "kernel", 1 => "userspace", _ => null };

    /// <summary>
    /// Gathers every fact from this host (this network namespace) and builds the state, with the persistent
    /// settings the caller read (Host.SysctlPersistence) and what could not be read of them.
    /// </summary>
    public static MptcpKernelState Read(IEnumerable<PersistentSysctlSetting> persistent, IEnumerable<string> persistentProblems)
    {
        var notes = new List<string>();
        string release = TryRead("/proc/sys/kernel/osrelease")?.Trim() ?? Environment.OSVersion.Version.ToString();
        bool registered = ProcFiles.ProtocolRegistered(TryRead("/proc/net/protocols") ?? "");
        var config = ProcFiles.ReadKernelConfig(release);
        if (config is null)
        {
            notes.Add($"The kernel configuration is not readable (/proc/config.gz, /boot/config-{release}): BuildMode is Unknown.");
        }

        SortedDictionary<string, string> sysctls = ProcFiles.ReadMptcpSysctls();
        MptcpLimit? limits = null;
        int? endpoints = null;
        try
        {
            using MptcpPathManager pm = MptcpPathManager.Open();
            limits = pm.GetLimits();
            endpoints = pm.GetEndpoints().Count;
        }
        catch (Exception e) when (e is KernelException or MptcpPathManagerMissingException or FormatException)
        {
            notes.Add($"Path manager: {e.Message}");
        }

        notes.AddRange(persistentProblems.Select(p => $"Persistent sysctl file not readable: {p}"));
        List<string>? counters = null;
        EndpointFlagProbe? probe = null;
        if (registered || sysctls.Count > 0)
        {
            try
            {
                counters = MptcpCounterCatalog.Read().Select(c => c.Key).ToList();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
            {
                notes.Add($"MPTcpExt counters: {e.Message}");
            }

            probe = EndpointFlagProbe.ForThisKernel();
            if (probe.Problem is not null)
            {
                notes.Add($"Endpoint flags: {probe.Problem}");
            }
        }

        return Create(release, registered, config, sysctls, limits, endpoints, persistent, notes, counters, probe);
    }

    private static string? TryRead(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static int? Int(IReadOnlyDictionary<string, string> values, string key) =>
        values.TryGetValue(key, out string? text) && int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) ? n : null;

    private static bool? Bool(IReadOnlyDictionary<string, string> values, string key) => Int(values, key) is { } n ? n != 0 : null;

    private static TimeSpan? Seconds(IReadOnlyDictionary<string, string> values, string key) =>
        Int(values, key) is { } n ? TimeSpan.FromSeconds(n) : null;

    private static string[] List(IReadOnlyDictionary<string, string> values, string key) =>
        values.TryGetValue(key, out string? text)
            ? text.Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries)
            : Array.Empty<string>();
}
