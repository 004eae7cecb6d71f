using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Management.Automation;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using MptcpTools.Diagnosis;
using MptcpTools.Host;
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
    [ValidateDuration(AllowZero = true)]
    public TimeSpan Duration { get; set; } = TimeSpan.Zero;

    /// <summary>How long to wait for the connection. Numbers are seconds.</summary>
    [Parameter]
    [SecondsTransformation]
    [ValidateDuration]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long to wait after connecting for extra subflows, without -Duration. Numbers are seconds.</summary>
    [Parameter]
    [SecondsTransformation]
    [ValidateDuration(AllowZero = true)]
    public TimeSpan SettleTime { get; set; } = TimeSpan.FromSeconds(1);

    private readonly CancellationTokenSource _stop = new();

    protected override void ProcessRecord()
    {
        IPAddress? remote = Resolve();
        if (remote is null)
        {
            return;
        }

        ProbeOutcome outcome;
        var countdown = new Countdown(this, $"Test-MptcpConnectivity {ComputerName}");
        countdown.Start($"Connecting to {remote} port {Port}", Timeout);
        try
        {
            // On a worker, so that this thread shows the time left and the probe ends promptly on Ctrl+C.
            outcome = countdown.Run((_, _) => ConnectivityProbe.Run(remote, Port, SourceAddress, Timeout, Duration, SettleTime, _stop.Token,
                length => countdown.Start(Duration > TimeSpan.Zero ? $"Sending to {remote} port {Port}" : "Waiting for extra subflows", length)));
        }
        catch (KernelException e)
        {
            // Binding to -SourceAddress failed: that is the caller's input, not the peer's fault.
            WriteError(KernelErrors.ToErrorRecord(e, SourceAddress));
            return;
        }

        if (outcome.SendError is not null)
        {
            WriteVerbose($"Sending stopped: {outcome.SendError}");
        }

        WriteObject(ConnectivityJudge.Result(outcome, ComputerName, SourceAddress));
    }

    protected override void StopProcessing() => _stop.Cancel();

    private IPAddress? Resolve()
    {
        try
        {
            return NameResolution.Resolve(ComputerName, SourceAddress?.AddressFamily);
        }
        catch (NameResolutionException e)
        {
            WriteError(new ErrorRecord(e, "NameNotResolved", ErrorCategory.ObjectNotFound, ComputerName));
            return null;
        }
    }
}
