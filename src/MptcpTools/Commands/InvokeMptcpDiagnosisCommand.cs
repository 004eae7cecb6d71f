using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using MptcpTools.Diagnosis;
using MptcpTools.Host;
using MptcpTools.Kernel;
using MptcpTools.Packets;

namespace MptcpTools.Commands;

/// <summary>Invoke-MptcpDiagnosis: every check on this host, one verdict per finding, stable ids.</summary>
[Cmdlet(VerbsLifecycle.Invoke, "MptcpDiagnosis")]
[OutputType(typeof(MptcpFinding))]
public sealed class InvokeMptcpDiagnosisCommand : MptcpCmdlet
{
    [Parameter]
    [Alias("Id", "Pid")]
    public int[]? ProcessId { get; set; }

    [Parameter]
    [SupportsWildcards]
    public string[]? ProcessName { get; set; }

    /// <summary>A peer to probe with a real MPTCP connection.</summary>
    [Parameter(Position = 0)]
    [Alias("RemoteAddress")]
    public string? ComputerName { get; set; }

    /// <summary>The peer's port; also the service port the firewall check looks for.</summary>
    [Parameter(Position = 1)]
    [ValidateRange(1, 65535)]
    public int? Port { get; set; }

    /// <summary>Capture this long (seconds) while the probe runs, and judge what was on the wire.</summary>
    [Parameter]
    [ValidateRange(0.5, 600)]
    public double? CaptureSeconds { get; set; }

    [Parameter]
    [ArgumentCompleter(typeof(InterfaceNameCompleter))]
    public string[]? Interface { get; set; }

    [Parameter]
    public SwitchParameter IncludePassed { get; set; }

    /// <summary>The D-Bus to ask systemd and NetworkManager on (default: the system bus).</summary>
    [Parameter]
    public string? BusAddress { get; set; }

    /// <summary>The mptcpd configuration to check (default /etc/mptcpd/mptcpd.conf).</summary>
    [Parameter]
    public string DaemonConfigPath { get; set; } = MptcpdConfig.DefaultPath;

    private readonly CancellationTokenSource _stop = new();

    protected override void EndProcessing()
    {
        HostFacts facts = Gather();
        foreach (MptcpFinding finding in DiagnosisRules.Evaluate(facts))
        {
            if (finding.Severity != FindingSeverity.Passed || IncludePassed)
            {
                WriteObject(finding);
            }
        }
    }

    protected override void StopProcessing() => _stop.Cancel();

    private HostFacts Gather()
    {
        var unavailable = new List<(string, string)>();
        T? Try<T>(string component, Func<T> read) where T : class
        {
            try
            {
                WriteVerbose($"Checking {component}.");
                return read();
            }
            catch (Exception e) when (KernelErrors.IsExpected(e) || e is BusUnavailableException or CaptureException or InvalidOperationException)
            {
                unavailable.Add((component, e.Message));
                return null;
            }
        }

        MptcpKernelState? kernel = Try("kernel", () => MptcpKernelState.Read());
        bool present = kernel?.Present ?? false;
        IReadOnlyList<MptcpEndpoint>? endpoints = present ? Try("path manager", () => { using MptcpPathManager pm = MptcpPathManager.Open(); return pm.GetEndpoints(); }) : null;
        List<InterfaceAddress>? addresses = Try("addresses", RouteTable.Addresses);
        Dictionary<string, long>? counters = present ? Try("counters", () => MptcpCounterCatalog.Read().ToDictionary(kv => kv.Key, kv => kv.Value)) : null;
        MptcpDaemonStatus? daemon = Try("mptcpd", () =>
        {
            MptcpDaemonStatus status = MptcpDaemon.Read(GetUnresolvedProviderPathFromPSPath(DaemonConfigPath), BusAddress);
            (status.Agreement, status.AgreementDetail) = DaemonJudge.Judge(status.Running, status.PathManagerPlugin, kernel?.PathManager);
            status.KernelPathManager = kernel?.PathManager;
            return status;
        });
        (List<NetworkManagerMptcpSetting> nm, string? nmNote) = NetworkManager.Read(BusAddress, kernel?.Enabled);
        if (nmNote is not null)
        {
            WriteVerbose(nmNote);
        }

        List<string> endpointInterfaces = RouteTable.EndpointInterfaces(endpoints ?? Array.Empty<MptcpEndpoint>(), addresses);
        List<FirewallRuleFinding>? firewall = Try("firewall", () =>
        {
            (List<FirewallRuleFinding> found, List<FirewallReadNote> notes) = Firewall.Check(Port, Interface is not null ? Interface : endpointInterfaces);
            foreach (FirewallReadNote n in notes.Where(n => !n.Message.Contains("not installed") && n.Source != "ufw"))
            {
                unavailable.Add(($"firewall ({n.Source})", n.Message));
            }

            return found;
        });
        List<MptcpRoutingResult>? routing = endpoints is null || addresses is null ? null : Try("routing", () => Route(endpoints, addresses));

        List<MptcpApplicationReport>? apps = null;
        if (ProcessId is not null || ProcessName is not null)
        {
            apps = Try("application", () =>
            {
                SocketInodes inodes = SocketInodes.Load();
                var pids = new List<int>(ProcessId ?? Array.Empty<int>());
                foreach (string name in ProcessName ?? Array.Empty<string>())
                {
                    List<int> found = SocketInodes.FindByName(new WildcardPattern(name, WildcardOptions.IgnoreCase).IsMatch);
                    if (found.Count == 0)
                    {
                        unavailable.Add(("application", $"No process named '{name}' runs here."));
                    }

                    pids.AddRange(found);
                }

                var reports = new List<MptcpApplicationReport>();
                foreach (int pid in pids.Distinct())
                {
                    try
                    {
                        reports.Add(ApplicationJudge.Judge(inodes.Read(pid)));
                    }
                    catch (ProcessGoneException e)
                    {
                        unavailable.Add(("application", e.Message));
                    }
                }

                return reports;
            });
        }

        (MptcpConnectivityResult? probe, List<MptcpConnectionSummary>? capture) = ProbeAndCapture(unavailable);
        return new HostFacts
        {
            Kernel = kernel, Endpoints = endpoints, Addresses = addresses, Daemon = daemon,
            NetworkManager = nmNote is null ? nm : null, NetworkManagerNote = nmNote,
            Firewall = firewall, Routing = routing, Applications = apps, Probe = probe, Capture = capture, Counters = counters,
            Unavailable = unavailable,
            ApplicationAsked = apps is not null, ProbeAsked = ComputerName is not null, CaptureAsked = CaptureSeconds is not null,
        };
    }

