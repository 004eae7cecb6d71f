using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using MptcpTools.Kernel;
using MptcpTools.Packets;

namespace MptcpTools.Diagnosis;

/// <summary>One end of a path test: this host, or a host reached over remoting (Remoting/RemotePathEnd).</summary>
public interface IPathEnd
{
    /// <summary>The name findings about this end give it.</summary>
    string ComputerName { get; }
    PathEndStarted Start(PathEndStart request, CancellationToken cancel);
    HostFacts Gather(DiagnosisRequest request, CancellationToken cancel);
    ProbeOutcome Connect(PathConnect request, CancellationToken cancel);
    PathEndCapture Stop(string id, CancellationToken cancel);
}

/// <summary>This host as an end of a path test.</summary>
public sealed class LocalPathEnd : IPathEnd
{
    public string ComputerName { get; } = Environment.MachineName;

    public PathEndStarted Start(PathEndStart request, CancellationToken cancel) => PathEndAgent.Start(request);

    public HostFacts Gather(DiagnosisRequest request, CancellationToken cancel) => PathEndAgent.Gather(request);

    public ProbeOutcome Connect(PathConnect request, CancellationToken cancel) => PathEndAgent.Connect(request, cancel);

    public PathEndCapture Stop(string id, CancellationToken cancel) => PathEndAgent.Stop(id);
}

/// <summary>What Test-MptcpPath is asked.</summary>
public sealed class PathTestRequest
{
    /// <summary>The real service's port on the server; null: a listener of the module's own on a free port.</summary>
    public int? Port { get; init; }
    /// <summary>The server address the client connects to, as the client names it (default: the server end's name).</summary>
    public string? ServerAddress { get; init; }
    /// <summary>More server addresses to expect paths to (beyond those the server announces).</summary>
    public IReadOnlyList<IPAddress> ExtraServerAddresses { get; init; } = Array.Empty<IPAddress>();
    public double HoldSeconds { get; init; } = 2;
    public double ConnectTimeoutSeconds { get; init; } = 10;
    public string? BusAddress { get; init; }
}

/// <summary>Everything a path test gathered at both ends, as plain data (serializable as JSON, like HostFacts); the rules judge nothing else.</summary>
public sealed class PathFacts
{
    public string ClientName { get; init; } = "";
    public string ServerName { get; init; } = "";
    /// <summary>The address the client connected to, as it named it.</summary>
    public string ServerAddress { get; init; } = "";
    public int Port { get; init; }
    /// <summary>Whether the server listened with the module's own MPTCP listener (no -Port), or the real service answered.</summary>
    public bool OwnListener { get; init; }
    public IReadOnlyList<IPAddress> ExtraServerAddresses { get; init; } = Array.Empty<IPAddress>();
    public HostFacts? Client { get; init; }
    public HostFacts? Server { get; init; }
    public ProbeOutcome? Probe { get; init; }
    public MptcpPathComparison? Comparison { get; init; }
    public PathEndCapture? ClientCapture { get; init; }
    public PathEndCapture? ServerCapture { get; init; }
    [System.Management.Automation.Hidden]
    [Newtonsoft.Json.JsonIgnore]
    public TimeSpan Elapsed { get; init; }
    public double ElapsedSeconds => Elapsed.TotalSeconds;
    public IReadOnlyList<UnavailableAtEnd> Unavailable { get; init; } = Array.Empty<UnavailableAtEnd>();

    public string ToJson() => FactsJson.Serialize(this);

    public static PathFacts FromJson(string json) => FactsJson.Deserialize<PathFacts>(json);
}

/// <summary>
/// Runs a path test: the server starts its capture (and a listener of its own on a free port, unless given the real
/// service's port), the client starts its capture, both ends' facts are gathered at once, the client connects with a
/// real MPTCP socket and holds the connection, sending a little, while the path managers open subflows; then both
/// captures stop and are matched. What cannot be done becomes an UnavailableAtEnd; only the facts come out.
/// </summary>
public static class PathTester
{
    public static PathFacts Run(IPathEnd client, IPathEnd server, PathTestRequest request, Action<string> verbose, CancellationToken cancel)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var unavailable = new List<UnavailableAtEnd>();
        string serverAddress = request.ServerAddress ?? server.ComputerName;

        verbose($"{server.ComputerName}: starting the capture{(request.Port is null ? " and an MPTCP listener on a free port" : $" of port {request.Port}")}.");
        PathEndStarted serverStart = server.Start(new PathEndStart { Role = PathEndRole.Server, Port = request.Port, Listen = request.Port is null }, cancel);
        if (serverStart.ListenError is { } listenError)
        {
            unavailable.Add(new UnavailableAtEnd(server.ComputerName, FindingComponent.Path, "listener", listenError));
        }

        if (serverStart.CaptureError is { } serverCaptureError)
        {
            unavailable.Add(new UnavailableAtEnd(server.ComputerName, FindingComponent.Capture, "capture", serverCaptureError));
        }

