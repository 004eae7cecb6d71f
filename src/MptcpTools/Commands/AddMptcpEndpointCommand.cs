using System.Management.Automation;
using System.Net;
using MptcpTools.Kernel;

namespace MptcpTools.Commands;

/// <summary>Add-MptcpEndpoint: `ip mptcp endpoint add ADDRESS [id ID] [port PORT] [dev IFNAME] FLAGS`.</summary>
[Cmdlet(VerbsCommon.Add, "MptcpEndpoint", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(MptcpEndpoint))]
public sealed class AddMptcpEndpointCommand : MptcpPathManagerCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    public IPAddress Address { get; set; } = IPAddress.None;

    /// <summary>The endpoint id; 0 or absent lets the kernel choose.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateRange(0, 255)]
    public byte Id { get; set; }

    /// <summary>A port to announce with the address (signal endpoints only).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public ushort Port { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(InterfaceNameCompleter))]
    public string? Interface { get; set; }

    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    public MptcpEndpointFlags Flags { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        int ifIndex = 0;
        if (!string.IsNullOrEmpty(Interface))
        {
            ifIndex = InterfaceNames.IndexOf(Interface);
            if (ifIndex == 0)
            {
                WriteNewError(KernelErrors.NotFound, ErrorCategory.ObjectNotFound, Interface,
                    $"There is no interface '{Interface}' in this network namespace.");
                return;
            }
        }

        if ((Flags & MptcpEndpointFlags.Signal) != 0 && (Flags & MptcpEndpointFlags.Fullmesh) != 0)
        {
            WriteNewError(KernelErrors.InvalidArgument, ErrorCategory.InvalidArgument, Flags,
                "An endpoint cannot be both Signal and Fullmesh.", "Use Subflow,Fullmesh, or Signal alone.");
            return;
        }

        string description = $"{Address}{(Port != 0 ? $" port {Port}" : "")}{(Id != 0 ? $" id {Id}" : "")} flags {Flags}{(ifIndex != 0 ? $" dev {Interface}" : "")}";
        if (!ShouldProcess(description, "Add MPTCP endpoint"))
        {
            return;
        }

        if (TryKernel(Address, () => PathManager.AddEndpoint(Address, Id, Port, Flags, ifIndex)) && PassThru)
        {
            WriteEndpoint(e => Address.Equals(e.Address) && e.Port == Port && (Id == 0 || e.Id == Id), Address);
        }
    }
}
