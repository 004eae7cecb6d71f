using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using MptcpTools.Kernel;

namespace MptcpTools.Diagnosis;

public enum RoutingStatus
{
    Ok,
    /// <summary>Traffic from the endpoint's address leaves through another interface: no source-based route.</summary>
    MissingSourceRoute,
    /// <summary>The endpoint's address is not configured on its interface (any more).</summary>
    AddressMissing,
    /// <summary>The kernel has no route from the address to the destination.</summary>
    NoRoute,
}

/// <summary>Whether subflows from one endpoint can reach one destination, and by which route.</summary>
public sealed class MptcpRoutingResult
{
    public byte EndpointId { get; init; }
    public IPAddress? Address { get; init; }
    public string? Interface { get; init; }
    public IPAddress? Destination { get; init; }
    public RoutingStatus Status { get; init; }
    public string? OutputInterface { get; init; }
    public IPAddress? Gateway { get; init; }
    public uint? Table { get; init; }
    public bool HasSourceRule { get; init; }
    public string Detail { get; init; } = "";
    public string Remediation { get; init; } = "";

    public override string ToString() => $"endpoint {EndpointId} {Address} > {Destination}: {Status}";
}

/// <summary>Pure judgment of one endpoint's routing.</summary>
public static class RoutingJudge
{
    public static MptcpRoutingResult Judge(MptcpEndpoint endpoint, IPAddress destination, IReadOnlyList<InterfaceAddress> addresses,
        RouteLookup? route, IReadOnlyList<RoutingRule> rules)
    {
        IPAddress? address = endpoint.Address;
        InterfaceAddress? configured = addresses.FirstOrDefault(a => a.Address.Equals(address) && (endpoint.Interface is null || a.Interface == endpoint.Interface));
        string? expected = endpoint.Interface ?? configured?.Interface;
        bool sourceRule = address is not null && rules.Any(r => r.Source is not null && InPrefix(address, r.Source, r.SourceLength));
        MptcpRoutingResult Result(RoutingStatus status, string detail, string remediation = "") => new()
        {
            EndpointId = endpoint.Id,
            Address = address,
            Interface = expected,
            Destination = destination,
            Status = status,
            OutputInterface = route?.OutputInterface,
            Gateway = route?.Gateway,
            Table = route?.Table,
            HasSourceRule = sourceRule,
            Detail = detail,
            Remediation = remediation,
        };

        if (configured is null)
        {
            string where = endpoint.Interface is null ? "any interface" : endpoint.Interface;
            return Result(RoutingStatus.AddressMissing, $"{address} is not configured on {where}: subflows from endpoint {endpoint.Id} cannot be opened.",
                $"Remove the stale endpoint (Remove-MptcpEndpoint -Id {endpoint.Id}), or configure the address again: ip addr add {address}/PREFIX dev {expected ?? "IFNAME"}");
        }

        if (route is null)
        {
            return Result(RoutingStatus.NoRoute, $"The kernel has no route from {address} to {destination}.",
                $"Add one for the source: ip rule add from {address} table 100; ip route add default via GATEWAY dev {expected} table 100");
        }

        if (expected is not null && route.OutputInterface is not null && route.OutputInterface != expected)
        {
            return Result(RoutingStatus.MissingSourceRoute,
                $"Traffic from {address} to {destination} leaves through {route.OutputInterface}, not {expected}: without a source-based route the second path is not used (and reverse-path filters may drop it).",
                $"ip rule add from {address} table 100; ip route add default via GATEWAY-ON-{expected} dev {expected} table 100" +
                (address!.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? " (with ip -6)" : ""));
        }

        return Result(RoutingStatus.Ok, $"Traffic from {address} to {destination} leaves through {route.OutputInterface}" +
            (route.Gateway is null ? "" : $" via {route.Gateway}") + $" (table {route.Table}).");
    }

    private static bool InPrefix(IPAddress address, IPAddress prefix, int length)
    {
        byte[] a = address.GetAddressBytes(), p = prefix.GetAddressBytes();
        if (a.Length != p.Length)
        {
            return false;
        }

        for (int bit = 0; bit < length; bit++)
        {
            int mask = 0x80 >> (bit % 8);
            if ((a[bit / 8] & mask) != (p[bit / 8] & mask))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>
/// Each endpoint's route to each destination of its family: gathered once (RTM_GETROUTE with the source
/// set, and the policy rules of each family read once), judged by <see cref="RoutingJudge"/>. The diagnosis
/// and Test-MptcpRouting share it.
/// </summary>
public static class RoutingCheck
{
    public static RoutingFacts Gather(IEnumerable<MptcpEndpoint> endpoints, Func<AddressFamily, IEnumerable<IPAddress>> destinations)
    {
        var rules = new List<RoutingRule>();
        var routes = new List<EndpointRoute>();
        var targets = new Dictionary<AddressFamily, IPAddress[]>();
        foreach (MptcpEndpoint endpoint in endpoints.Where(e => e.Address is not null))
        {
            AddressFamily family = endpoint.Address!.AddressFamily;
            if (!targets.TryGetValue(family, out IPAddress[]? familyTargets))
            {
                rules.AddRange(RouteTable.Rules(family));
                targets[family] = familyTargets = destinations(family).ToArray();
            }

            foreach (IPAddress destination in familyTargets)
            {
                routes.Add(new EndpointRoute(endpoint.Id, endpoint.Address, destination, RouteTable.Get(destination, endpoint.Address)));
            }
        }

        return new RoutingFacts { Rules = rules, Routes = routes };
    }

    public static List<MptcpRoutingResult> Judge(RoutingFacts facts, IReadOnlyList<MptcpEndpoint> endpoints, IReadOnlyList<InterfaceAddress> addresses)
    {
        var results = new List<MptcpRoutingResult>();
        foreach (EndpointRoute route in facts.Routes)
        {
            if (endpoints.FirstOrDefault(e => e.Id == route.EndpointId && route.Source.Equals(e.Address)) is { } endpoint)
            {
                AddressFamily family = route.Source.AddressFamily;
                var familyRules = facts.Rules.Where(r => r.Family == (family == AddressFamily.InterNetworkV6 ? Native6 : Native4)).ToList();
                results.Add(RoutingJudge.Judge(endpoint, route.Destination, addresses, route.Route, familyRules));
            }
        }

        return results;
    }

    private const int Native4 = 2, Native6 = 10;
}
