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
        // With -Summary a connection that ended long ago goes out during the capture, and leaves the tracker.
        processor.Tracker.KeepEnded = Summary;
        // Bounded: a pipeline slower than the link would otherwise hold every packet of the capture. What does not fit
        // is counted and said, as tcpdump says what the kernel dropped.
        var queue = new BlockingCollection<object>(MaxQueued);
        long queueDrops = 0;
        PcapNgWriter? writer = null;
        Exception? saveFailure = null;
        long written = 0;
        int limit = Count ?? int.MaxValue;
        string[] names = capture.Interfaces.ToArray();
        var clock = Stopwatch.StartNew();
        TimeSpan stoppedAt = TimeSpan.MaxValue;
        try
        {
            try
            {
                writer = savePath is null ? null : new PcapNgWriter(savePath, SnapLength);
            }
            catch (Exception e) when (e is System.IO.IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
            {
                capture.Dispose();
                ThrowTerminatingError(new ErrorRecord(e, "SaveFailed", ErrorCategory.WriteError, savePath));
            }

            capture.Start((linkType, frame, timestamp, number) =>
            {
                if (writer is not null)
                {
                    try
                    {
                        writer.Write(linkType, names.Length == 1 ? names[0] : "any", frame, frame.Length, timestamp);
                    }
                    catch (Exception e) when (e is System.IO.IOException or UnauthorizedAccessException)
                    {
                        // The file is lost (a full disk, /dev/full), not the capture: it goes on, and the error is told once.
                        saveFailure = e;
                        CloseQuietly(writer);
                        writer = null;
                    }
                }

                MptcpPacket? packet = processor.Process(linkType, frame, timestamp, number, materialize: !Summary, IncludePlainTcp);
                if (Summary)
                {
                    if (processor.Tracker.HasEnded)
                    {
                        foreach (MptcpConnectionSummary ended in processor.Tracker.TakeEndedSummaries())
                        {
                            if (!queue.TryAdd(ended))
                            {
                                Interlocked.Increment(ref queueDrops);
                            }
                        }
                    }

                    return processor.TcpSegments < limit;
                }

                if (packet is not null)
                {
                    // The handler runs under the capture's lock: one interface's thread at a time, never past the limit.
                    if (Interlocked.Read(ref written) >= limit)
                    {
                        return false;
                    }

                    if (!queue.TryAdd(packet))
                    {
                        Interlocked.Increment(ref queueDrops);
                        return true;
                    }

                    return Interlocked.Increment(ref written) < limit;
                }

                return true;
            });

            // The stop conditions are checked on every pass: a busy link, or a slow pipeline, must not keep the capture past -Duration.
            bool saidSaveFailure = false;
            while (!_stopped.IsSet && !(Duration is { } d && clock.Elapsed >= d) && !(capture.WaitForStop(TimeSpan.Zero) && queue.Count == 0))
            {
                if (queue.TryTake(out object? next, 100))
                {
                    WriteObject(next);
                }

                if (!saidSaveFailure && saveFailure is not null)
                {
                    saidSaveFailure = true;
                    WriteError(SaveFailed(saveFailure, savePath));
                }
            }

            stoppedAt = clock.Elapsed;
            if (saidSaveFailure)
            {
                saveFailure = null;
            }
        }
        finally
        {
            (long received, long dropped, long ifDropped) = capture.Stop();
            capture.Dispose();
            if (writer is not null && !CloseQuietly(writer, out Exception? closeFailure))
            {
                saveFailure ??= closeFailure;
            }

            queue.CompleteAdding();
            WriteVerbose($"libpcap counted {received} packets received, {dropped} dropped by the kernel, {ifDropped} dropped by the interface.");
            if (dropped > 0 || ifDropped > 0)
            {
                WriteWarning($"The kernel dropped {dropped} packets (the interface {ifDropped}) during the capture: the objects miss those packets. A smaller -SnapLength or a narrower -Filter helps.");
            }
        }

        // What the capture thread queued before the stop still goes out, for a moment only: a slow pipeline must not hold
        // the cmdlet long past -Duration. Packets still queued then are counted; summaries (results, bounded) all go out.
        long leftOver = 0;
        foreach (object rest in queue.GetConsumingEnumerable())
        {
            if (rest is MptcpPacket && clock.Elapsed - stoppedAt > DrainGrace)
            {
                leftOver++;
                continue;
            }

            WriteObject(rest);
        }

        long drops = Interlocked.Read(ref queueDrops);
        if (drops > 0 || leftOver > 0)
        {
            WriteWarning($"{drops + leftOver} {(Summary ? "objects" : "packet objects")} were not written: the pipeline took them more slowly than the capture made them " +
                $"({drops} did not fit the queue of {MaxQueued:N0}, {leftOver} were still queued {DrainGrace.TotalSeconds:N0} s after the capture ended). " +
                "A narrower -Filter or -Port, -Summary, or a faster consumer (no Format-Table or Write-Host per object) helps.");
        }

        if (saveFailure is not null)
        {
            WriteError(SaveFailed(saveFailure, savePath));
        }

        if (capture.Failure is CaptureException failure)
        {
            WriteError(CaptureErrors.ToErrorRecord(failure, string.Join(",", Interface)));
        }
        else if (capture.Failure is { } other)
        {
            WriteError(new ErrorRecord(other, "CaptureFailed", ErrorCategory.ReadError, string.Join(",", Interface)));
        }

        if (Summary)
        {
            foreach (MptcpConnectionSummary summary in processor.Tracker.Summaries())
            {
                WriteObject(summary);
            }
        }
    }

    /// <summary>Objects the capture may queue ahead of the pipeline (a few MB of packet objects).</summary>
    public const int MaxQueued = 10_000;

    /// <summary>How long, after the capture ends, objects still queued go out.</summary>
    public static readonly TimeSpan DrainGrace = TimeSpan.FromSeconds(2);

    private static ErrorRecord SaveFailed(Exception e, string? path) =>
        new(new System.IO.IOException($"-SaveAs '{path}' could not be written: {e.Message} The capture went on without it; the objects are complete.", e),
            "SaveFailed", ErrorCategory.WriteError, path);

    private static void CloseQuietly(PcapNgWriter writer) => CloseQuietly(writer, out _);

    // Closing flushes what is buffered, which fails again on a full disk: that failure is the one the caller reports.
    private static bool CloseQuietly(PcapNgWriter writer, out Exception? failure)
    {
        failure = null;
        try
        {
            writer.Dispose();
            return true;
        }
        catch (Exception e) when (e is System.IO.IOException or UnauthorizedAccessException)
        {
            failure = e;
            return false;
        }
    }

    protected override void StopProcessing() => _stopped.Set();
}
