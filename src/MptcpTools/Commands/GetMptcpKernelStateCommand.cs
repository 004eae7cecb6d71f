using System.Collections.Generic;
using System.Management.Automation;
using MptcpTools.Host;
using MptcpTools.Kernel;

namespace MptcpTools.Commands;

/// <summary>Get-MptcpKernelState: what the kernel of this network namespace says about MPTCP.</summary>
[Cmdlet(VerbsCommon.Get, "MptcpKernelState")]
[OutputType(typeof(MptcpKernelState))]
public sealed class GetMptcpKernelStateCommand : MptcpCmdlet
{
    protected override void EndProcessing()
    {
        List<PersistentSysctlSetting> persistent = SysctlPersistence.Read("/", out List<string> problems);
        MptcpKernelState state = MptcpKernelState.Read(persistent, problems);
        foreach (string note in state.Notes)
        {
            WriteVerbose(note);
        }

        WriteObject(state);
    }
}
