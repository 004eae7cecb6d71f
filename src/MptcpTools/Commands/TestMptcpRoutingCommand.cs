using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Net;
using System.Net.Sockets;
using MptcpTools.Diagnosis;
using MptcpTools.Kernel;

namespace MptcpTools.Commands;

/// <summary>Test-MptcpRouting: for each endpoint, whether its address is there and routed out of its own interface.</summary>
[Cmdlet(VerbsDiagnostic.Test, "MptcpRouting")]
[OutputType(typeof(MptcpRoutingResult))]
public sealed class TestMptcpRoutingCommand : MptcpCmdlet
{
    /// <summary>Where subflows go; without it, the default route's gateway of each family.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("RemoteAddress", "ComputerName")]
    public IPAddress[]? Destination { get; set; }

    protected override void ProcessRecord()
    {
        IReadOnlyList<MptcpEndpoint>? endpoints = null;
        List<InterfaceAddress>? addresses = null;
        using (MptcpPathManager pm = OpenPathManager())
        {
            if (!TryKernel(MptcpPathManager.FamilyName, () => endpoints = pm.GetEndpoints()))
            {
                return;
            }
        }

        if (!TryKernel("rtnetlink", () => addresses = RouteTable.Addresses()))
        {
            return;
        }

        List<MptcpRoutingResult>? results = null;
        if (TryKernel("rtnetlink", () => results = RoutingCheck.Judge(
                RoutingCheck.Gather(endpoints!, family => Destination?.Where(d => d.AddressFamily == family) ?? DefaultTargets(family)), endpoints!, addresses!)))
        {
            WriteObject(results, enumerateCollection: true);
        }
    }

    private IEnumerable<IPAddress> DefaultTargets(AddressFamily family)
    {
        IPAddress? gateway = null;
        TryKernel("rtnetlink", () => gateway = RouteTable.DefaultGateway(family));
        if (gateway is null)
        {
            WriteVerbose($"No default route for {family}, and no -Destination: {family} endpoints are not checked.");
            return System.Array.Empty<IPAddress>();
        }

        return new[] { gateway };
    }
}
