using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;

namespace MptcpTools.Commands;

/// <summary>
/// Write-Progress for waits of known length: what is awaited and the seconds left. <see cref="Start"/> may be
/// called from any thread (a worker learns when its wait begins); everything else only from the pipeline thread.
/// </summary>
internal sealed class Countdown
{
    private readonly Cmdlet _cmdlet;
    private readonly ProgressRecord _record;
    private readonly object _gate = new();
    private string? _status;
    private long _started;
    private TimeSpan _length;
    private bool _shown;

    public Countdown(Cmdlet cmdlet, string activity, int activityId = 1)
    {
        _cmdlet = cmdlet;
        _record = new ProgressRecord(activityId, activity, "Starting");
    }

    /// <summary>A wait of <paramref name="length"/> begins now.</summary>
    public void Start(string status, TimeSpan length)
    {
        lock (_gate)
        {
            _status = status;
            _length = length;
            _started = Stopwatch.GetTimestamp();
        }
    }

    /// <summary>Writes the time left of the current wait, if one has begun.</summary>
    public void Show()
    {
        string status;
        TimeSpan length, elapsed;
        lock (_gate)
        {
            if (_status is null)
            {
                return;
            }

            (status, length, elapsed) = (_status, _length, Stopwatch.GetElapsedTime(_started));
        }

        TimeSpan left = length - elapsed < TimeSpan.Zero ? TimeSpan.Zero : length - elapsed;
        _record.StatusDescription = $"{status}: {Math.Ceiling(left.TotalSeconds):0} s left";
        _record.SecondsRemaining = (int)Math.Ceiling(left.TotalSeconds);
        _record.PercentComplete = length <= TimeSpan.Zero ? 100 : (int)Math.Clamp(elapsed / length * 100, 0, 100);
        _cmdlet.WriteProgress(_record);
        _shown = true;
    }

    /// <summary>Removes the progress bar, if one was shown; quietly when the pipeline is stopping.</summary>
    public void Complete()
    {
        if (!_shown)
        {
            return;
        }

        _record.RecordType = ProgressRecordType.Completed;
        try
        {
            _cmdlet.WriteProgress(_record);
        }
        catch (PipelineStoppedException)
        {
        }
    }

    /// <summary>Waits <paramref name="length"/> showing the time left; false when <paramref name="stop"/> was set first (Ctrl+C).</summary>
    public bool Wait(string status, TimeSpan length, WaitHandle stop)
    {
        Start(status, length);
        var clock = Stopwatch.StartNew();
        try
        {
            while (true)
            {
                Show();
                TimeSpan left = length - clock.Elapsed;
                if (left <= TimeSpan.Zero)
                {
                    return true;
                }

                if (stop.WaitOne(left < TimeSpan.FromMilliseconds(250) ? left : TimeSpan.FromMilliseconds(250)))
                {
                    return false;
                }
            }
        }
        finally
        {
            Complete();
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> on a worker thread while the pipeline thread writes its verbose and warning
    /// messages and the time left. When the pipeline stops, the worker is cancelled (by the cmdlet's token) and
    /// waited for, so that nothing it holds (a capture, a socket) outlives the cmdlet.
    /// </summary>
    public T Run<T>(Func<Action<string>, Action<string>, T> work)
    {
        var messages = new ConcurrentQueue<(bool Warning, string Text)>();
        Task<T> task = Task.Run(() => work(text => messages.Enqueue((false, text)), text => messages.Enqueue((true, text))));
        try
        {
            while (!((IAsyncResult)task).AsyncWaitHandle.WaitOne(100))
            {
                Drain(messages);
                Show();
            }

            Drain(messages);
            return task.GetAwaiter().GetResult();
        }
        catch (PipelineStoppedException)
        {
            ((IAsyncResult)task).AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(10));
            throw;
        }
        finally
        {
            Complete();
        }
    }

    private void Drain(ConcurrentQueue<(bool Warning, string Text)> messages)
    {
        while (messages.TryDequeue(out (bool Warning, string Text) message))
        {
            if (message.Warning)
            {
                _cmdlet.WriteWarning(message.Text);
            }
            else
            {
                _cmdlet.WriteVerbose(message.Text);
            }
        }
    }
}
