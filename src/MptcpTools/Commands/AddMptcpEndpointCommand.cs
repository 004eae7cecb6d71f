using System;
using System.Collections.Generic;
using System.Linq;
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
    [ArgumentCompleter(typeof(LocalAddressCompleter))]
    [EndpointAddressTransformation]
    public IPAddress Address { get; set; } = IPAddress.None;

    /// <summary>The endpoint id, 1 to 255; without it the kernel chooses.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateRange(1, 255)]
    public byte Id { get; set; }

    /// <summary>A port to announce with the address (signal endpoints only).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public ushort Port { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateInterface]
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

        try
        {
            PathManager.AddEndpoint(Address, Id, Port, Flags, ifIndex);
        }
        catch (KernelException e) when (e.Errno == Errnos.EBUSY && Id != 0 && Holder(Id) is { } holder)
        {
            // The kernel answers EBUSY both for an id that is taken and for too many endpoints: say which.
            KernelException taken = e.WithAdvice($"Endpoint id {Id} is already taken by {holder.Address}.");
            WriteError(new ErrorRecord(taken, KernelErrors.AlreadyExists, ErrorCategory.ResourceExists, Address)
            {
                ErrorDetails = new ErrorDetails(taken.Message) { RecommendedAction = "Give another -Id, or leave -Id out and let the kernel choose one." },
            });
            return;
        }
        catch (Exception e) when (KernelErrors.IsExpected(e))
        {
            WriteError(KernelErrors.ToErrorRecord(e, Address));
            return;
        }

        if (PassThru)
        {
            WriteEndpoint(e => Address.Equals(e.Address) && e.Port == Port && (Id == 0 || e.Id == Id), Address);
        }
    }

    private MptcpEndpoint? Holder(byte id)
    {
        IReadOnlyList<MptcpEndpoint>? endpoints = null;
        try
        {
            endpoints = PathManager.GetEndpoints();
        }
        catch (Exception e) when (KernelErrors.IsExpected(e))
        {
            return null;
        }

        return endpoints.FirstOrDefault(e => e.Id == id);
    }
}
