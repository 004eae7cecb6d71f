using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Threading;
using MptcpTools.Host;
using MptcpTools.Kernel;
using MptcpTools.Packets;

namespace MptcpTools.Diagnosis;

/// <summary>What one end of a path test is asked to start: a capture of the test's port, and on the server a listener.</summary>
public sealed class PathEndStart
{
    public PathEndRole Role { get; init; }
    /// <summary>The server's port: where the client connects, and what both captures keep. Null on the server: a free port for a listener of its own.</summary>
    public int? Port { get; init; }
    /// <summary>Start an MPTCP listener of the module's own on the port (the server, when not given the real service's port).</summary>
    public bool Listen { get; init; }
    /// <summary>The capture and listener end by themselves this long after they started, should the test never stop them.</summary>
    public double MaxSeconds { get; init; } = 120;
}

/// <summary>What an end started: the port its listener got, and what could not be started.</summary>
public sealed class PathEndStarted
{
    public string Id { get; init; } = "";
    public int Port { get; init; }
    public bool Listening { get; init; }
    public string? ListenError { get; init; }
    public string? CaptureError { get; init; }
    public HostIdentity? Host { get; init; }
}

/// <summary>One frame as an end's capture saw it.</summary>
public sealed class CapturedFrame
{
    public int LinkType { get; init; }
    public DateTime Timestamp { get; init; }
    public byte[] Data { get; init; } = Array.Empty<byte>();
}

/// <summary>What an end's capture saw, and what its MPTCP counters did meanwhile.</summary>
public sealed class PathEndCapture
{
    public CapturedFrame[] Frames { get; init; } = Array.Empty<CapturedFrame>();
    /// <summary>More frames came than an end keeps (<see cref="PathEndAgent.MaxFrames"/>); the first ones are kept.</summary>
    public bool Truncated { get; init; }
    public long Dropped { get; init; }
    public string? CaptureError { get; init; }
    /// <summary>Connections the end's own listener accepted.</summary>
    public long Accepted { get; init; }
    /// <summary>The MPTcpExt counters that changed between start and stop.</summary>
    public Dictionary<string, long> CounterDeltas { get; init; } = new();
}

/// <summary>The client's real MPTCP connection of a path test.</summary>
public sealed class PathConnect
{
    public string Server { get; init; } = "";
    public int Port { get; init; }
    public double TimeoutSeconds { get; init; } = 10;
    /// <summary>How long the connection is held open, sending a little, so the path managers open and announce subflows.</summary>
    public double HoldSeconds { get; init; } = 2;
}

/// <summary>
/// The work one end of Test-MptcpPath does on its own host: start a capture of the test's port (and on the server an
/// MPTCP listener), gather the host's facts, connect (the client), and stop and hand over what the capture saw. The
/// same code runs on this host (<see cref="LocalPathEnd"/>) and on a host reached over remoting, where the calls come
/// as JSON (FactsJson) and the answers go back the same way. A capture that is never stopped ends by itself.
/// </summary>
public static class PathEndAgent
{
    /// <summary>Frames an end keeps: the test sends a little, so this is far more than a test needs.</summary>
    public const int MaxFrames = 20000;
    private const int SnapLength = 256;
    private static readonly ConcurrentDictionary<string, Session> Sessions = new();

    public static PathEndStarted Start(PathEndStart request)
    {
        var session = new Session(request);
        Sessions[session.Id] = session;
        return session.Started;
    }

    public static PathEndCapture Stop(string id) =>
        Sessions.TryRemove(id, out Session? session) ? session.Stop() : new PathEndCapture { CaptureError = $"No capture {id} runs here (it ended by itself, or never started)." };

    public static HostFacts Gather(DiagnosisRequest request) => DiagnosisGatherer.Gather(request);

