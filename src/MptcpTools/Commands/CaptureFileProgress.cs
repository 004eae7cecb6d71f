using System;
using System.Diagnostics;
using System.Management.Automation;
using MptcpTools.Packets;

namespace MptcpTools.Commands;

/// <summary>The progress bar of reading one capture file: how far into the file, frames and connections so far.</summary>
internal sealed class CaptureFileProgress
{
    private readonly Action<ProgressRecord> _write;
    private readonly ProgressRecord _record;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _last;
    private bool _shown;

    public CaptureFileProgress(int activityId, string activity, Action<ProgressRecord> write)
    {
        _record = new ProgressRecord(activityId, activity, "Starting");
        _write = write;
    }

    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Called for every frame; writes at most twice a second.</summary>
    public void Frame(long number, CaptureFileReader reader, int connections)
    {
        // The clock is read every 65536 frames, not every frame: clock_gettime per frame is a visible cost.
        if ((number & 0xffff) != 0 || _clock.ElapsedMilliseconds - _last < 500 || reader.FileSize <= 0)
        {
            return;
        }

        _last = _clock.ElapsedMilliseconds;
        _shown = true;
        _record.PercentComplete = (int)Math.Min(100, reader.Position * 100 / reader.FileSize);
        _record.StatusDescription = $"{number:N0} frames, {connections:N0} connections";
        _write(_record);
    }

    /// <summary>Takes the bar away, when one was shown.</summary>
    public void Complete()
    {
        if (_shown)
        {
            _record.RecordType = ProgressRecordType.Completed;
            _write(_record);
        }
    }
}
