using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using MptcpTools.Host;
using MptcpTools.Kernel;
using MptcpTools.Packets;

namespace MptcpTools.Diagnosis;

/// <summary>
/// Collects every fact the diagnosis judges into one <see cref="HostFacts"/>: kernel, path manager, counters,
/// daemon, NetworkManager, firewall, routing, processes, a probe and a capture. A part that cannot be read
/// becomes an <see cref="UnavailableCheck"/>, never a failure of the whole. Needs no cmdlet: a test or a
/// remote host can gather, serialize the facts and have them judged elsewhere.
/// </summary>
public sealed class DiagnosisGatherer
{
    private readonly DiagnosisRequest _request;
    private readonly Action<string> _verbose;
    private readonly Action<string> _warning;
    private readonly List<UnavailableCheck> _unavailable = new();

    public DiagnosisGatherer(DiagnosisRequest request, Action<string>? verbose = null, Action<string>? warning = null)
    {
        _request = request;
        _verbose = verbose ?? (_ => { });
        _warning = warning ?? (_ => { });
    }

    /// <summary>Hears each wait of known length (the capture, the probe's sending), for a caller that shows the time left.</summary>
    public Action<string, TimeSpan>? Waiting { get; init; }

    /// <summary>Gathers the facts of this host (this network namespace).</summary>
    public static HostFacts Gather(DiagnosisRequest request) => new DiagnosisGatherer(request).Gather(CancellationToken.None);

    public HostFacts Gather(CancellationToken cancel)
    {
        _unavailable.Clear();
        List<PersistentSysctlSetting> persistent = new();
        List<string> persistentProblems = new();
        MptcpKernelState? kernel = Try(FindingComponent.Kernel, "kernel", () =>
        {
            persistent = SysctlPersistence.Read("/", out persistentProblems);
            return MptcpKernelState.Read(persistent, persistentProblems);
        });
        bool present = kernel?.Present ?? false;
        IReadOnlyList<MptcpEndpoint>? endpoints = present
            ? Try(FindingComponent.PathManager, "path manager", () => { using MptcpPathManager pm = MptcpPathManager.Open(); return pm.GetEndpoints(); })
            : null;
        List<InterfaceAddress>? addresses = Try(FindingComponent.Routing, "addresses", RouteTable.Addresses);
        Dictionary<string, long>? counters = present
            ? Try(FindingComponent.Kernel, "counters", () => MptcpCounterCatalog.Read().ToDictionary(kv => kv.Key, kv => kv.Value))
            : null;
        // Only after a blackhole: a loopback MPTCP connection tells whether active opens are off right now.
        bool? activeDisabled = counters is not null && counters.GetValueOrDefault("Blackhole") > 0 ? ConnectivityProbe.ActiveOpensDisabled() : null;
        MptcpConnection[]? mptcpSockets = present
            ? Try(FindingComponent.PathManager, "MPTCP sockets", () => MptcpConnections.Read(listening: true, subflows: false, owners: false))
            : null;
        MptcpDaemonStatus? daemon = Try(FindingComponent.Daemon, "mptcpd", () => MptcpDaemon.Read(_request.DaemonConfigPath, _request.BusAddress));
        (List<NetworkManagerMptcpSetting> nm, string? nmNote) = NetworkManager.Read(_request.BusAddress);
        if (nmNote is not null)
        {
            _verbose(nmNote);
            if (BusProblem(_request.BusAddress) is { } busProblem)
            {
                // No bus at all: systemd's view of the mptcpd unit and NetworkManager's settings are both missing.
                _unavailable.Add(new UnavailableCheck(FindingComponent.Daemon, "mptcpd unit (systemd over D-Bus)", busProblem));
                _unavailable.Add(new UnavailableCheck(FindingComponent.NetworkManager, "NetworkManager (D-Bus)", busProblem));
            }
        }

        FirewallRuleset? firewall = Try(FindingComponent.Firewall, "firewall", () => ReadFirewall());
        IEnumerable<MptcpEndpoint> configured = (endpoints ?? Array.Empty<MptcpEndpoint>()).Where(e => (e.Flags & MptcpEndpointFlags.Implicit) == 0);
        var gateways = new Dictionary<AddressFamily, IPAddress?>();
        IPAddress? Gateway(AddressFamily family)
        {
            if (!gateways.TryGetValue(family, out IPAddress? gateway))
            {
                gateways[family] = gateway = RouteTable.DefaultGateway(family);
            }

            return gateway;
        }

        RoutingFacts? routing = endpoints is null || addresses is null ? null
            : Try(FindingComponent.Routing, "routing", () => RoutingCheck.Gather(configured, family => Gateway(family) is { } g ? new[] { g } : Array.Empty<IPAddress>()));
        List<EndpointCandidate>? candidates = addresses is null ? null
            : Try(FindingComponent.Routing, "addresses for new endpoints", () => EndpointCandidates(addresses, Gateway));
        List<ProcessFacts>? processes = _request.ApplicationAsked ? Try(FindingComponent.Application, "application", ReadProcesses) : null;
        (PeerProbe? probe, List<MptcpConnectionSummary>? capture) = ProbeAndCapture(cancel);
        List<PlainTcpUse>? plainTcp = Try(FindingComponent.Application, "plain TCP connections", () => ReadPlainTcp(capture));
        DefaultRoutes? defaultRoutes = Try(FindingComponent.Routing, "default routes",
            () => new DefaultRoutes(RouteTable.DefaultRoute(AddressFamily.InterNetwork).Exists, RouteTable.DefaultRoute(AddressFamily.InterNetworkV6).Exists));
        return new HostFacts
        {
            Request = _request, Kernel = kernel, Endpoints = endpoints, Addresses = addresses, Counters = counters, Daemon = daemon,
            NetworkManager = nmNote is null ? nm : null, Firewall = firewall, Routing = routing, EndpointCandidates = candidates,
            Processes = processes, Probe = probe, Capture = capture, PlainTcp = plainTcp, MptcpSockets = mptcpSockets,
            ReversePathSettings = persistent.Where(p => IsReversePathKey(p.Key)).ToArray(),
            UfwSysctls = UfwReversePathSettings(),
            DefaultRoutes = defaultRoutes, ActiveMptcpDisabled = activeDisabled, GatheredAt = DateTime.UtcNow,
            Unavailable = _unavailable.ToArray(),
        };
    }

