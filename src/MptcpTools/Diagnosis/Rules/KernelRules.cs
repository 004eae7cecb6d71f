using System;
using System.Collections.Generic;
using System.Linq;
using MptcpTools.Host;
using MptcpTools.Kernel;

namespace MptcpTools.Diagnosis;

/// <summary>Is MPTCP in the kernel, on, and still on after a reboot; and has the kernel turned it off itself.</summary>
internal sealed class KernelRules : DiagnosisRule
{
    private const string EnabledKey = "net.mptcp.enabled";

    public KernelRules() : base(FindingComponent.Kernel, FindingIds.MptcpUnsupported, FindingIds.MptcpDisabled, FindingIds.ObsoleteSysctlKey,
        FindingIds.SysctlNotPersistent, FindingIds.MptcpBlackholeDetected)
    {
    }

    public override IEnumerable<MptcpFinding> Evaluate(HostFacts f)
    {
        MptcpKernelState? k = f.Kernel;
        if (k is null)
        {
            yield break;
        }

        if (!k.Present)
        {
            yield return Finding(FindingIds.MptcpUnsupported, FindingSeverity.Error, $"The kernel {k.KernelRelease} has no MPTCP.",
                $"/proc/net/protocols lists no MPTCP and /proc/sys/net/mptcp does not exist (CONFIG_MPTCP: {k.BuildMode}).",
                "Boot a kernel built with CONFIG_MPTCP=y: every Debian and Ubuntu kernel since 5.6 has it (Debian 12: 6.1; Ubuntu 24.04: 6.8).", new object[] { k });
            yield break; // nothing else about MPTCP can hold
        }

        yield return Passed(FindingIds.MptcpUnsupported, $"The kernel {k.KernelRelease} has MPTCP ({k.BuildMode}; lsmod shows nothing when it is built in).", k);
        PersistentSysctlSetting? winner = SysctlPersistence.Winner(k.Persistent, EnabledKey);
        SysctlRepair Enable(string findingId) => new()
        {
            FindingId = findingId, Name = EnabledKey, Value = "1", Persistent = true, Before = k.Enabled == true ? "1" : "0",
            File = SysctlPersistence.FileApplied(SysctlRepair.DefaultFile, winner.IsDisabling() ? winner : null),
        };
        SysctlRepair enable = Enable(FindingIds.MptcpDisabled);
        if (k.Enabled == false)
        {
            yield return Finding(FindingIds.MptcpDisabled, FindingSeverity.Error, "MPTCP is disabled: net.mptcp.enabled is 0.",
                "With net.mptcp.enabled=0 the kernel refuses IPPROTO_MPTCP sockets (ENOPROTOOPT) in this network namespace, so every program falls back to TCP.",
                enable.File is null
                    ? $"sysctl -w {EnabledKey}=1, and change line {winner!.Line} of {winner.File} to {EnabledKey} = 1 (it is read after every sysctl.d file)."
                    : $"{enable.Command}", new object[] { k }, new MptcpRepair[] { enable });
        }
        else
        {
            yield return Passed(FindingIds.MptcpDisabled, "MPTCP is enabled (net.mptcp.enabled = 1).", k);
        }

        List<PersistentSysctlSetting> obsolete = k.Persistent.Where(p => p.ExistsInKernel == false).ToList();
        foreach (PersistentSysctlSetting p in obsolete)
        {
            bool outOfTree = p.Key == "net.mptcp.mptcp_enabled";
            yield return Finding(FindingIds.ObsoleteSysctlKey, FindingSeverity.Warning, $"{p.File}:{p.Line} sets {p.Key}, which this kernel does not have.",
                outOfTree
                    ? "net.mptcp.mptcp_enabled belongs to the out-of-tree multipath-tcp.org kernel; upstream kernels use net.mptcp.enabled. At boot the line fails (or is ignored with '-') and does nothing."
                    : $"{p.Key} is not a sysctl of this kernel: the line does nothing at boot.",
                outOfTree ? $"Replace line {p.Line} of {p.File} with: {EnabledKey} = 1" : $"Remove line {p.Line} of {p.File}.",
                new object[] { p }, component: FindingComponent.Sysctl);
        }

        if (obsolete.Count == 0)
        {
            yield return PassedAs(FindingComponent.Sysctl, FindingIds.ObsoleteSysctlKey, "No persistent sysctl file sets an MPTCP key this kernel lacks.");
        }

        // What the boot will leave: the effective persistent value, or the kernel's default of 1.
        if (k.Enabled == true && winner.IsDisabling())
        {
            var repairs = new MptcpRepair[] { Enable(FindingIds.SysctlNotPersistent) };
            yield return Finding(FindingIds.SysctlNotPersistent, FindingSeverity.Warning,
                $"MPTCP is enabled now, but {winner!.File}:{winner.Line} disables it at the next boot.",
                $"{winner.File} line {winner.Line} sets {EnabledKey} = {winner.Value}; systemd-sysctl applies it at boot and MPTCP is off from then on.",
                enable.File is null
                    ? $"Change line {winner.Line} of {winner.File} to {EnabledKey} = 1 (it is read after every sysctl.d file)."
                    : $"Change line {winner.Line} of {winner.File} to {EnabledKey} = 1, or add a file applied after it: echo '{EnabledKey} = 1' > {enable.File}",
                new object[] { winner }, repairs, FindingComponent.Sysctl);
        }
        else if (k.Enabled == true)
        {
            yield return PassedAs(FindingComponent.Sysctl, FindingIds.SysctlNotPersistent, winner is null
                ? "MPTCP stays enabled after a reboot (the kernel's default, no file overrides it)."
                : $"MPTCP stays enabled after a reboot ({winner.File}:{winner.Line}).");
        }

        if (f.Counters is { } counters && counters.TryGetValue("Blackhole", out long blackholes) && blackholes > 0)
        {
            BlackholeState state = BlackholeState.From(counters, k.BlackholeTimeout, f.ActiveMptcpDisabled, f.GatheredAt);
            string counted = $"MPTcpExt Blackhole = {blackholes}, MPCapableSYNTXDrop = {state.SynDrops}, MPCapableSYNTXDisabled = {state.SynsSentWithoutMptcp}";
            yield return f.ActiveMptcpDisabled == true
                ? Finding(FindingIds.MptcpBlackholeDetected, FindingSeverity.Error,
                    $"MPTCP is off for the connections this host opens: the kernel detected {blackholes} MPTCP blackhole(s), and until {state.DisabledUntilAtMost:u} at the latest it sends SYNs without MP_CAPABLE.",
                    $"{counted}. MPTCP SYNs to some peer were dropped, and after a TCP fallback got through the kernel disabled MPTCP for every active open in this namespace, for net.mptcp.blackhole_timeout ({k.BlackholeTimeout}) doubled for each detection in a row; a loopback MPTCP connection made by this check fell back at once.",
                    "Find what drops option 30 on the path (Test-MptcpFirewall here, on the routers and the server; Test-MptcpConnectivity to each peer). sysctl -w net.mptcp.blackhole_timeout=0 turns MPTCP back on now and stops the detection.",
                    new object[] { state, k })
                : Finding(FindingIds.MptcpBlackholeDetected, FindingSeverity.Warning,
                    $"The kernel detected {blackholes} MPTCP blackhole(s) earlier{(f.ActiveMptcpDisabled == false ? "; active opens use MPTCP again now" : "")}.",
                    $"{counted}: MPTCP SYNs were dropped repeatedly, so for a while new connections went out as plain TCP (net.mptcp.blackhole_timeout {k.BlackholeTimeout}, doubled for each detection in a row).",
                    "Find what drops option 30 on the path (Test-MptcpFirewall here, and the middleboxes between); sysctl -w net.mptcp.blackhole_timeout=0 stops the kernel from disabling MPTCP.",
                    new object[] { state, k });
        }
    }
}

