using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.IO;
using System.Management.Automation;
using System.Management.Automation.Host;
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
    [ValidateNotNullOrEmpty]
    [ValidateInterface(AllowAny = true)]
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

    /// <summary>Keep a file that is already at -SaveAs: SaveFileExists instead of writing over it, as Out-File -NoClobber.</summary>
    [Parameter]
    public SwitchParameter NoClobber { get; set; }

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
        if (savePath is not null && NoClobber && (System.IO.File.Exists(savePath) || System.IO.Directory.Exists(savePath)))
        {
            ThrowTerminatingError(SaveFileExists(savePath));
        }

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
        // Summaries are results, never dropped: the capture waits for room instead (the kernel's buffer then fills, and
        // what it drops is counted and said). Those taken when the capture is ending wait here, and go out after the queue.
        var ending = new ManualResetEventSlim();
        var aside = new System.Collections.Concurrent.ConcurrentQueue<MptcpConnectionSummary>();
        long queueDrops = 0;
        long received = 0, dropped = 0, ifDropped = 0;
        bool ended = false;
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
                writer = savePath is null ? null : new PcapNgWriter(savePath, SnapLength, overwrite: !NoClobber);
            }
            catch (Exception e) when (e is System.IO.IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
            {
                capture.Dispose();
                // Made while the capture opened: -NoClobber keeps it all the same.
                ThrowTerminatingError(NoClobber && System.IO.File.Exists(savePath) ? SaveFileExists(savePath!) : new ErrorRecord(e, "SaveFailed", ErrorCategory.WriteError, savePath));
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
                        foreach (MptcpConnectionSummary endedSummary in processor.Tracker.TakeEndedSummaries())
                        {
                            while (!queue.TryAdd(endedSummary, 50))
                            {
                                if (ending.IsSet || _stopped.IsSet)
                                {
                                    aside.Enqueue(endedSummary);
                                    break;
                                }
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

            var countdown = new Countdown(this, "Watch-MptcpPackets");
            if (Summary && Duration is { } length)
            {
                countdown.Start($"Capturing on {string.Join(", ", names)}", length);
            }

            // At a terminal, Ctrl+C is read as a key while the capture runs, so that it ends the capture as -Duration
            // would: what was seen so far still goes out as objects, with the counts (tcpdump prints its counts too).
            using var ctrlC = ControlCAsInput.TryTake(Host);
            bool saidSaveFailure = false;
            try
            {
                // The stop conditions are checked on every pass: a busy link, or a slow pipeline, must not keep the
                // capture past -Duration.
                while (!_stopped.IsSet && !(Duration is { } d && clock.Elapsed >= d) && !(capture.WaitForStop(TimeSpan.Zero) && queue.Count == 0))
                {
                    if (ctrlC?.Pressed() == true)
                    {
                        WriteVerbose("Ctrl+C: the capture ends here.");
                        break;
                    }

                    if (queue.TryTake(out object? next, 100))
                    {
                        WriteObject(next);
                    }

                    if (!saidSaveFailure && saveFailure is not null)
                    {
                        saidSaveFailure = true;
                        WriteError(SaveFailed(saveFailure, savePath));
                    }

                    countdown.Show();
                }
            }
            finally
            {
                countdown.Complete();
            }

            stoppedAt = clock.Elapsed;
            if (saidSaveFailure)
            {
                saveFailure = null;
            }

            ended = !_stopped.IsSet; // stopped: the pipeline takes no more objects
        }
        finally
        {
            ending.Set();
            (received, dropped, ifDropped) = capture.Stop();
            capture.Dispose();
            if (writer is not null && !CloseQuietly(writer, out Exception? closeFailure))
            {
                saveFailure ??= closeFailure;
            }

            queue.CompleteAdding();
            if (!ended)
            {
                // The pipeline is stopping (Ctrl+C where it cannot be read as a key, Select-Object -First, a stopped
                // remote or hosted pipeline): objects can no longer go out, so what was seen is told to the host.
                TellHostOnStop(processor, queue.OfType<MptcpConnectionSummary>().Concat(aside), received, dropped, ifDropped);
            }
        }

        WriteInformation(new HostInformationMessage { Message = Counts(processor, received, dropped, ifDropped) }, new[] { "PSHOST", "CaptureStatistics" });
        if (dropped > 0 || ifDropped > 0)
        {
            WriteWarning($"The kernel dropped {dropped} packets (the interface {ifDropped}) during the capture: the objects miss those packets. A smaller -SnapLength or a narrower -Filter helps.");
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
            foreach (MptcpConnectionSummary summary in aside.Concat(processor.Tracker.Summaries()))
            {
                WriteObject(summary);
            }
        }
    }

    /// <summary>Objects the capture may queue ahead of the pipeline (a few MB of packet objects).</summary>
    public const int MaxQueued = 10_000;

    /// <summary>How long, after the capture ends, objects still queued go out.</summary>
    public static readonly TimeSpan DrainGrace = TimeSpan.FromSeconds(2);

    private static ErrorRecord SaveFileExists(string path) =>
        new(new System.IO.IOException($"-SaveAs '{path}' exists, and -NoClobber keeps it: nothing was captured."), "SaveFileExists", ErrorCategory.ResourceExists, path);

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

    // The line tcpdump prints at its end: what was captured, and what the kernel and the interface dropped.
    private static string Counts(PacketProcessor processor, long received, long dropped, long ifDropped) =>
        $"{processor.TcpSegments} TCP segments captured ({processor.MptcpSegments} with MPTCP options, {processor.Tracker.ConnectionCount} connections); " +
        $"libpcap: {received} packets received, {dropped} dropped by the kernel, {ifDropped} dropped by the interface.";

    private void TellHostOnStop(PacketProcessor processor, IEnumerable<MptcpConnectionSummary> taken, long received, long dropped, long ifDropped)
    {
        try
        {
            if (Summary)
            {
                foreach (MptcpConnectionSummary summary in taken.Concat(processor.Tracker.Summaries()))
                {
                    Host.UI.WriteLine($"{summary} {summary.Detail}");
                }
            }

            Host.UI.WriteLine(Counts(processor, received, dropped, ifDropped));
        }
        catch (Exception e) when (e is HostException or NotImplementedException or PSNotImplementedException or InvalidOperationException)
        {
            // A host without a user interface: nothing more can be told.
        }
    }
}

/// <summary>
/// Ctrl+C taken as a key (Console.TreatControlCAsInput) for the life of this object, where the host is a console
/// whose input is a terminal; null elsewhere, where Ctrl+C stops the pipeline as usual.
/// </summary>
internal sealed class ControlCAsInput : IDisposable
{
    private readonly bool _before;

    private ControlCAsInput(bool before) => _before = before;

    public static ControlCAsInput? TryTake(PSHost host)
    {
        if (host.Name != "ConsoleHost" || Console.IsInputRedirected)
        {
            return null;
        }

        try
        {
            bool before = Console.TreatControlCAsInput;
            Console.TreatControlCAsInput = true;
            return new ControlCAsInput(before);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or PlatformNotSupportedException)
        {
            return null;
        }
    }

    /// <summary>Whether Ctrl+C was pressed; other keys typed meanwhile are read and dropped.</summary>
    public bool Pressed()
    {
        try
        {
            while (Console.KeyAvailable)
            {
                ConsoleKeyInfo key = Console.ReadKey(intercept: true);
                if (key.KeyChar == '\u0003' || (key.Key == ConsoleKey.C && (key.Modifiers & ConsoleModifiers.Control) != 0))
                {
                    return true;
                }
            }
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
        }

        return false;
    }

    public void Dispose()
    {
        try
        {
            Console.TreatControlCAsInput = _before;
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
        }
    }
}