    /// <summary>ufw's sysctl file: ufw applies it when it starts, after systemd-sysctl.</summary>
    public const string UfwSysctlFile = "/etc/ufw/sysctl.conf";

    /// <summary>A connection this big was a transfer MPTCP would have spread over the paths.</summary>
    public const ulong BulkBytes = 1 << 20;

    /// <summary>The persistent rp_filter assignments: sysctl.d and sysctl.conf in boot order, and ufw's file when ufw is enabled.</summary>
    public static (PersistentSysctlSetting[] Boot, PersistentSysctlSetting[]? Ufw) ReversePathOrigins() =>
        (SysctlPersistence.Read("/", out _).Where(p => IsReversePathKey(p.Key)).ToArray(), UfwReversePathSettings());

    private static PersistentSysctlSetting[]? UfwReversePathSettings() =>
        FirewallReader.UfwEnabled() ? SysctlPersistence.ReadFile(UfwSysctlFile).Where(p => IsReversePathKey(p.Key)).ToArray() : null;

    // net.ipv4.conf.IFACE.rp_filter, and patterns that cover it (net.ipv4.conf.*.rp_filter).
    private static bool IsReversePathKey(string key) =>
        key.StartsWith("net.ipv4.conf.", StringComparison.Ordinal) && key.EndsWith(".rp_filter", StringComparison.Ordinal);

    /// <summary>
    /// The plain TCP connections worth naming a process for: on the port asked about, seen in the capture without
    /// MPTCP, or carrying bulk data to another host; each with its owner, read once from the process table.
    /// </summary>
    private List<PlainTcpUse> ReadPlainTcp(IReadOnlyList<MptcpConnectionSummary>? capture)
    {
        var picked = new List<(PlainTcpSocket Socket, PlainTcpSighting Seen)>();
        foreach (PlainTcpSocket s in PlainTcpSockets.Read(listening: _request.Port is not null))
        {
            if (_request.Port is { } port && (s.LocalPort == port || (s.RemotePort == port && s.State != TcpState.Listen)))
            {
                picked.Add((s, PlainTcpSighting.OnPort));
            }
            else if (capture?.Any(c => c.Outcome == MptcpConnectionOutcome.PlainTcp && SameConnection(c, s)) == true)
            {
                picked.Add((s, PlainTcpSighting.InCapture));
            }
            else if (s.State == TcpState.Established && !IPAddress.IsLoopback(Unmapped(s.RemoteAddress))
                     && (s.BytesAcked ?? 0) + (s.BytesReceived ?? 0) >= BulkBytes)
            {
                picked.Add((s, PlainTcpSighting.Bulk));
            }
        }

        if (picked.Count == 0)
        {
            return new List<PlainTcpUse>();
        }

        Dictionary<uint, (int Pid, string Name)> owners = ProcessTable.SocketOwners();
        SocketInodes sockets = SocketInodes.Load();
        var facts = new Dictionary<int, ProcessFacts?>();
        ProcessFacts? Owner(uint inode)
        {
            if (!owners.TryGetValue(inode, out (int Pid, string Name) who))
            {
                return null;
            }

            if (!facts.TryGetValue(who.Pid, out ProcessFacts? f))
            {
                try
                {
                    f = ReadProcess(sockets, who.Pid);
                }
                catch (ProcessGoneException)
                {
                    f = null;
                }

                facts[who.Pid] = f;
            }

            return f;
        }

        return picked.Select(p => new PlainTcpUse(p.Socket, p.Seen, Owner(p.Socket.Inode))).ToList();
    }

