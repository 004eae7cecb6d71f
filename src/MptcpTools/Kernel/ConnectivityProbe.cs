using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;

namespace MptcpTools.Kernel;

/// <summary>What one MPTCP connection attempt measured.</summary>
public sealed class ProbeOutcome
{
    public IPAddress RemoteAddress { get; init; } = IPAddress.None;
    public int Port { get; init; }
    public int SocketErrno { get; init; }
    public int ConnectErrno { get; init; }
    public bool IsMptcp { get; init; }
    public MptcpInfo? Info { get; init; }
    public List<(IPEndPoint Local, IPEndPoint Remote)> Subflows { get; init; } = new();
    public long BytesSent { get; init; }
    public Dictionary<string, long> CounterDeltas { get; init; } = new();
    public TimeSpan Elapsed { get; init; }
    public string? SendError { get; init; }
}

/// <summary>Opens a real MPTCP connection, optionally sends, and reads what it negotiated and what the counters did.</summary>
public static class ConnectivityProbe
{
    /// <summary>
    /// Runs the attempt. Throws KernelException only when binding to <paramref name="source"/> fails.
    /// <paramref name="connected"/> hears when the connection is up and how long the probe goes on sending (or
    /// waiting for subflows), for a caller that shows the time left.
    /// </summary>
    public static ProbeOutcome Run(IPAddress remote, int port, IPAddress? source, TimeSpan timeout, TimeSpan sendFor, TimeSpan settle,
        CancellationToken cancel, Action<TimeSpan>? connected = null)
    {
        var clock = Stopwatch.StartNew();
        Dictionary<string, long> before = ReadCounters();
        int socketErrno = 0, connectErrno = 0;
        bool isMptcp = false;
        MptcpInfo? info = null;
        var subflows = new List<(IPEndPoint, IPEndPoint)>();
        long sent = 0;
        string? sendError = null;
        MptcpSocket? socket = null;
        try
        {
            socket = MptcpSocket.Create(remote.AddressFamily);
        }
        catch (KernelException e)
        {
            socketErrno = e.Errno;
        }

        if (socket is not null)
        {
            using (socket)
            {
                if (source is not null)
                {
                    socket.Bind(source);
                }

                connectErrno = socket.Connect(new IPEndPoint(remote, port), timeout, cancel);
                if (connectErrno == 0)
                {
                    connected?.Invoke(sendFor > TimeSpan.Zero ? sendFor : settle);
                    if (sendFor > TimeSpan.Zero)
                    {
                        byte[] chunk = new byte[64 * 1024];
                        socket.Socket.SendTimeout = 1000;
                        var sending = Stopwatch.StartNew();
                        while (sending.Elapsed < sendFor && !cancel.IsCancellationRequested)
                        {
                            try
                            {
                                sent += socket.Socket.Send(chunk);
                            }
                            catch (SocketException e)
                            {
                                sendError = e.Message;
                                break;
                            }
                        }
                    }
                    else
                    {
                        cancel.WaitHandle.WaitOne(settle);
                    }

                    isMptcp = socket.IsMptcp();
                    info = socket.Info();
                    subflows = socket.SubflowAddresses();
                }
            }
        }

        Dictionary<string, long> after = ReadCounters();
        return new ProbeOutcome
        {
            RemoteAddress = remote,
            Port = port,
            SocketErrno = socketErrno,
            ConnectErrno = connectErrno,
            IsMptcp = isMptcp,
            Info = info,
            Subflows = subflows,
            BytesSent = sent,
            CounterDeltas = after.Where(kv => kv.Value != before.GetValueOrDefault(kv.Key))
                .ToDictionary(kv => kv.Key, kv => kv.Value - before.GetValueOrDefault(kv.Key)),
            Elapsed = clock.Elapsed,
            SendError = sendError,
        };
    }

    private static Dictionary<string, long> ReadCounters()
    {
        try
        {
            return MptcpCounterCatalog.Read().ToDictionary(kv => kv.Key, kv => kv.Value);
        }
        catch (Exception e) when (e is System.IO.IOException or UnauthorizedAccessException or FormatException)
        {
            return new Dictionary<string, long>();
        }
    }
}
