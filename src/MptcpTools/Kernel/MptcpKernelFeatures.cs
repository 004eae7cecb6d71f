using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;

namespace MptcpTools.Kernel;

/// <summary>Whether the running kernel has a feature.</summary>
public enum FeatureSupport
{
    /// <summary>It could not be found out (the probe needs CAP_SYS_ADMIN, or was not run); see the Evidence.</summary>
    Unknown,
    Supported,
    NotSupported,
}

/// <summary>One feature of the running kernel: whether it has it, and what showed it.</summary>
public sealed class MptcpKernelFeature
{
    public string Name { get; init; } = "";
    public FeatureSupport Support { get; init; }
    /// <summary>What showed it: a sysctl or counter that exists or not, what the kernel did with a probe endpoint, or why it is unknown.</summary>
    public string Evidence { get; init; } = "";

    /// <summary>The kernel has it (Supported). Advice that needs the feature may be given.</summary>
    public bool IsSupported => Support == FeatureSupport.Supported;

    /// <summary>The kernel certainly lacks it (NotSupported). Advice that needs the feature must not be given.</summary>
    public bool IsMissing => Support == FeatureSupport.NotSupported;

    public override string ToString() => Support.ToString();
}

/// <summary>
/// What this kernel supports, found by probing rather than from its version: the sysctls and MPTcpExt counters it
/// has, and what it does with endpoints offered with each flag (<see cref="EndpointFlagProbe"/>). The version is
/// consulted only where a probe cannot tell (a kernel that keeps endpoint flags it does not know).
/// </summary>
public sealed class MptcpKernelFeatures
{
    // First upstream release with each endpoint flag, for kernels whose acceptance of a flag proves nothing.
    private static readonly Dictionary<MptcpEndpointFlags, Version> FlagSince = new()
    {
        [MptcpEndpointFlags.Fullmesh] = new Version(5, 18),
        [MptcpEndpointFlags.Laminar] = new Version(6, 18),
    };

    /// <summary>net.mptcp.path_manager: the path manager is chosen by name ("kernel", "userspace"; 6.15 and later). Older kernels only have pm_type.</summary>
    public MptcpKernelFeature PathManagerByName { get; init; } = new();
    /// <summary>net.mptcp.scheduler and available_schedulers: the packet scheduler can be chosen.</summary>
    public MptcpKernelFeature SchedulerSelection { get; init; } = new();
    /// <summary>
    /// After dropped MP_CAPABLE SYNs the kernel retries without MPTCP (6.12 and later): without it, connect() to a
    /// server behind a dropper just times out. Shown by the MPCapableSYNTXDrop counter or the
    /// syn_retrans_before_tcp_fallback sysctl.
    /// </summary>
    public MptcpKernelFeature SynDropFallback { get; init; } = new();
    /// <summary>net.mptcp.syn_retrans_before_tcp_fallback: how many SYN retransmissions come before that fallback can be set.</summary>
    public MptcpKernelFeature SynDropFallbackTunable { get; init; } = new();
    /// <summary>
    /// After repeated dropped MP_CAPABLE SYNs the kernel turns MPTCP off for active opens for a while
    /// (net.mptcp.blackhole_timeout, the Blackhole counter).
    /// </summary>
    public MptcpKernelFeature BlackholeDetection { get; init; } = new();
    /// <summary>Endpoints with the fullmesh flag: a subflow from the address to every address the peer announced.</summary>
    public MptcpKernelFeature FullmeshEndpoints { get; init; } = new();
    /// <summary>Implicit endpoints: the kernel records the addresses its subflows used (it refuses to create one by hand).</summary>
    public MptcpKernelFeature ImplicitEndpoints { get; init; } = new();
    /// <summary>Endpoints with the laminar flag: the address is used for subflows to announced addresses too (6.18).</summary>
    public MptcpKernelFeature LaminarEndpoints { get; init; } = new();
    /// <summary>Every MPTcpExt counter this kernel has, in kernel order.</summary>
    public string[] Counters { get; init; } = Array.Empty<string>();
    /// <summary>Counters of this kernel that this module has no description for (a kernel newer than its catalog).</summary>
    public string[] UndescribedCounters { get; init; } = Array.Empty<string>();