        int port = serverStart.Port;
        PathEndStarted? clientStart = null;
        PathEndCapture? clientCapture = null, serverCapture = null;
        HostFacts? clientFacts = null, serverFacts = null;
        ProbeOutcome? probe = null;
        try
        {
            if (port == 0)
            {
                return Facts();
            }

            clientStart = client.Start(new PathEndStart { Role = PathEndRole.Client, Port = port }, cancel);
            if (clientStart.CaptureError is { } clientCaptureError)
            {
                unavailable.Add(new UnavailableAtEnd(client.ComputerName, FindingComponent.Capture, "capture", clientCaptureError));
            }

            verbose($"Gathering the facts of {client.ComputerName} and {server.ComputerName}.");
            Task<HostFacts> clientGather = Task.Run(() => client.Gather(new DiagnosisRequest { Port = port, BusAddress = request.BusAddress }, cancel), cancel);
            Task<HostFacts> serverGather = Task.Run(() => server.Gather(new DiagnosisRequest { Port = port, BusAddress = request.BusAddress }, cancel), cancel);
            clientFacts = Await(clientGather, client, "facts");
            serverFacts = Await(serverGather, server, "facts");

            verbose($"{client.ComputerName}: connecting to {serverAddress} port {port} with an MPTCP socket, held {request.HoldSeconds} s.");
            try
            {
                probe = client.Connect(new PathConnect { Server = serverAddress, Port = port, HoldSeconds = request.HoldSeconds, TimeoutSeconds = request.ConnectTimeoutSeconds }, cancel);
            }
            catch (Exception e) when (e is not OperationCanceledException && DiagnosisGatherer.IsExpected(e) || e is PathEndException)
            {
                unavailable.Add(new UnavailableAtEnd(client.ComputerName, FindingComponent.Path, "connection", e.Message));
            }
        }
        finally
        {
            // Both captures stop, also when the test failed or was stopped: nothing of it stays running on either host.
            if (clientStart is not null)
            {
                clientCapture = StopQuietly(client, clientStart.Id);
            }

            serverCapture = StopQuietly(server, serverStart.Id);
        }

        return Facts();

        PathFacts Facts()
        {
            MptcpPathComparison? comparison = null;
            if (clientCapture is { CaptureError: null } && serverCapture is { CaptureError: null })
            {
                var clientAddresses = new HashSet<IPAddress>((clientFacts?.Addresses ?? Array.Empty<InterfaceAddress>()).Select(a => PathJudge.Unmapped(a.Address)));
                comparison = CaptureComparer.ComparePaths(Recording(clientCapture, client.ComputerName), Recording(serverCapture, server.ComputerName),
                    a => clientAddresses.Contains(PathJudge.Unmapped(a)));
            }
            else
            {
                foreach ((string name, PathEndCapture? c) in new[] { (client.ComputerName, clientCapture), (server.ComputerName, serverCapture) })
                {
                    if (c?.CaptureError is { } e && !unavailable.Any(u => u.Reason.EndsWith(e, StringComparison.Ordinal)))
                    {
                        unavailable.Add(new UnavailableAtEnd(name, FindingComponent.Capture, "capture", e));
                    }
                }
            }

            return new PathFacts
            {
                ClientName = client.ComputerName, ServerName = server.ComputerName, ServerAddress = serverAddress, Port = port,
                OwnListener = serverStart.Listening, ExtraServerAddresses = request.ExtraServerAddresses, Client = clientFacts, Server = serverFacts,
                Probe = probe, Comparison = comparison, ClientCapture = Summary(clientCapture), ServerCapture = Summary(serverCapture),
                Elapsed = clock.Elapsed, Unavailable = unavailable,
            };
        }

        HostFacts? Await(Task<HostFacts> task, IPathEnd end, string what)
        {
            try
            {
                return task.GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is not OperationCanceledException && DiagnosisGatherer.IsExpected(e) || e is PathEndException)
            {
                unavailable.Add(new UnavailableAtEnd(end.ComputerName, FindingComponent.Path, what, e.Message));
                return null;
            }
        }

        PathEndCapture? StopQuietly(IPathEnd end, string id)
        {
            try
            {
                return end.Stop(id, CancellationToken.None);
            }
            catch (Exception e) when (DiagnosisGatherer.IsExpected(e) || e is PathEndException)
            {
                unavailable.Add(new UnavailableAtEnd(end.ComputerName, FindingComponent.Capture, "capture", e.Message));
                return null;
            }
        }
    }

    private static CaptureRecording Recording(PathEndCapture capture, string name)
    {
        var recording = new CaptureRecording(name);
        long number = 0;
        foreach (CapturedFrame f in capture.Frames.OrderBy(f => f.Timestamp))
        {
            recording.Add(f.LinkType, f.Data, f.Timestamp, ++number);
        }

        return recording;
    }

    // The facts keep what the captures said, not their frames (the comparison holds what the rules need).
    private static PathEndCapture? Summary(PathEndCapture? c) => c is null ? null : new PathEndCapture
    {
        Truncated = c.Truncated, Dropped = c.Dropped, CaptureError = c.CaptureError, Accepted = c.Accepted, CounterDeltas = c.CounterDeltas,
    };
}

/// <summary>A part of a path test that could not be done at one end, and why.</summary>
public sealed record UnavailableAtEnd(string ComputerName, FindingComponent Component, string Check, string Reason);

/// <summary>An end of a path test that could not do what it was asked (a remote host's failure, in its words).</summary>
public sealed class PathEndException : Exception
{
    public PathEndException(string message, Exception? inner = null) : base(message, inner) { }
}
