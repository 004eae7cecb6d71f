using System.Management.Automation;
using MptcpTools.Kernel;

namespace MptcpTools.Commands;

/// <summary>Get-MptcpKernelState: what the kernel of this network namespace says about MPTCP.</summary>
[Cmdlet(VerbsCommon.Get, "MptcpKernelState")]
[OutputType(typeof(MptcpKernelState))]
public sealed class GetMptcpKernelStateCommand : MptcpCmdlet
{
    protected override void EndProcessing()
    {
        MptcpKernelState state = MptcpKernelState.Read();
        foreach (string note in state.Notes)
        {
            WriteVerbose(note);
        }

        WriteObject(state);
    }
}
