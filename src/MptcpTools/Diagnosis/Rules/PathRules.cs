using System.Collections.Generic;

namespace MptcpTools.Diagnosis;

/// <summary>What only the two ends of a path can tell together.</summary>
internal sealed class PathRules : FindingRule
{
    public static PathRules Instance { get; } = new();

    private PathRules() : base(FindingComponent.Path, FindingIds.PathStripsMptcpOption, FindingIds.PathDropsMptcpSyn, FindingIds.ServerDropsMptcpSyn,
        FindingIds.ServerNotListeningMptcp, FindingIds.NatRewritesSubflow, FindingIds.EndpointRoleMismatch, FindingIds.AddAddrAcceptedZero,
        FindingIds.SubflowLimitZero, FindingIds.FirewallStripsMptcpOption, FindingIds.FirewallDropsMptcpOption)
    {
    }
}
