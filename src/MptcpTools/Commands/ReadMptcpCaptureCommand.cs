using System;
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
        var progress = new ProgressRecord(1, "Reading " + file, "Starting");
        var clock = Stopwatch.StartNew();
        long lastProgress = 0;
        bool showedProgress = false;
        try
        {
            reader.Read((linkType, frame, timestamp, number) =>
            {
                MptcpPacket? packet = processor.Process(linkType, frame, timestamp, number, materialize: !Summary, IncludePlainTcp);
                if (packet is not null)
                {
                    WriteObject(packet);
                }

                // The clock is read every 65536 frames, not every frame: clock_gettime per frame is a visible cost.
                if ((number & 0xffff) == 0 && clock.ElapsedMilliseconds - lastProgress >= 500 && reader.FileSize > 0)
                {
                    lastProgress = clock.ElapsedMilliseconds;
                    showedProgress = true;
                    progress.PercentComplete = (int)Math.Min(100, reader.Position * 100 / reader.FileSize);
                    progress.StatusDescription = $"{number:N0} frames, {processor.Tracker.ConnectionCount:N0} connections";
                    WriteProgress(progress);
                }

                return true;
            });
        }
        catch (CaptureException e)
        {
            // The frames before the damage count: their summaries still go out, then the error.
            WriteSummaries(processor);
            WriteError(CaptureErrors.ToErrorRecord(e, file));
            return;
        }
        finally
        {
            if (showedProgress)
            {
                progress.RecordType = ProgressRecordType.Completed;
                WriteProgress(progress);
            }
        }

        WriteSummaries(processor);
        WriteVerbose($"{file}: {reader.Frames} frames, {processor.TcpSegments} TCP segments, {processor.MptcpSegments} with MPTCP options, {processor.Tracker.ConnectionCount} connections.");
    }

    private void WriteSummaries(PacketProcessor processor)
    {
        if (Summary)
        {
            foreach (MptcpConnectionSummary summary in processor.Tracker.Summaries())
            {
                WriteObject(summary);
            }
        }
    }
}
