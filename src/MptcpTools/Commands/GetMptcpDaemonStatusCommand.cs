using System.Collections.Generic;
using System.Management.Automation;
using MptcpTools.Diagnosis;
using MptcpTools.Host;
using MptcpTools.Kernel;

namespace MptcpTools.Commands;

/// <summary>Get-MptcpDaemonStatus: mptcpd's unit, process, configuration, and whether it fits the kernel.</summary>
[Cmdlet(VerbsCommon.Get, "MptcpDaemonStatus")]
[OutputType(typeof(MptcpDaemonStatus))]
public sealed class GetMptcpDaemonStatusCommand : MptcpCmdlet
{
    /// <summary>The configuration file to check.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    public string ConfigPath { get; set; } = MptcpdConfig.DefaultPath;

    /// <summary>The D-Bus to ask systemd on (default: the system bus).</summary>
    [Parameter]
    public string? BusAddress { get; set; }

    protected override void ProcessRecord()
    {
        string path = GetUnresolvedProviderPathFromPSPath(ConfigPath);
        MptcpDaemonStatus status = MptcpDaemon.Read(path, BusAddress);
        SortedDictionary<string, string> sysctls = ProcFiles.ReadMptcpSysctls();
        string? kernelPm = sysctls.TryGetValue("net.mptcp.path_manager", out string? pm) ? pm
            : sysctls.TryGetValue("net.mptcp.pm_type", out string? t) ? (t == "1" ? "userspace" : "kernel") : null;
        (status.Agreement, status.AgreementDetail) = DaemonJudge.Judge(status.Running, status.PathManagerPlugin, kernelPm);
        status.KernelPathManager = kernelPm;
        if (status.Note is not null)
        {
            WriteVerbose($"Asked the process table instead of systemd: {status.Note}");
        }

        WriteObject(status);
    }
}
