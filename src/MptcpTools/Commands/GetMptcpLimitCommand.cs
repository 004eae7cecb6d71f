using System.Management.Automation;
using MptcpTools.Kernel;

namespace MptcpTools.Commands;

/// <summary>Get-MptcpLimit: `ip mptcp limits show`.</summary>
[Cmdlet(VerbsCommon.Get, "MptcpLimit")]
[OutputType(typeof(MptcpLimit))]
public sealed class GetMptcpLimitCommand : MptcpCmdlet
{
    protected override void EndProcessing()
    {
        using MptcpPathManager pm = OpenPathManager();
        TryKernel(MptcpPathManager.FamilyName, () => WriteObject(pm.GetLimits()));
    }
}
