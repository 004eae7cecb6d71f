using MptcpTools.Host;

namespace MptcpTools.Diagnosis;

/// <summary>Whether mptcpd and the kernel's path-manager selection fit together.</summary>
public enum DaemonKernelAgreement
{
    Agree,
    /// <summary>The kernel waits for a userspace path manager (pm_type 1), and no mptcpd runs.</summary>
    UserspacePmWithoutDaemon,
    /// <summary>mptcpd runs a userspace path-manager plug-in while the kernel uses its in-kernel manager.</summary>
    DaemonWithKernelPm,
    Unknown,
}

/// <summary>mptcpd's state as the host reports it, with the kernel's path manager and whether the two fit.</summary>
public sealed record MptcpDaemonAssessment : MptcpDaemonStatus
{
    public MptcpDaemonAssessment(MptcpDaemonStatus status, string? kernelPathManager, DaemonKernelAgreement agreement, string agreementDetail)
        : base(status)
    {
        KernelPathManager = kernelPathManager;
        Agreement = agreement;
        AgreementDetail = agreementDetail;
    }

    /// <summary>The kernel's path manager in this namespace ("kernel" or "userspace").</summary>
    public string? KernelPathManager { get; init; }
    public DaemonKernelAgreement Agreement { get; init; }
    public string AgreementDetail { get; init; }

    public override string ToString() => base.ToString();
}

/// <summary>Whether mptcpd's state fits the kernel's path-manager selection. Pure.</summary>
public static class DaemonJudge
{
    public static MptcpDaemonAssessment Assess(MptcpDaemonStatus status, string? kernelPathManager)
    {
        if (status is MptcpDaemonAssessment done && done.KernelPathManager == kernelPathManager)
        {
            return done;
        }

        (DaemonKernelAgreement agreement, string detail) = Judge(status.Running, status.PathManagerPlugin, kernelPathManager);
        return new MptcpDaemonAssessment(status, kernelPathManager, agreement, detail);
    }

    public static (DaemonKernelAgreement Agreement, string Detail) Judge(bool daemonRunning, string? pathManagerPlugin, string? kernelPathManager)
    {
        if (string.IsNullOrEmpty(kernelPathManager))
        {
            return (DaemonKernelAgreement.Unknown, "The kernel's path manager could not be read (no MPTCP here?).");
        }

        bool userspace = kernelPathManager == "userspace";
        if (userspace && !daemonRunning)
        {
            return (DaemonKernelAgreement.UserspacePmWithoutDaemon,
                "The kernel uses the userspace path manager (net.mptcp.pm_type=1 / path_manager=userspace) but no mptcpd runs: no connection will get an extra subflow or announce an address.");
        }

        if (!userspace && daemonRunning && pathManagerPlugin is not null && pathManagerPlugin != "addr_adv")
        {
            return (DaemonKernelAgreement.DaemonWithKernelPm,
                $"mptcpd runs the '{pathManagerPlugin}' path-manager plug-in, which drives the userspace path manager, but the kernel uses its in-kernel one (pm_type 0): the plug-in's subflows never happen.");
        }

        if (!userspace && daemonRunning)
        {
            return (DaemonKernelAgreement.Agree,
                $"mptcpd runs{(pathManagerPlugin is null ? "" : $" with '{pathManagerPlugin}'")} and the kernel uses its in-kernel path manager: mptcpd manages the kernel's endpoints.");
        }

        return (DaemonKernelAgreement.Agree, userspace
            ? "The kernel uses the userspace path manager and mptcpd runs."
            : "The kernel uses its in-kernel path manager; mptcpd is not needed for it.");
    }
}
