using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Management.Automation;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using MptcpTools.Diagnosis;
using MptcpTools.Kernel;

namespace MptcpTools.Commands;

/// <summary>Test-MptcpConnectivity: open a real MPTCP connection to a peer and say what it negotiated.</summary>
[Cmdlet(VerbsDiagnostic.Test, "MptcpConnectivity")]
[OutputType(typeof(MptcpConnectivityResult))]
public sealed class TestMptcpConnectivityCommand : MptcpCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("RemoteAddress", "HostName")]
    public string ComputerName { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("RemotePort")]
    [ValidateRange(1, 65535)]
    public int Port { get; set; }

    /// <summary>Open the connection from this local address.</summary>
    [Parameter]
    public IPAddress? SourceAddress { get; set; }

    /// <summary>Send data for this long (numbers are seconds), so extra subflows come up and carry it.</summary>
    [Parameter]
    [SecondsTransformation]
    public TimeSpan Duration { get; set; } = TimeSpan.Zero;

    /// <summary>How long to wait for the connection. Numbers are seconds.</summary>
    [Parameter]
    [SecondsTransformation]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long to wait after connecting for extra subflows, without -Duration. Numbers are seconds.</summary>
    [Parameter]
    [SecondsTransformation]
    public TimeSpan SettleTime { get; set; } = TimeSpan.FromSeconds(1);

    private readonly CancellationTokenSource _stop = new();

    protected override void ProcessRecord()
    {
        IPAddress? remote = Resolve();
        if (remote is null)
        {
            return;
        }

        var clock = Stopwatch.StartNew();
        Dictionary<string, long> before = ReadCounters();
        int socketErrno = 0, connectErrno = 0;
        bool isMptcp = false;
        MptcpInfo? info = null;
        List<(IPEndPoint Local, IPEndPoint Remote)> addresses = new();
        long sent = 0;
        MptcpSocket? socket = null;
        try
        {
            socket = MptcpSocket.Create(remote.AddressFamily);
            if (SourceAddress is not null)
            {
                socket.Bind(SourceAddress);
            }

            connectErrno = socket.Connect(new IPEndPoint(remote, Port), Timeout);
            if (connectErrno == 0)
            {
                sent = Exercise(socket);
                isMptcp = socket.IsMptcp();
                info = socket.Info();
                addresses = socket.SubflowAddresses();
            }
        }
        catch (KernelException e) when (socket is null)
        {
            socketErrno = e.Errno;
        }
        catch (KernelException e)
        {
            // Binding to -SourceAddress failed: that is the caller's input, not the peer's fault.
            WriteError(KernelErrors.ToErrorRecord(e, SourceAddress));
            socket?.Dispose();
            return;
        }

        socket?.Dispose();
        Dictionary<string, long> after = ReadCounters();
        var deltas = after.Where(kv => kv.Value != before.GetValueOrDefault(kv.Key))
            .ToDictionary(kv => kv.Key, kv => kv.Value - before.GetValueOrDefault(kv.Key));
        var facts = new ConnectivityFacts { SocketErrno = socketErrno, ConnectErrno = connectErrno, IsMptcp = isMptcp, Info = info, CounterDeltas = deltas };
        (FallbackReason reason, string detail) = ConnectivityJudge.Judge(facts);
        WriteObject(new MptcpConnectivityResult
        {
            ComputerName = ComputerName,
            RemoteAddress = remote,
            Port = Port,
            SourceAddress = SourceAddress,
            Connected = socketErrno == 0 && connectErrno == 0,
            MptcpNegotiated = reason == FallbackReason.None,
            FallbackReason = reason,
            Detail = detail,
            SubflowCount = addresses.Count > 0 ? addresses.Count : info is not null ? (info.SubflowsTotal is { } t && t > 0 ? t : info.ExtraSubflows + 1) : (connectErrno == 0 && socketErrno == 0 ? 1 : 0),
            SubflowLocalAddresses = addresses.Select(a => a.Local).ToArray(),
            SubflowRemoteAddresses = addresses.Select(a => a.Remote).ToArray(),
            AddAddrAccepted = info?.AddAddrAccepted ?? 0,
            AddAddrReceived = deltas.GetValueOrDefault("AddAddr"),
            Token = info?.Token,
            BytesSent = sent,
            Duration = clock.Elapsed,
            CounterDeltas = deltas,
        });
    }

    protected override void StopProcessing() => _stop.Cancel();

    // Sends for -Duration, or waits -SettleTime, watching the subflow count.
    private long Exercise(MptcpSocket socket)
    {
        long sent = 0;
        var clock = Stopwatch.StartNew();
        if (Duration > TimeSpan.Zero)
        {
            byte[] chunk = new byte[64 * 1024];
            socket.Socket.SendTimeout = 1000;
            while (clock.Elapsed < Duration && !_stop.IsCancellationRequested)
            {
                try
                {
                    sent += socket.Socket.Send(chunk);
                }
                catch (SocketException e)
                {
                    WriteVerbose($"Sending stopped: {e.Message}");
                    break;
                }
            }
        }
        else
        {
            _stop.Token.WaitHandle.WaitOne(SettleTime);
        }

        return sent;
    }

    private IPAddress? Resolve()
    {
        if (IPAddress.TryParse(ComputerName, out IPAddress? address))
        {
            return address;
        }

        try
        {
            IPAddress[] all = Dns.GetHostAddresses(ComputerName);
            return all.FirstOrDefault(a => SourceAddress is null || a.AddressFamily == SourceAddress.AddressFamily) ?? all.FirstOrDefault();
        }
        catch (SocketException e)
        {
            WriteError(new ErrorRecord(e, "NameNotResolved", ErrorCategory.ObjectNotFound, ComputerName));
            return null;
        }
    }

    private Dictionary<string, long> ReadCounters()
    {
        try
        {
            return MptcpCounterCatalog.Read().ToDictionary(kv => kv.Key, kv => kv.Value);
        }
        catch (Exception e) when (e is System.IO.IOException or UnauthorizedAccessException or FormatException)
        {
            WriteVerbose($"Counters unreadable, the fallback reason will rest on the socket alone: {e.Message}");
            return new Dictionary<string, long>();
        }
    }
}
