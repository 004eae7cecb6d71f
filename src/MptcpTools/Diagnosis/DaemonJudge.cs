using MptcpTools.Host;

namespace MptcpTools.Diagnosis;

/// <summary>Whether mptcpd's state fits the kernel's path-manager selection. Pure.</summary>
public static class DaemonJudge
{
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