    private static bool SameConnection(MptcpConnectionSummary c, PlainTcpSocket s)
    {
        bool Same(IPAddress a, IPAddress b) => Unmapped(a).Equals(Unmapped(b));
        return (Same(c.ClientAddress, s.LocalAddress) && c.ClientPort == s.LocalPort && Same(c.ServerAddress, s.RemoteAddress) && c.ServerPort == s.RemotePort)
               || (Same(c.ServerAddress, s.LocalAddress) && c.ServerPort == s.LocalPort && Same(c.ClientAddress, s.RemoteAddress) && c.ClientPort == s.RemotePort);
    }

    private static IPAddress Unmapped(IPAddress a) => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a;

    /// <summary>One process, with the Debian package of its executable.</summary>
    public static ProcessFacts ReadProcess(SocketInodes sockets, int pid)
    {
        ProcessFacts facts = sockets.Read(pid);
        if (facts.ExecutablePath is null)
        {
            return facts;
        }

        (string? package, string? version) = DebianPackages.Owner(facts.ExecutablePath);
        return facts with
        {
            Package = package, PackageVersion = version,
            SystemdVersion = facts.ServiceUnit is null && !facts.SocketActivated ? null : DebianPackages.TryInstalledVersion("systemd"),
        };
    }

    /// <summary>The firewall, with the readers that failed (not those of tools that are not installed) as unavailable checks.</summary>
    private FirewallRuleset ReadFirewall()
    {
        FirewallRuleset set = FirewallReader.Read();
        foreach (FirewallReadNote n in set.Notes)
        {
            if (n.Problem is FirewallReadProblem.Failed or FirewallReadProblem.Unparsable)
            {
                _unavailable.Add(new UnavailableCheck(FindingComponent.Firewall, $"firewall ({n.Source})", n.Message));
            }
            else
            {
                _verbose($"{n.Source}: {n.Message}");
            }
        }

        return set;
    }

    // Global addresses on interfaces other than the default route's, and where traffic from each goes.
    private static List<EndpointCandidate> EndpointCandidates(IReadOnlyList<InterfaceAddress> addresses, Func<AddressFamily, IPAddress?> gateway)
    {
        var candidates = new List<EndpointCandidate>();
        foreach (AddressFamily family in new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 })
        {
            if (gateway(family) is not { } g || RouteTable.Get(g, null)?.OutputInterface is not { } defaultInterface)
            {
                continue;
            }

            foreach (InterfaceAddress a in addresses.Where(a => a.Address.AddressFamily == family && a.Interface is not null && a.Interface != defaultInterface
                                                              && !IPAddress.IsLoopback(a.Address) && !a.Address.IsIPv6LinkLocal))
            {
                candidates.Add(new EndpointCandidate(a.Address, a.Interface!, defaultInterface, RouteTable.Get(g, a.Address)?.OutputInterface));
            }
        }

