using System.Collections.Generic;
using System.Linq;
using MptcpTools.Packets;

namespace MptcpTools.Diagnosis;

/// <summary>What the capture saw on the wire: MPTCP offered at all, and joins answered.</summary>
internal sealed class CaptureRules : DiagnosisRule
{
    public CaptureRules() : base(FindingComponent.Capture, FindingIds.JoinNotAnswered, FindingIds.JoinRejected, FindingIds.PlainTcpOnly)
    {
    }

    public override IEnumerable<MptcpFinding> Evaluate(HostFacts f)
    {
        if (f.Capture is not { } connections)
        {
            yield break;
        }

        foreach (MptcpConnectionSummary c in connections)
        {
            foreach (MptcpSubflowSummary s in c.Subflows.Where(s => !s.Initial))
            {
                if (s.Outcome == MptcpSubflowOutcome.SynUnanswered)
                {
                    yield return Finding(FindingIds.JoinNotAnswered, FindingSeverity.Warning,
                        $"The join from {s.ClientAddress}:{s.ClientPort} to {s.ServerAddress}:{s.ServerPort} got no answer in the capture.",
                        JoinNotAnsweredDetail, JoinNotAnsweredFix, new object[] { c });
                }
                else if (s.Outcome == MptcpSubflowOutcome.JoinRefused
                         || (s.Outcome == MptcpSubflowOutcome.Reset && s.Established && s.PayloadBytesFromClient + s.PayloadBytesFromServer == 0))
                {
                    yield return Finding(FindingIds.JoinRejected, FindingSeverity.Warning,
                        $"The peer refused the join from {s.ClientAddress} to {s.ServerAddress}:{s.ServerPort}{(s.ResetReason is { } r ? $" ({r})" : "")}.",
                        s.Outcome == MptcpSubflowOutcome.Reset
                            ? "The join completed its handshake, then was reset before any data: typically the accepting side's subflow limit is reached (its MPJoinRejected counter moves)."
                            : "The SYN-ACK carried no MP_JOIN, or a reset ended the join before its third ACK: the peer's limits are reached, it does not accept joins to that address, or an HMAC did not match.",
                        "On the peer: ip mptcp limits set subflows 2 (its subflow limit counts joins it accepts); check MPJoinRejected in its counters.", new object[] { c, s });
                }
            }
        }

        if (connections.Count > 0 && connections.All(c => c.Outcome == MptcpConnectionOutcome.PlainTcp))
        {
            // The capture's connections that are this host's own sockets name the programs, and their fixes.
            var owners = (f.PlainTcp ?? System.Array.Empty<PlainTcpUse>()).Where(u => u.Seen == PlainTcpSighting.InCapture && u.Owner is not null)
                .GroupBy(u => u.Owner!.ProcessId).Select(g => ApplicationJudge.Judge(g.First().Owner!)).ToArray();
            yield return Finding(FindingIds.PlainTcpOnly, FindingSeverity.Error, $"The capture saw {connections.Count} connection(s), and not one offered MPTCP.",
                "Every SYN lacked MP_CAPABLE: the programs opened plain TCP sockets (the classic: iperf3 or curl without their MPTCP switch)."
                + (owners.Length > 0 ? $" Here: {string.Join(", ", owners.Select(o => $"{o.Name} ({o.ProcessId})"))}." : ""),
                owners.Length > 0
                    ? string.Join(" ", owners.Select(o => $"{o.Name} ({o.ProcessId}): {o.Remediation}"))
                    : "Run the program with its MPTCP switch (iperf3 --mptcp, curl --mptcp), or under mptcpize run; Test-MptcpApplication -Name PROGRAM says which.",
                connections.Cast<object>().Concat(owners).ToArray());
        }
        else if (connections.Any(c => c.Outcome == MptcpConnectionOutcome.Mptcp))
        {
            yield return Passed(FindingIds.PlainTcpOnly, "The capture shows MPTCP on the wire (MP_CAPABLE in the handshake).", connections.Cast<object>().ToArray());
        }
    }

    private const string JoinNotAnsweredDetail =
        "The extra subflow's SYN never came back: the second path drops it (a firewall, a missing route back, reverse-path filtering), or the peer does not listen on that address.";

    private const string JoinNotAnsweredFix =
        "Test-MptcpRouting and Test-MptcpFirewall -Port PORT here; on routers and the server, check that SYNs from the second path's addresses pass.";

    /// <summary>JoinNotAnswered told by the counters of a probe, when no capture ran.</summary>
    internal static MptcpFinding JoinNotAnswered(PeerRules rule, string summary, object evidence) =>
        rule.Make(FindingIds.JoinNotAnswered, FindingSeverity.Warning, summary, JoinNotAnsweredDetail, JoinNotAnsweredFix, evidence);
}