    /// <summary>Every feature, for listing.</summary>
    public IEnumerable<MptcpKernelFeature> All() => new[]
    {
        PathManagerByName, SchedulerSelection, SynDropFallback, SynDropFallbackTunable, BlackholeDetection,
        FullmeshEndpoints, ImplicitEndpoints, LaminarEndpoints,
    };

    public override string ToString() => string.Join(", ", All().Select(f => $"{f.Name} {f.Support}"));

    /// <summary>
    /// Judges the features from gathered facts. Pure: <paramref name="counters"/> null means the counters were not
    /// read, <paramref name="probe"/> null that endpoint flags were not probed; those features are then Unknown
    /// unless other facts show them.
    /// </summary>
    public static MptcpKernelFeatures Create(string kernelRelease, bool mptcpPresent, IReadOnlyDictionary<string, string> sysctls,
        IReadOnlyCollection<string>? counters, EndpointFlagProbe? probe)
    {
        if (!mptcpPresent)
        {
            MptcpKernelFeature None(string name) => new() { Name = name, Support = FeatureSupport.NotSupported, Evidence = "This kernel has no MPTCP." };
            return new MptcpKernelFeatures
            {
                PathManagerByName = None(nameof(PathManagerByName)), SchedulerSelection = None(nameof(SchedulerSelection)),
                SynDropFallback = None(nameof(SynDropFallback)), SynDropFallbackTunable = None(nameof(SynDropFallbackTunable)),
                BlackholeDetection = None(nameof(BlackholeDetection)), FullmeshEndpoints = None(nameof(FullmeshEndpoints)),
                ImplicitEndpoints = None(nameof(ImplicitEndpoints)), LaminarEndpoints = None(nameof(LaminarEndpoints)),
                Counters = counters?.ToArray() ?? Array.Empty<string>(),
            };
        }

        Version? version = ParseRelease(kernelRelease);
        return new MptcpKernelFeatures
        {
            PathManagerByName = Sysctl(nameof(PathManagerByName), sysctls, "net.mptcp.path_manager"),
            SchedulerSelection = Sysctl(nameof(SchedulerSelection), sysctls, "net.mptcp.available_schedulers"),
            SynDropFallback = SysctlOrCounter(nameof(SynDropFallback), sysctls, "net.mptcp.syn_retrans_before_tcp_fallback", counters, "MPCapableSYNTXDrop"),
            SynDropFallbackTunable = Sysctl(nameof(SynDropFallbackTunable), sysctls, "net.mptcp.syn_retrans_before_tcp_fallback"),
            BlackholeDetection = SysctlOrCounter(nameof(BlackholeDetection), sysctls, "net.mptcp.blackhole_timeout", counters, "Blackhole"),
            FullmeshEndpoints = Flag(nameof(FullmeshEndpoints), MptcpEndpointFlags.Fullmesh, probe, version, kernelRelease),
            ImplicitEndpoints = Implicit(probe),
            LaminarEndpoints = Flag(nameof(LaminarEndpoints), MptcpEndpointFlags.Laminar, probe, version, kernelRelease),
            Counters = counters?.ToArray() ?? Array.Empty<string>(),
            UndescribedCounters = counters?.Where(c => MptcpCounterCatalog.Describe(c) is null).ToArray() ?? Array.Empty<string>(),
        };
    }