    // Each configured endpoint against its family's default gateway, as Test-MptcpRouting does without -Destination.
    private static List<MptcpRoutingResult> Route(IReadOnlyList<MptcpEndpoint> endpoints, List<InterfaceAddress> addresses) =>
        TestMptcpRoutingCommand.Check(endpoints.Where(e => (e.Flags & MptcpEndpointFlags.Implicit) == 0), addresses,
            family => RouteTable.DefaultGateway(family) is { } gateway ? new[] { gateway } : Array.Empty<IPAddress>());

    private (MptcpConnectivityResult?, List<MptcpConnectionSummary>?) ProbeAndCapture(List<(string, string)> unavailable)
    {
        if (ComputerName is null && CaptureSeconds is null)
        {
            return (null, null);
        }

        if (ComputerName is not null && Port is null)
        {
            unavailable.Add(("peer", "-ComputerName needs -Port."));
            return (null, null);
        }

        LiveCapture? capture = null;
        PacketProcessor? processor = null;
        if (CaptureSeconds is not null)
        {
            try
            {
                string filter = Port is { } p ? $"tcp port {p}" : "tcp";
                capture = LiveCapture.Open(Interface ?? new[] { "any" }, 256, filter);
                processor = new PacketProcessor();
                PacketProcessor target = processor;
                capture.Start((linkType, frame, timestamp, number) => { target.Process(linkType, frame, timestamp, number, materialize: false, includePlainTcp: false); return true; });
            }
            catch (CaptureException e)
            {
                unavailable.Add(("capture", e.Message));
                capture = null;
            }
        }

        MptcpConnectivityResult? probe = null;
        try
        {
            if (ComputerName is not null && Port is { } port)
            {
                IPAddress? remote = IPAddress.TryParse(ComputerName, out IPAddress? parsed) ? parsed : null;
                if (remote is null)
                {
                    try
                    {
                        remote = Dns.GetHostAddresses(ComputerName).FirstOrDefault();
                    }
                    catch (SocketException e)
                    {
                        unavailable.Add(("peer", $"{ComputerName} does not resolve: {e.Message}"));
                    }
                }

                if (remote is not null)
                {
                    // With a capture, send while it runs, so joins and data show on the wire.
                    TimeSpan send = CaptureSeconds is { } c ? TimeSpan.FromSeconds(Math.Max(0.5, c - 0.5)) : TimeSpan.FromSeconds(1);
                    ProbeOutcome outcome = ConnectivityProbe.Run(remote, port, null, TimeSpan.FromSeconds(10), send, TimeSpan.Zero, _stop.Token);
                    probe = ConnectivityJudge.Result(outcome, ComputerName, null);
                }
            }
            else if (CaptureSeconds is { } seconds)
            {
                _stop.Token.WaitHandle.WaitOne(TimeSpan.FromSeconds(seconds));
            }

            if (capture is not null)
            {
                _stop.Token.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(300)); // the last segments of the probe
            }
        }
        finally
        {
            if (capture is not null)
            {
                (long _, long dropped, long _) = capture.Stop();
                capture.Dispose();
                if (dropped > 0)
                {
                    WriteWarning($"The kernel dropped {dropped} packets during the capture.");
                }
            }
        }

        return (probe, processor?.Tracker.Summaries().ToList());
    }
}