/// <summary>The kernel's blackhole detection as the counters and a loopback check show it: the evidence of MptcpBlackholeDetected.</summary>
public sealed record BlackholeState(long Blackholes, long SynDrops, long SynsSentWithoutMptcp,
    [property: System.Management.Automation.Hidden, Newtonsoft.Json.JsonIgnore] TimeSpan? Timeout, bool? ActiveOpensDisabled, DateTime? DisabledUntilAtMost)
{
    /// <summary>net.mptcp.blackhole_timeout as a number, which ConvertTo-Json writes (a TimeSpan becomes an object of ticks).</summary>
    public double? TimeoutSeconds => Timeout?.TotalSeconds;

    /// <summary>
    /// The kernel disables active MPTCP for blackhole_timeout × 2^(n-1) (n capped at 7) after the last detection;
    /// the counter counts every detection, so the bound counted from now is an upper one.
    /// </summary>
    public static BlackholeState From(IReadOnlyDictionary<string, long> counters, TimeSpan? timeout, bool? disabled, DateTime at)
    {
        long n = counters.GetValueOrDefault("Blackhole");
        DateTime? until = disabled == true && timeout is { } t && t > TimeSpan.Zero && n > 0
            ? at + TimeSpan.FromTicks(t.Ticks * (1L << (int)System.Math.Min(n - 1, 6)))
            : null;
        return new BlackholeState(n, counters.GetValueOrDefault("MPCapableSYNTXDrop"), counters.GetValueOrDefault("MPCapableSYNTXDisabled"), timeout, disabled, until);
    }
}

internal static class PersistentSettingExtensions
{
    /// <summary>Whether the setting that wins at boot turns MPTCP off.</summary>
    public static bool IsDisabling(this PersistentSysctlSetting? winner) => winner is not null && winner.Value.Trim() == "0";
}
