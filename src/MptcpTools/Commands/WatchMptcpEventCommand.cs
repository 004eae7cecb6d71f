using System;
using System.Diagnostics;
using System.Management.Automation;
using System.Threading;
using MptcpTools.Kernel;

namespace MptcpTools.Commands;

/// <summary>Watch-MptcpEvent: stream the in-kernel path manager's events (`ip mptcp monitor`).</summary>
[Cmdlet(VerbsCommon.Watch, "MptcpEvent")]
[OutputType(typeof(MptcpEvent))]
public sealed class WatchMptcpEventCommand : MptcpCmdlet
{
    /// <summary>Stop after this long. Numbers are seconds.</summary>
    [Parameter]
    [SecondsTransformation]
    [ValidateDuration]
    public TimeSpan? Duration { get; set; }

    /// <summary>Stop after this many events.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int? Count { get; set; }

    /// <summary>Only events of these types.</summary>
    [Parameter(Position = 0)]
    public MptcpEventType[]? Type { get; set; }

    private volatile bool _stopped;

    protected override void EndProcessing()
    {
        MptcpEventStream? stream = null;
        try
        {
            stream = MptcpEventStream.Open(TimeSpan.FromMilliseconds(200));
        }
        catch (Exception e) when (KernelErrors.IsExpected(e))
        {
            ErrorRecord record = KernelErrors.ToErrorRecord(e, "mptcp_pm_events");
            if (e is KernelException { Errno: Errnos.EPERM })
            {
                record.ErrorDetails = new ErrorDetails("Listening to MPTCP events needs CAP_NET_ADMIN (the kernel answered EPERM to joining mptcp_pm_events). Run as root.");
            }

            ThrowTerminatingError(record);
        }

        using (stream)
        {
            var countdown = new Countdown(this, "Watch-MptcpEvent");
            if (Duration is { } length)
            {
                countdown.Start("Listening to the path manager's events", length);
            }

            try
            {
                Listen(stream!, countdown);
            }
            finally
            {
                countdown.Complete();
            }
        }
    }

    private void Listen(MptcpEventStream stream, Countdown countdown)
    {
        var clock = Stopwatch.StartNew();
        int written = 0, overruns = 0;
        while (!_stopped && (Duration is not { } d || clock.Elapsed < d))
        {
            countdown.Show();
            System.Collections.Generic.IReadOnlyList<MptcpEvent> batch = Array.Empty<MptcpEvent>();
            if (!TryKernel("mptcp_pm_events", () => batch = stream.Next()))
            {
                return;
            }

            if (stream.Overruns > overruns)
            {
                overruns = stream.Overruns;
                WriteWarning("The kernel dropped MPTCP events (ENOBUFS): events came faster than they were read.");
            }

            foreach (MptcpEvent e in batch)
            {
                if (Type is not null && Array.IndexOf(Type, e.Type) < 0)
                {
                    continue;
                }

                WriteObject(e);
                if (Count is { } c && ++written >= c)
                {
                    return;
                }
            }
        }
    }

    protected override void StopProcessing() => _stopped = true;
}
