using System.Collections.Generic;
using System.Linq;

namespace MptcpTools.Diagnosis;

/// <summary>Each endpoint's address is there, and traffic from it leaves through its own interface.</summary>
internal sealed class RoutingRules : DiagnosisRule
{
    public RoutingRules() : base(FindingComponent.Routing, FindingIds.EndpointAddressMissing, FindingIds.MissingSourceRoute)
    {
    }

    public override IEnumerable<MptcpFinding> Evaluate(HostFacts f)
    {
        if (f.Routing is not { } facts || f.Endpoints is not { } endpoints || f.Addresses is not { } addresses)
        {
            yield break;
        }

        List<MptcpRoutingResult> routing = RoutingCheck.Judge(facts, endpoints, addresses);
        foreach (MptcpRoutingResult r in routing)
        {
            if (r.Status == RoutingStatus.AddressMissing)
            {
                yield return Finding(FindingIds.EndpointAddressMissing, FindingSeverity.Error,
                    $"Endpoint {r.EndpointId}'s address {r.Address} is not on {r.Interface ?? "any interface"}.", r.Detail, r.Remediation, new object[] { r });
            }
            else if (r.Status is RoutingStatus.MissingSourceRoute or RoutingStatus.NoRoute)
            {
                // Not automated: the gateway of the second path cannot be known for sure.
                var manual = new ManualRepair { FindingId = FindingIds.MissingSourceRoute, Instructions = r.Remediation, Reason = "the gateway of the second path cannot be known for sure." };
                yield return Finding(FindingIds.MissingSourceRoute, FindingSeverity.Warning,
                    r.Status == RoutingStatus.NoRoute
                        ? $"No route from endpoint {r.EndpointId}'s address {r.Address} to {r.Destination}."
                        : $"Traffic from endpoint {r.EndpointId}'s address {r.Address} leaves through {r.OutputInterface}, not {r.Interface}.",
                    r.Detail, r.Remediation, new object[] { r }, new MptcpRepair[] { manual });
            }
        }

        if (routing.All(r => r.Status == RoutingStatus.Ok))
        {
            yield return Passed(FindingIds.MissingSourceRoute, routing.Count == 0 ? "No endpoint to route." : "Every endpoint's address is routed out of its own interface.", routing.Cast<object>().ToArray());
        }

        if (!routing.Any(r => r.Status == RoutingStatus.AddressMissing))
        {
            yield return Passed(FindingIds.EndpointAddressMissing, "Every endpoint's address is configured.");
        }
    }
}
