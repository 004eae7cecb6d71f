using System.Linq;
using System.Management.Automation;
using MptcpTools.Kernel;

namespace MptcpTools.Commands;

/// <summary>Remove-MptcpEndpoint: `ip mptcp endpoint delete id ID`, or `ip mptcp endpoint flush` with -All.</summary>
[Cmdlet(VerbsCommon.Remove, "MptcpEndpoint", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = "Id")]
[OutputType(typeof(MptcpEndpoint))]
public sealed class RemoveMptcpEndpointCommand : MptcpPathManagerCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = "Id")]
    [ArgumentCompleter(typeof(EndpointIdCompleter))]
    public byte[] Id { get; set; } = System.Array.Empty<byte>();

    /// <summary>Remove every endpoint (the kernel's flush).</summary>
    [Parameter(Mandatory = true, ParameterSetName = "All")]
    public SwitchParameter All { get; set; }

    /// <summary>Write the removed endpoints to the pipeline.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (ReadEndpoints(null) is not { } existing)
        {
            return;
        }

        if (All)
        {
            // Flushing every endpoint cannot be taken back by the module: it asks under the default preference.
            if (ShouldProcessIrreversible($"all {existing.Count} MPTCP endpoints", "Remove") &&
                TryKernel(MptcpPathManager.FamilyName, () => PathManager.FlushEndpoints()) && PassThru)
            {
                WriteObject(existing, enumerateCollection: true);
            }

            return;
        }

        foreach (byte id in Id)
        {
            MptcpEndpoint? endpoint = existing.FirstOrDefault(e => e.Id == id);
            if (endpoint is null)
            {
                WriteNewError(KernelErrors.NotFound, ErrorCategory.ObjectNotFound, id, $"There is no MPTCP endpoint with id {id}.");
                continue;
            }

            if (ShouldProcess($"endpoint {id} ({endpoint.Address}, {endpoint.Flags})", "Remove MPTCP endpoint") &&
                TryKernel(endpoint, () => PathManager.RemoveEndpoint(id)) && PassThru)
            {
                WriteObject(endpoint);
            }
        }
    }
}
