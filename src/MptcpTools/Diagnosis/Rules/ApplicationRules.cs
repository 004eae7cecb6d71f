using System.Collections.Generic;
using System.Linq;
using MptcpTools.Kernel;

namespace MptcpTools.Diagnosis;

/// <summary>
/// Programs and MPTCP: those asked about, and those that own the plain TCP connections the diagnosis saw (on the
/// port, in the capture, or carrying bulk data): each that never asked for an MPTCP socket, with its own fix.
/// </summary>
internal sealed class ApplicationRules : DiagnosisRule
{
    public ApplicationRules() : base(FindingComponent.Application, FindingIds.ApplicationNotUsingMptcp)
    {
    }

    public override IEnumerable<MptcpFinding> Evaluate(HostFacts f)
    {
        var judged = new HashSet<int>();
        foreach (ProcessFacts p in f.Processes ?? System.Array.Empty<ProcessFacts>())
        {
            judged.Add(p.ProcessId);
            if (p.InOtherNetworkNamespace)
            {
                continue; // NamespaceRules says where it runs: its sockets are not this namespace's
            }

            MptcpApplicationReport a = ApplicationJudge.Judge(p);
            if (!a.UsesMptcp && a.TcpSockets > 0)
            {
                yield return Finding(FindingIds.ApplicationNotUsingMptcp, FindingSeverity.Error,
                    $"{a.Name} ({a.ProcessId}) uses plain TCP: it never asked for an MPTCP socket.",
                    a.Verdict + Installed(a), a.Remediation, new object[] { a });
            }
            else if (a.UsesMptcp)
            {
                yield return Passed(FindingIds.ApplicationNotUsingMptcp, $"{a.Name} ({a.ProcessId}) uses MPTCP.", a);
            }
        }

        // Subflow endpoints say MPTCP is meant here: then a bulk transfer over plain TCP is a path not taken.
        bool mptcpMeant = f.Endpoints?.Any(e => (e.Flags & (MptcpEndpointFlags.Subflow | MptcpEndpointFlags.Fullmesh)) != 0) == true;
        foreach (var owned in (f.PlainTcp ?? System.Array.Empty<PlainTcpUse>()).Where(u => u.Owner is not null).GroupBy(u => u.Owner!.ProcessId))
        {
            if (!judged.Add(owned.Key))
            {
                continue;
            }

            ProcessFacts owner = owned.First().Owner!;
            MptcpApplicationReport a = ApplicationJudge.Judge(owner);
            PlainTcpUse[] uses = owned.ToArray();
            bool seen = uses.Any(u => u.Seen != PlainTcpSighting.Bulk);
            FindingSeverity severity = seen ? FindingSeverity.Error : mptcpMeant ? FindingSeverity.Warning : FindingSeverity.Information;
            string[] seenAs = uses.Select(u => Describe(u, f.Request.Port)).GroupBy(d => d)
                .Select(g => g.Count() > 1 ? $"{g.Key}, {g.Count()} connections" : g.Key).ToArray();
            string where = string.Join("; ", seenAs.Take(3)) + (seenAs.Length > 3 ? $"; and {seenAs.Length - 3} more" : "");
            yield return Finding(FindingIds.ApplicationNotUsingMptcp, severity,
                $"{a.Name} ({a.ProcessId}) uses plain TCP ({where}): it never asked for an MPTCP socket.",
                a.Verdict + Installed(a), a.Remediation, new object[] { a }.Concat(uses.Select(u => (object)u)).ToArray());
        }
    }

    private static string Installed(MptcpApplicationReport a) => a.Version is null ? "" : $" Installed: {a.Package} {a.Version}.";

    private static string Describe(PlainTcpUse u, int? port) => u.Seen switch
    {
        PlainTcpSighting.OnPort when u.Socket.State == TcpState.Listen => $"listening on port {u.Socket.LocalPort}",
        PlainTcpSighting.InCapture => $"to {u.Socket.RemoteAddress}:{u.Socket.RemotePort}, seen in the capture",
        PlainTcpSighting.Bulk => $"{Mib(u.Socket)} MiB to {u.Socket.RemoteAddress}:{u.Socket.RemotePort}",
        _ => u.Socket.LocalPort == port ? $"port {port} from {u.Socket.RemoteAddress}:{u.Socket.RemotePort}" : $"to {u.Socket.RemoteAddress}:{u.Socket.RemotePort}",
    };

    private static string Mib(PlainTcpSocket s) =>
        (((s.BytesAcked ?? 0) + (s.BytesReceived ?? 0)) / (1024.0 * 1024.0)).ToString("0.#", System.Globalization.CultureInfo.InvariantCulture);
}
