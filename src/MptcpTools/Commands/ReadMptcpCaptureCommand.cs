using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Management.Automation;
using MptcpTools.Packets;

namespace MptcpTools.Commands;

/// <summary>Read-MptcpCapture: decode the MPTCP options of a pcap or pcapng file, and follow its connections.</summary>
[Cmdlet(VerbsCommunications.Read, "MptcpCapture", DefaultParameterSetName = "Path")]
[OutputType(typeof(MptcpPacket), typeof(MptcpConnectionSummary))]
public sealed class ReadMptcpCaptureCommand : CaptureFileCmdlet
{
    /// <summary>Write every TCP segment, not only those with MPTCP options.</summary>
    [Parameter]
    public SwitchParameter IncludePlainTcp { get; set; }

    /// <summary>Write one object per connection (MPTCP and plain TCP) instead of one per packet.</summary>
    [Parameter]
    public SwitchParameter Summary { get; set; }

    protected override void ProcessRecord()
    {
        foreach (string file in ResolvePaths())
        {
            ReadFile(file);
        }
    }

    private void ReadFile(string file)
    {
        var reader = new CaptureFileReader(file);
        var processor = new PacketProcessor();
        // With -Summary a connection that ended long ago goes out while the file is read, and leaves the tracker.
        processor.Tracker.KeepEnded = Summary;
        var progress = new CaptureFileProgress(1, "Reading " + file, WriteProgress);
        try
        {
            reader.Read((linkType, frame, timestamp, number) =>
            {
                MptcpPacket? packet = processor.Process(linkType, frame, timestamp, number, materialize: !Summary, IncludePlainTcp);
                if (packet is not null)
                {
                    WriteObject(packet);
                }
                else if (processor.Tracker.HasEnded)
                {
                    WriteSummaries(processor.Tracker.TakeEndedSummaries());
                }

                progress.Frame(number, reader, processor.Tracker.ConnectionCount);

                return true;
            });
        }
        catch (CaptureException e)
        {
            // The frames before the damage count: their summaries still go out, then the error.
            WriteSummaries(processor);
            WriteTimestampProblem(reader, file);
            WriteError(CaptureErrors.ToErrorRecord(e, file));
            return;
        }
        finally
        {
            progress.Complete();
        }

        WriteSummaries(processor);
        WriteTimestampProblem(reader, file);
        WriteVerbose($"{file}: {reader.Frames} frames, {processor.TcpSegments} TCP segments, {processor.MptcpSegments} with MPTCP options, {processor.Tracker.ConnectionCount} connections.");
    }

    // What is left at the end: the connections that left the tracker and were not written yet, then those it holds.
    private void WriteSummaries(PacketProcessor processor)
    {
        if (Summary)
        {
            WriteSummaries(processor.Tracker.TakeEndedSummaries());
            WriteSummaries(processor.Tracker.Summaries());
        }
    }

    private void WriteSummaries(IEnumerable<MptcpConnectionSummary> summaries)
    {
        foreach (MptcpConnectionSummary summary in summaries)
        {
            WriteObject(summary);
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
