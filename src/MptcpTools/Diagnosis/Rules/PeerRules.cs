using System.Collections.Generic;
using MptcpTools.Kernel;

namespace MptcpTools.Diagnosis;

/// <summary>The probe of a peer: did MPTCP get negotiated, and if not, why.</summary>
internal sealed class PeerRules : DiagnosisRule
{
    public PeerRules() : base(FindingComponent.Peer, FindingIds.PeerNotMptcpCapable, FindingIds.MptcpSynDropped, FindingIds.PeerUnreachable,
        FindingIds.FallbackAfterHandshake, FindingIds.JoinNotAnswered)
    {
    }

    public override IEnumerable<MptcpFinding> Evaluate(HostFacts f)
    {
        if (f.Probe is not { } probe)
        {
            yield break;
        }

        MptcpConnectivityResult p = ConnectivityJudge.Result(probe.Outcome, probe.ComputerName, null);
        string peer = $"{p.ComputerName}:{p.Port}";
        object[] evidence = { p };
        switch (p.FallbackReason)
        {
            case FallbackReason.PeerNotMptcpCapable:
                yield return Finding(FindingIds.PeerNotMptcpCapable, FindingSeverity.Error, $"{peer} answered without MP_CAPABLE: the connection fell back to TCP.", p.Detail,
                    "Make the server use MPTCP (its own switch, or mptcpize run), and check that no middlebox strips option 30 (Test-MptcpFirewall on the path).", evidence);
                break;
            case FallbackReason.SynDropped:
                yield return Finding(FindingIds.MptcpSynDropped, FindingSeverity.Error, $"MPTCP SYNs to {peer} were dropped; the kernel retried without MPTCP.", p.Detail,
                    "Something on the path drops TCP option 30: run Test-MptcpFirewall on this host, the routers and the server, and check middleboxes.", evidence);
                break;
            case FallbackReason.ConnectFailed:
                yield return Finding(FindingIds.PeerUnreachable, FindingSeverity.Error, $"No connection to {peer} at all.", p.Detail,
                    "Check that the server listens and is reachable (this is not an MPTCP problem yet).", evidence);
                break;
            case FallbackReason.FellBackLater:
                yield return Finding(FindingIds.FallbackAfterHandshake, FindingSeverity.Error, $"{peer} negotiated MPTCP, then the connection fell back to TCP.", p.Detail,
                    "Something on the path alters the stream (a middlebox rewriting payload or sequence numbers): capture on both ends (Read-MptcpCapture -Summary shows FallbackLater and why) and find it.", evidence);
                break;
            case FallbackReason.MptcpDisabledLocally:
                break; // MptcpDisabled (or MptcpBlackholeDetected) says it, from the kernel's own state
            default:
                yield return Passed(FindingIds.PeerNotMptcpCapable, $"{peer} negotiates MPTCP ({p.SubflowCount} subflow(s)).", p);
                break;
        }

        long joinsSent = p.CounterDeltas.GetValueOrDefault("MPJoinSynTx");
        long joinsAnswered = p.CounterDeltas.GetValueOrDefault("MPJoinSynAckRx");
        if (f.Capture is null && p.MptcpNegotiated && joinsSent > joinsAnswered)
        {
            yield return CaptureRules.JoinNotAnswered(this,
                $"{joinsSent - joinsAnswered} of {joinsSent} MP_JOIN SYN(s) to {peer} got no MP_JOIN SYN-ACK (MPJoinSynTx without MPJoinSynAckRx).", p);
        }
    }

    internal MptcpFinding Make(string id, FindingSeverity severity, string summary, string detail, string remediation, object evidence) =>
        Finding(id, severity, summary, detail, remediation, new[] { evidence }, component: FindingComponent.Capture);
}
