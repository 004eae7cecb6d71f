using System.Management.Automation;
using MptcpTools.Diagnosis;
using MptcpTools.Host;
using MptcpTools.Kernel;

namespace MptcpTools.Commands;

/// <summary>Get-MptcpDaemonStatus: mptcpd's unit, process, configuration, and whether it fits the kernel.</summary>
[Cmdlet(VerbsCommon.Get, "MptcpDaemonStatus")]
[OutputType(typeof(MptcpDaemonAssessment))]
public sealed class GetMptcpDaemonStatusCommand : MptcpCmdlet
{
    /// <summary>The configuration file to check.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string ConfigPath { get; set; } = MptcpdConfig.DefaultPath;

    /// <summary>The D-Bus to ask systemd on (default: the system bus).</summary>
    [Parameter]
    public string? BusAddress { get; set; }

    protected override void ProcessRecord()
    {
        MptcpDaemonStatus status = MptcpDaemon.Read(GetUnresolvedProviderPathFromPSPath(ConfigPath), BusAddress);
        if (status.Note is not null)
        {
            WriteVerbose($"Asked the process table instead of systemd: {status.Note}");
        }

        WriteObject(DaemonJudge.Assess(status, MptcpKernelState.PathManagerOf(ProcFiles.ReadMptcpSysctls())));
    }
}