    /// <summary>The major and minor version of a kernel release ("6.18.44-amd64" is 6.18); null when it has none.</summary>
    public static Version? ParseRelease(string release)
    {
        Match m = Regex.Match(release, @"^(\d+)\.(\d+)");
        return m.Success ? new Version(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)) : null;
    }

    private static MptcpKernelFeature Sysctl(string name, IReadOnlyDictionary<string, string> sysctls, string key) => sysctls.ContainsKey(key)
        ? new() { Name = name, Support = FeatureSupport.Supported, Evidence = $"{key} exists." }
        : new() { Name = name, Support = FeatureSupport.NotSupported, Evidence = $"{key} does not exist in this kernel." };

    private static MptcpKernelFeature SysctlOrCounter(string name, IReadOnlyDictionary<string, string> sysctls, string key,
        IReadOnlyCollection<string>? counters, string counter)
    {
        if (sysctls.ContainsKey(key))
        {
            return new() { Name = name, Support = FeatureSupport.Supported, Evidence = $"{key} exists." };
        }

        if (counters is null)
        {
            return new() { Name = name, Support = FeatureSupport.Unknown, Evidence = $"{key} does not exist, and the MPTcpExt counters (which would show {counter}) could not be read." };
        }

        return counters.Contains(counter)
            ? new() { Name = name, Support = FeatureSupport.Supported, Evidence = $"The kernel counts {counter} (MPTcpExt)." }
            : new() { Name = name, Support = FeatureSupport.NotSupported, Evidence = $"Neither {key} nor the MPTcpExt counter {counter} exists in this kernel." };
    }

    private static MptcpKernelFeature Flag(string name, MptcpEndpointFlags flag, EndpointFlagProbe? probe, Version? version, string release)
    {
        string flagName = flag.ToString().ToLowerInvariant();
        if (probe is null || probe.Problem is not null || probe.Trials.FirstOrDefault(t => t.Flag == flag) is not { } trial)
        {
            return new() { Name = name, Support = FeatureSupport.Unknown, Evidence = probe?.Problem ?? "Endpoint flags were not probed." };
        }

        if (!trial.Accepted)
        {
            string refusal = $"{Errnos.Name(trial.Errno)}{(trial.KernelMessage is null ? "" : $": {trial.KernelMessage}")}";
            return trial.Errno is Errnos.EINVAL or Errnos.EOPNOTSUPP
                ? new() { Name = name, Support = FeatureSupport.NotSupported, Evidence = $"The kernel refused an endpoint with the {flagName} flag ({refusal})." }
                : new() { Name = name, Support = FeatureSupport.Unknown, Evidence = $"Adding a probe endpoint with the {flagName} flag failed ({refusal})." };
        }

        if (!trial.Kept)
        {
            return new() { Name = name, Support = FeatureSupport.NotSupported, Evidence = $"The kernel took an endpoint with the {flagName} flag and dropped the flag: it does not know it." };
        }

        if (probe.KeepsUndefinedFlags != true)
        {
            return new() { Name = name, Support = FeatureSupport.Supported, Evidence = $"The kernel kept the {flagName} flag of a probe endpoint, and drops flags it does not know." };
        }

        // This kernel stores any flag bit, so keeping one proves nothing: its version decides.
        string blind = $"The kernel keeps every endpoint flag, even one no kernel defines, so keeping {flagName} proves nothing";
        Version since = FlagSince[flag];
        return version is null
            ? new() { Name = name, Support = FeatureSupport.Unknown, Evidence = $"{blind}, and the release '{release}' has no version." }
            : version >= since
                ? new() { Name = name, Support = FeatureSupport.Supported, Evidence = $"{blind}; {version} has it (since {since})." }
                : new() { Name = name, Support = FeatureSupport.NotSupported, Evidence = $"{blind}; {version} predates it ({since})." };
    }

    // A kernel that has implicit endpoints refuses to create one by hand; one that does not know the flag takes it.
    private static MptcpKernelFeature Implicit(EndpointFlagProbe? probe)
    {
        const string name = nameof(ImplicitEndpoints);
        if (probe is null || probe.Problem is not null || probe.Trials.FirstOrDefault(t => t.Flag == MptcpEndpointFlags.Implicit) is not { } trial)
        {
            return new() { Name = name, Support = FeatureSupport.Unknown, Evidence = probe?.Problem ?? "Endpoint flags were not probed." };
        }

        return trial.Accepted
            ? new() { Name = name, Support = FeatureSupport.NotSupported, Evidence = "The kernel took an endpoint with the implicit flag: it does not know the flag (a kernel with implicit endpoints refuses to create one)." }
            : trial.Errno == Errnos.EINVAL
                ? new() { Name = name, Support = FeatureSupport.Supported, Evidence = $"The kernel refused to create an implicit endpoint, as a kernel that makes them does ({trial.KernelMessage ?? "EINVAL"})." }
                : new() { Name = name, Support = FeatureSupport.Unknown, Evidence = $"Adding a probe endpoint with the implicit flag failed ({Errnos.Name(trial.Errno)})." };
    }
}
