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
    public List<SubflowEndpoints> Subflows { get; init; } = new();
    public long BytesSent { get; init; }
    public Dictionary<string, long> CounterDeltas { get; init; } = new();
    [System.Management.Automation.Hidden]
    [Newtonsoft.Json.JsonIgnore]
    public TimeSpan Elapsed { get; init; }
    public double ElapsedSeconds => Elapsed.TotalSeconds;
    public string? SendError { get; init; }
    /// <summary>
    /// When the MPTCP attempt failed: the errno of a plain-TCP connection to the same peer right after
    /// (0: TCP connects, so what failed is MPTCP's SYNs); null when no control connection was tried.
    /// </summary>
    public int? ControlConnectErrno { get; init; }
    /// <summary>Whether the socket was MPTCP right after connect() (the handshake negotiated it), before any data.</summary>
    public bool MptcpAtConnect { get; init; }
    /// <summary>When the handshake fell back: how often the (only) subflow retransmitted its SYN, from its own tcp_info.</summary>
    public uint? HandshakeRetransmits { get; init; }
    /// <summary>net.mptcp.syn_retrans_before_tcp_fallback: after this many, the kernel retries without MP_CAPABLE (null: no such fallback).</summary>
    public int? SynRetransBeforeFallback { get; init; }
}

/// <summary>Opens a real MPTCP connection, optionally sends, and reads what it negotiated and what the counters did.</summary>
public static class ConnectivityProbe
{
    /// <summary>
    /// Runs the attempt. Throws KernelException only when binding to <paramref name="source"/> fails.
    /// <paramref name="connected"/> hears when the connection is up and how long the probe goes on sending (or
    /// waiting for subflows), for a caller that shows the time left. With a <paramref name="pace"/>, it sends one
    /// kibibyte per pace for <paramref name="sendFor"/> instead of as much as it can: enough for the path managers to
    /// open and announce subflows, little enough to capture whole.
    /// </summary>
    public static ProbeOutcome Run(IPAddress remote, int port, IPAddress? source, TimeSpan timeout, TimeSpan sendFor, TimeSpan settle,
        CancellationToken cancel, Action<TimeSpan>? connected = null, TimeSpan pace = default)
    {
        var clock = Stopwatch.StartNew();
        Dictionary<string, long> before = ReadCounters();
        int socketErrno = 0, connectErrno = 0;
        bool isMptcp = false, atConnect = false;
        uint? handshakeRetransmits = null;
        MptcpInfo? info = null;
        var subflows = new List<SubflowEndpoints>();
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
                    // This socket's own state, before other traffic can move the namespace's counters.
                    atConnect = socket.IsMptcp();
                    handshakeRetransmits = atConnect ? null : socket.TcpInfo()?.TotalRetransmits;
                    connected?.Invoke(sendFor > TimeSpan.Zero ? sendFor : settle);
                    if (sendFor > TimeSpan.Zero)
                    {
                        byte[] chunk = new byte[pace > TimeSpan.Zero ? 1024 : 64 * 1024];
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

                            if (pace > TimeSpan.Zero)
                            {
                                cancel.WaitHandle.WaitOne(pace);
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
        // Kernels before 6.12 never fall back after dropped MP_CAPABLE SYNs: connect() just times out. A plain
        // TCP connection tells "the peer is unreachable" from "something drops MPTCP's SYNs".
        int? control = socket is not null && connectErrno != 0 && !cancel.IsCancellationRequested ? ControlConnect(remote, port, source, timeout) : null;
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
            CounterDeltas = CounterDeltas(before, after),
            Elapsed = clock.Elapsed,
            SendError = sendError,
            ControlConnectErrno = control,
            MptcpAtConnect = atConnect,
            HandshakeRetransmits = handshakeRetransmits,
            SynRetransBeforeFallback = int.TryParse(ProcFiles.ReadSysctl("net.mptcp.syn_retrans_before_tcp_fallback"), out int retries) ? retries : null,
        };
    }

    /// <summary>A plain TCP connect to the same peer: its errno (0: connected).</summary>
    private static int ControlConnect(IPAddress remote, int port, IPAddress? source, TimeSpan timeout)
    {
        using var tcp = new Socket(remote.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (source is not null)
            {
                tcp.Bind(new IPEndPoint(source, 0));
            }

            return tcp.ConnectAsync(new IPEndPoint(remote, port)).Wait(timeout) ? 0 : Errnos.ETIMEDOUT;
        }
        catch (AggregateException e) when (e.InnerException is SocketException s)
        {
            return Errno(s.SocketErrorCode);
        }
        catch (SocketException e)
        {
            return Errno(e.SocketErrorCode);
        }
    }

    // .NET reports socket errors by its own codes; the judges speak errno.
    private static int Errno(SocketError error) => error switch
    {
        SocketError.ConnectionRefused => Errnos.ECONNREFUSED,
        SocketError.TimedOut => Errnos.ETIMEDOUT,
        SocketError.NetworkUnreachable => Errnos.ENETUNREACH,
        SocketError.HostUnreachable => Errnos.EHOSTUNREACH,
        SocketError.AccessDenied => Errnos.EACCES,
        SocketError.AddressNotAvailable => Errnos.EADDRNOTAVAIL,
        SocketError.ConnectionReset => Errnos.ECONNRESET,
        _ => Errnos.EINVAL,
    };

    /// <summary>
    /// Whether the kernel has turned MPTCP off for active opens in this namespace (after blackholes): an MPTCP
    /// connection to an MPTCP listener of our own on loopback falls back at once when it has. Loopback keeps
    /// the check on this host; the kernel applies the blackhole state to every active open. Null when MPTCP
    /// sockets cannot be made here.
    /// </summary>
    public static bool? ActiveOpensDisabled()
    {
        try
        {
            using MptcpSocket listener = MptcpSocket.Create(AddressFamily.InterNetwork);
            IPEndPoint at = listener.Listen(new IPEndPoint(IPAddress.Loopback, 0));
            using MptcpSocket client = MptcpSocket.Create(AddressFamily.InterNetwork);
            return client.Connect(at, TimeSpan.FromSeconds(2)) == 0 ? !client.IsMptcp() : null;
        }
        catch (KernelException)
        {
            return null;
        }
    }

    /// <summary>The MPTcpExt counters now; none when they cannot be read (the deltas are then empty, not wrong).</summary>
    internal static Dictionary<string, long> ReadCounters()
    {
        try
        {
            return MptcpCounterCatalog.Read().ToDictionary(kv => kv.Key, kv => kv.Value);
        }
        catch (Exception e) when (e is System.IO.IOException or UnauthorizedAccessException or FormatException or KernelException)
        {
            return new Dictionary<string, long>();
        }
    }

    /// <summary>The counters that changed between two readings, by how much.</summary>
    internal static Dictionary<string, long> CounterDeltas(Dictionary<string, long> before, Dictionary<string, long> after) =>
        after.Where(kv => kv.Value != before.GetValueOrDefault(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value - before.GetValueOrDefault(kv.Key));
}