        return candidates;
    }

    private List<ProcessFacts> ReadProcesses()
    {
        SocketInodes sockets = SocketInodes.Load();
        var pids = new List<int>(_request.ProcessIds ?? Array.Empty<int>());
        foreach (string name in _request.ProcessNames ?? Array.Empty<string>())
        {
            List<int> found = ProcessTable.FindByName(comm => Glob.IsMatch(name, comm, ignoreCase: true));
            if (found.Count == 0)
            {
                _unavailable.Add(new UnavailableCheck(FindingComponent.Application, "application", $"No process named '{name}' runs here."));
            }

            pids.AddRange(found);
        }

        var list = new List<ProcessFacts>();
        foreach (int pid in pids.Distinct())
        {
            try
            {
                list.Add(ReadProcess(sockets, pid));
            }
            catch (ProcessGoneException e)
            {
                _unavailable.Add(new UnavailableCheck(FindingComponent.Application, "application", e.Message));
            }
        }

        return list;
    }

    private (PeerProbe?, List<MptcpConnectionSummary>?) ProbeAndCapture(CancellationToken cancel)
    {
        if (_request.ComputerName is null && _request.CaptureSeconds is null)
        {
            return (null, null);
        }

        if (_request.ComputerName is not null && _request.Port is null)
        {
            _unavailable.Add(new UnavailableCheck(FindingComponent.Peer, "peer", "-ComputerName needs -Port."));
            return (null, null);
        }

        LiveCapture? capture = null;
        PacketProcessor? processor = null;
        if (_request.CaptureSeconds is not null)
        {
            try
            {
                string filter = _request.Port is { } p ? $"tcp port {p}" : "tcp";
                capture = LiveCapture.Open(_request.Interfaces ?? new[] { "any" }, 256, filter);
                processor = new PacketProcessor();
                PacketProcessor target = processor;
                capture.Start((linkType, frame, timestamp, number) => { target.Process(linkType, frame, timestamp, number, materialize: false, includePlainTcp: false); return true; });
            }
            catch (CaptureException e)
            {
                _unavailable.Add(new UnavailableCheck(FindingComponent.Capture, "capture", e.Message));
                capture = null;
                processor = null;
            }
        }

        PeerProbe? probe = null;
        try
        {
            if (_request.ComputerName is { } name && _request.Port is { } port)
            {
                IPAddress? remote = null;
                try
                {
                    remote = NameResolution.Resolve(name);
                }
                catch (NameResolutionException e)
                {
                    _unavailable.Add(new UnavailableCheck(FindingComponent.Peer, "peer", e.Message));
                }

                if (remote is not null)
                {
                    // With a capture, send while it runs, so joins and data show on the wire.
                    TimeSpan send = _request.CaptureSeconds is { } c ? TimeSpan.FromSeconds(Math.Max(0.5, c - 0.5)) : TimeSpan.FromSeconds(1);
                    _verbose($"Probing {remote}:{port} with an MPTCP connection.");
                    probe = new PeerProbe(name, ConnectivityProbe.Run(remote, port, null, TimeSpan.FromSeconds(10), send, TimeSpan.Zero, cancel,
                        length => Waiting?.Invoke($"Sending to {remote}:{port}{(capture is null ? "" : " while capturing")}", length)));
                }
            }
            else if (_request.CaptureSeconds is { } seconds)
            {
                Waiting?.Invoke("Capturing", TimeSpan.FromSeconds(seconds));
                cancel.WaitHandle.WaitOne(TimeSpan.FromSeconds(seconds));
            }

            if (capture is not null)
            {
                cancel.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(300)); // the last segments of the probe
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
                    _warning($"The kernel dropped {dropped} packets during the capture.");
                }
            }
        }

        return (probe, processor?.Tracker.Summaries().ToList());
    }

    // Why the D-Bus of systemd and NetworkManager cannot be reached at all; null when it can (a bus without
    // NetworkManager on it is a host without NetworkManager, not a check that could not run).
    private static string? BusProblem(string? address)
    {
        try
        {
            using SystemBus bus = SystemBus.Connect(address, TimeSpan.FromSeconds(3));
            return null;
        }
        catch (BusUnavailableException e)
        {
            return e.Message;
        }
    }

    private T? Try<T>(FindingComponent component, string check, Func<T> read) where T : class
    {
        try
        {
            _verbose($"Checking {check}.");
            return read();
        }
        catch (Exception e) when (IsExpected(e))
        {
            _unavailable.Add(new UnavailableCheck(component, check, e.Message));
            return null;
        }
    }

    /// <summary>What the gathering layers throw by design: a part of the host that cannot be read.</summary>
    internal static bool IsExpected(Exception e) =>
        e is KernelException or MptcpPathManagerMissingException or FormatException or IOException or UnauthorizedAccessException
            or BusUnavailableException or Tmds.DBus.Protocol.DBusExceptionBase or CaptureException or InvalidOperationException
            or ProcessGoneException or NameResolutionException;
}
