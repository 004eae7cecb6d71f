using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using MptcpTools.Packets;

namespace MptcpTools.Commands;

/// <summary>Watch-MptcpPackets: capture live, decode MPTCP options as packets arrive, follow connections.</summary>
[Cmdlet(VerbsCommon.Watch, "MptcpPackets")]
[OutputType(typeof(MptcpPacket), typeof(MptcpConnectionSummary))]
public sealed class WatchMptcpPacketsCommand : MptcpCmdlet
{
    /// <summary>Interfaces to capture on; "any" (the default) is every interface.</summary>
    [Parameter(Position = 0)]
    [ArgumentCompleter(typeof(InterfaceNameCompleter))]
    public string[] Interface { get; set; } = { "any" };

    /// <summary>Only TCP segments to or from these ports.</summary>
    [Parameter]
    [ValidateRange(1, 65535)]
    public int[]? Port { get; set; }

    /// <summary>A BPF filter (tcpdump syntax), combined with -Port and with "tcp".</summary>
    [Parameter]
    public string? Filter { get; set; }

    /// <summary>Stop after this long. Numbers are seconds.</summary>
    [Parameter]
    [SecondsTransformation]
    [ValidateDuration]
    public TimeSpan? Duration { get; set; }

    /// <summary>Stop after this many packet objects (with -Summary: TCP segments).</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int? Count { get; set; }

    [Parameter]
    [ValidateRange(64, 262144)]
    public int SnapLength { get; set; } = 262144;

    /// <summary>Also write every captured frame to this pcapng file.</summary>
    [Parameter]
    public string? SaveAs { get; set; }

    [Parameter]
    public SwitchParameter Summary { get; set; }

    [Parameter]
    public SwitchParameter IncludePlainTcp { get; set; }

    private readonly ManualResetEventSlim _stopped = new();

    /// <summary>The BPF expression the capture uses, from -Filter and -Port.</summary>
    public static string BuildFilter(string? filter, IReadOnlyList<int>? ports)
    {
        string expression = "tcp";
        if (ports is { Count: > 0 })
        {
            expression += " and (" + string.Join(" or ", ports.Select(p => $"port {p}")) + ")";
        }

        if (!string.IsNullOrWhiteSpace(filter))
        {
            expression += $" and ({filter})";
        }

        return expression;
    }

    protected override void EndProcessing()
    {
        string bpf = BuildFilter(Filter, Port);
        string? savePath = SaveAs is null ? null : GetUnresolvedProviderPathFromPSPath(SaveAs);
        LiveCapture capture;
        try
        {
            capture = LiveCapture.Open(Interface, SnapLength, bpf);
        }
        catch (CaptureException e)
        {
            ThrowTerminatingError(CaptureErrors.ToErrorRecord(e, string.Join(",", Interface)));
            return;
        }

        WriteVerbose($"Capturing on {string.Join(", ", capture.Interfaces)} with filter '{bpf}'.");
        var processor = new PacketProcessor();
        var queue = new BlockingCollection<MptcpPacket>();
        PcapNgWriter? writer = null;
        long written = 0;
        int limit = Count ?? int.MaxValue;
        string[] names = capture.Interfaces.ToArray();
        try
        {
            try
            {
                writer = savePath is null ? null : new PcapNgWriter(savePath, SnapLength);
            }
            catch (Exception e) when (e is System.IO.IOException or UnauthorizedAccessException)
            {
                capture.Dispose();
                ThrowTerminatingError(new ErrorRecord(e, "SaveFailed", ErrorCategory.WriteError, savePath));
            }

            capture.Start((linkType, frame, timestamp, number) =>
            {
                writer?.Write(linkType, names.Length == 1 ? names[0] : "any", frame, frame.Length, timestamp);
                MptcpPacket? packet = processor.Process(linkType, frame, timestamp, number, materialize: !Summary, IncludePlainTcp);
                if (Summary)
                {
                    return processor.TcpSegments < limit;
                }

                if (packet is not null)
                {
                    // Several interfaces' threads may reach here one after another: never pass the limit.
                    if (Interlocked.Increment(ref written) > limit)
                    {
                        return false;
                    }

                    queue.Add(packet);
                    return Interlocked.Read(ref written) < limit;
                }

                return true;
            });

            var clock = Stopwatch.StartNew();
            // The stop conditions are checked on every pass: a busy link must not keep the capture past -Duration.
            while (!_stopped.IsSet && !(Duration is { } d && clock.Elapsed >= d) && !(capture.WaitForStop(TimeSpan.Zero) && queue.Count == 0))
            {
                if (queue.TryTake(out MptcpPacket? next, 100))
                {
                    WriteObject(next);
                }
            }
        }
        finally
        {
            (long received, long dropped, long ifDropped) = capture.Stop();
            capture.Dispose();
            writer?.Dispose();
            queue.CompleteAdding();
            WriteVerbose($"libpcap counted {received} packets received, {dropped} dropped by the kernel, {ifDropped} dropped by the interface.");
            if (dropped > 0 || ifDropped > 0)
            {
                WriteWarning($"The kernel dropped {dropped} packets (the interface {ifDropped}) during the capture: the objects miss those packets. A smaller -SnapLength or a narrower -Filter helps.");
            }
        }

        // Whatever the capture thread queued before the stop still goes out.
        foreach (MptcpPacket rest in queue)
        {
            WriteObject(rest);
        }

        if (capture.Failure is CaptureException failure)
        {
            WriteError(CaptureErrors.ToErrorRecord(failure, string.Join(",", Interface)));
        }
        else if (capture.Failure is { } other)
        {
            // A write error of -SaveAs, or anything else that stopped the capture thread.
            WriteError(new ErrorRecord(other, other is System.IO.IOException ? "SaveFailed" : "CaptureFailed", ErrorCategory.WriteError, savePath ?? string.Join(",", Interface)));
        }

        if (Summary)
        {
            foreach (MptcpConnectionSummary summary in processor.Tracker.Summaries())
            {
                WriteObject(summary);
            }
        }
    }

    protected override void StopProcessing() => _stopped.Set();
}
