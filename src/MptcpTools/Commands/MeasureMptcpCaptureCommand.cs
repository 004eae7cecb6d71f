using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Management.Automation;
using MptcpTools.Packets;

namespace MptcpTools.Commands;

/// <summary>Measure-MptcpCapture: the data level of each MPTCP connection in a capture file.</summary>
[Cmdlet(VerbsDiagnostic.Measure, "MptcpCapture", DefaultParameterSetName = "Path")]
[OutputType(typeof(MptcpConnectionMeasurement))]
public sealed class MeasureMptcpCaptureCommand : CaptureFileCmdlet
{
    /// <summary>The length of one interval of the throughput series (plain numbers are seconds).</summary>
    [Parameter]
    [SecondsTransformation]
    [ValidateDuration]
    public TimeSpan Interval { get; set; } = TimeSpan.FromMilliseconds(100);

    protected override void BeginProcessing()
    {
        if (Interval < TimeSpan.FromMilliseconds(1) || Interval > TimeSpan.FromHours(1))
        {
            ThrowTerminatingError(new ErrorRecord(new ArgumentOutOfRangeException(nameof(Interval), Interval,
                    $"-Interval must be between 1 ms and 1 hour, not {Interval}."),
                "InvalidInterval", ErrorCategory.InvalidArgument, Interval));
        }
    }

    protected override void ProcessRecord()
    {
        foreach (string file in ResolvePaths())
        {
            MeasureFile(file);
        }
    }

    private void MeasureFile(string file)
    {
        var reader = new CaptureFileReader(file);
        var processor = new PacketProcessor(Interval);
        // A connection that ended long ago is measured and written while the file is read, and leaves the tracker.
        processor.Tracker.KeepEnded = true;
        var progress = new CaptureFileProgress(2, "Measuring " + file, WriteProgress);
        try
        {
            reader.Read((linkType, frame, timestamp, number) =>
            {
                processor.Process(linkType, frame, timestamp, number, materialize: false, includePlainTcp: false);
                if (processor.Tracker.HasEnded)
                {
                    WriteMeasurements(processor.Tracker.TakeEndedMeasurements(file));
                }
                progress.Frame(number, reader, processor.Tracker.ConnectionCount);

                return true;
            });
        }
        catch (CaptureException e)
        {
            // What came before the damage is measured all the same, then the error.
            WriteMeasurements(processor, file);
            WriteTimestampProblem(reader, file);
            WriteError(CaptureErrors.ToErrorRecord(e, file));
            return;
        }
        finally
        {
            progress.Complete();
        }

        WriteMeasurements(processor, file);
        WriteTimestampProblem(reader, file);
        WriteVerbose($"{file}: {reader.Frames} frames, {processor.TcpSegments} TCP segments, {processor.MptcpSegments} with MPTCP options, {progress.Elapsed.TotalSeconds:F2} s.");
    }

    private void WriteMeasurements(PacketProcessor processor, string file)
    {
        WriteMeasurements(processor.Tracker.TakeEndedMeasurements(file));
        WriteMeasurements(processor.Tracker.Measurements(file));
    }

    private void WriteMeasurements(IEnumerable<MptcpConnectionMeasurement> measurements)
    {
        foreach (MptcpConnectionMeasurement measurement in measurements)
        {
            WriteObject(measurement);
        }
    }

    private void WriteTimestampProblem(CaptureFileReader reader, string file)
    {
        if (reader.TimestampProblem is { } problem)
        {
            WriteError(CaptureErrors.ToErrorRecord(problem, file));
        }
    }
}
