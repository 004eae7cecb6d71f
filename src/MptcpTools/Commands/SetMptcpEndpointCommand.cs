using System.Linq;
using System.Management.Automation;
using MptcpTools.Kernel;

namespace MptcpTools.Commands;

/// <summary>Set-MptcpEndpoint: `ip mptcp endpoint change id ID [backup|nobackup] [fullmesh|nofullmesh]`.</summary>
[Cmdlet(VerbsCommon.Set, "MptcpEndpoint", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(MptcpEndpoint))]
public sealed class SetMptcpEndpointCommand : MptcpPathManagerCmdlet
{
    /// <summary>The kernel changes only these flags of an existing endpoint.</summary>
    public const MptcpEndpointFlags ChangeableFlags = MptcpEndpointFlags.Backup | MptcpEndpointFlags.Fullmesh;

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(EndpointIdCompleter))]
    public byte Id { get; set; }

    /// <summary>The endpoint's complete new set of flags.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    public MptcpEndpointFlags Flags { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (ReadEndpoints(Id) is not { } endpoints)
        {
            return;
        }

        MptcpEndpoint? current = endpoints.FirstOrDefault(e => e.Id == Id);
        if (current is null)
        {
            WriteNewError(KernelErrors.NotFound, ErrorCategory.ObjectNotFound, Id, $"There is no MPTCP endpoint with id {Id}.");
            return;
        }

        MptcpEndpointFlags unchangeable = (current.Flags ^ Flags) & ~ChangeableFlags & ~MptcpEndpointFlags.Implicit;
        if (unchangeable != 0)
        {
            WriteNewError(KernelErrors.InvalidArgument, ErrorCategory.InvalidArgument, current,
                $"The kernel changes only the Backup and Fullmesh flags of an existing endpoint, not {unchangeable}.",
                $"Remove endpoint {Id} and add it again with the new flags: Remove-MptcpEndpoint -Id {Id}; Add-MptcpEndpoint -Address {current.Address} -Flags {Flags}" +
                (current.Interface is null ? "" : $" -Interface {current.Interface}"));
            return;
        }

        if (current.Flags == Flags)
        {
            WriteVerbose($"Endpoint {Id} already has the flags {Flags}.");
        }
        else if (ShouldProcess($"endpoint {Id} ({current.Address})", $"Change flags from {current.Flags} to {Flags}"))
        {
            if (!TryKernel(current, () => PathManager.SetEndpointFlags(Id, Flags)))
            {
                return;
            }
        }
        else
        {
            return;
        }

        if (PassThru)
        {
            WriteEndpoint(e => e.Id == Id, Id);
        }
    }
}
