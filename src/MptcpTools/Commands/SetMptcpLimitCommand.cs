using System.Management.Automation;
using MptcpTools.Kernel;

namespace MptcpTools.Commands;

/// <summary>Set-MptcpLimit: `ip mptcp limits set [subflows N] [add_addr_accepted N]`.</summary>
[Cmdlet(VerbsCommon.Set, "MptcpLimit", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(MptcpLimit))]
public sealed class SetMptcpLimitCommand : MptcpPathManagerCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    public uint? Subflows { get; set; }

    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    public uint? AddAddrAccepted { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (Subflows is null && AddAddrAccepted is null)
        {
            WriteNewError(KernelErrors.InvalidArgument, ErrorCategory.InvalidArgument, null,
                "Nothing to set: give -Subflows, -AddAddrAccepted or both.");
            return;
        }

        MptcpLimit? before = null;
        if (!TryKernel(MptcpPathManager.FamilyName, () => before = PathManager.GetLimits()) || before is null)
        {
            return;
        }

        uint subflows = Subflows ?? before.Subflows;
        uint accepted = AddAddrAccepted ?? before.AddAddrAccepted;
        if (!ShouldProcess("MPTCP limits", $"Set subflows {before.Subflows} -> {subflows}, add_addr_accepted {before.AddAddrAccepted} -> {accepted}"))
        {
            return;
        }

        var target = new MptcpLimit(subflows, accepted);
        if (TryKernel(target, () => PathManager.SetLimits(Subflows, AddAddrAccepted)) && PassThru)
        {
            TryKernel(MptcpPathManager.FamilyName, () => WriteObject(PathManager.GetLimits()));
        }
    }
}