    public static ProbeOutcome Connect(PathConnect request, CancellationToken cancel)
    {
        IPAddress server = NameResolution.Resolve(request.Server);
        return ConnectivityProbe.Run(server, request.Port, null, TimeSpan.FromSeconds(request.TimeoutSeconds), TimeSpan.FromSeconds(request.HoldSeconds),
            TimeSpan.Zero, cancel, pace: TimeSpan.FromMilliseconds(50));
    }

    // The remote end's calls: JSON in, JSON out.
    public static string StartJson(string json) => FactsJson.Serialize(Start(FactsJson.Deserialize<PathEndStart>(json)));

    public static string StopJson(string id) => FactsJson.Serialize(Stop(id));

    public static string GatherJson(string json) => FactsJson.Serialize(Gather(FactsJson.Deserialize<DiagnosisRequest>(json)));

    public static string ConnectJson(string json) => FactsJson.Serialize(Connect(FactsJson.Deserialize<PathConnect>(json), CancellationToken.None));

    private sealed class Session
    {
        private readonly LiveCapture? _capture;
        private readonly MptcpListener? _listener;
        private readonly List<CapturedFrame> _frames = new();
        private readonly Dictionary<string, long> _before;
        private readonly Timer _expiry;
        private readonly string? _captureError;
        private bool _truncated;
        private int _stopped;

        public Session(PathEndStart request)
        {
            Id = Guid.NewGuid().ToString("n");
            _before = ConnectivityProbe.ReadCounters();
            string? listenError = null;
            int port = request.Port ?? 0;
            if (request.Listen)
            {
                try
                {
                    _listener = MptcpListener.Start(port);
                    port = _listener.Port;
                }
                catch (KernelException e)
                {
                    listenError = e.Message;
                }
            }

            if (port != 0)
            {
                try
                {
                    _capture = LiveCapture.Open(new[] { "any" }, SnapLength, $"tcp port {port}");
                    _capture.Start(Add);
                }
                catch (CaptureException e)
                {
                    _captureError = e.Message;
                    _capture?.Dispose();
                    _capture = null;
                }
            }
            else
            {
                _captureError = "No port to capture: the listener could not start.";
            }

            Started = new PathEndStarted
            {
                Id = Id, Port = port, Listening = _listener is not null, ListenError = listenError, CaptureError = _captureError, Host = HostIdentity.Read(),
            };
            _expiry = new Timer(_ => { if (Sessions.TryRemove(Id, out Session? _)) { Stop(); } }, null, TimeSpan.FromSeconds(Math.Clamp(request.MaxSeconds, 1, 3600)), Timeout.InfiniteTimeSpan);
        }

        public string Id { get; }
        public PathEndStarted Started { get; }

        private bool Add(int linkType, ReadOnlySpan<byte> frame, DateTime timestamp, long number)
        {
            lock (_frames)
            {
                if (_frames.Count >= MaxFrames)
                {
                    _truncated = true;
                    return true;
                }

                _frames.Add(new CapturedFrame { LinkType = linkType, Timestamp = timestamp, Data = frame.ToArray() });
            }

            return true;
        }

        public PathEndCapture Stop()
        {
            if (Interlocked.Exchange(ref _stopped, 1) == 1)
            {
                return new PathEndCapture { CaptureError = "Already stopped." };
            }

            _expiry.Dispose();
            long dropped = 0;
            string? failure = _captureError;
            if (_capture is not null)
            {
                // The last segments of the test are still on their way through the kernel's buffers.
                Thread.Sleep(200);
                (_, dropped, _) = _capture.Stop();
                failure ??= _capture.Failure?.Message;
                _capture.Dispose();
            }

            long accepted = _listener?.Accepted ?? 0;
            _listener?.Dispose();
            Dictionary<string, long> after = ConnectivityProbe.ReadCounters();
            lock (_frames)
            {
                return new PathEndCapture
                {
                    Frames = _frames.ToArray(), Truncated = _truncated, Dropped = dropped, CaptureError = failure, Accepted = accepted,
                    CounterDeltas = ConnectivityProbe.CounterDeltas(_before, after),
                };
            }
        }
    }
}
