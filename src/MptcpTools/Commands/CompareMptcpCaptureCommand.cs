using System;
using System.Linq;
using System.Management.Automation;
using MptcpTools.Packets;

namespace MptcpTools.Commands;

/// <summary>Compare-MptcpCapture: two captures of the same traffic, taken at two points, matched and compared.</summary>
[Cmdlet(VerbsData.Compare, "MptcpCapture")]
[OutputType(typeof(MptcpCaptureDifference), typeof(MptcpSubflowComparison))]
public sealed class CompareMptcpCaptureCommand : MptcpCmdlet
{
    [Parameter(Mandatory = true, Position = 0)]
    public string ReferencePath { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    public string DifferencePath { get; set; } = "";

    /// <summary>Write one object per subflow and direction (counts, one-way delay, and its differences) instead of the differences.</summary>
    [Parameter]
    public SwitchParameter Summary { get; set; }

    private CaptureRecording? _reference;

    protected override void ProcessRecord()
    {
        string referenceFile = GetUnresolvedProviderPathFromPSPath(ReferencePath);
        string differenceFile = GetUnresolvedProviderPathFromPSPath(DifferencePath);
        if (_reference is null || _reference.Name != referenceFile)
        {
            _reference = Read(referenceFile);
            if (_reference is null)
            {
                return;
            }
        }

        CaptureRecording? difference = Read(differenceFile);
        if (difference is null)
        {
            return;
        }

        MptcpCaptureComparison comparison = CaptureComparer.Compare(_reference, difference);
        if (comparison.Subflows.Length == 0)
        {
            WriteNewError("NoConnectionsToCompare", ErrorCategory.InvalidData, referenceFile,
                $"'{referenceFile}' holds no TCP connection to compare.");
            return;
        }

        if (comparison.Subflows.All(s => s.MatchedBy == "NotFound"))
        {
            // Every frame would be reported Lost: far more likely two captures of different traffic than a path that lost everything.
            WriteWarning($"No subflow of '{referenceFile}' was found in '{differenceFile}' (by MPTCP keys, join tokens, SYN sequence numbers or addresses and ports): the captures may not hold the same traffic, and every frame is reported as lost.");
        }

        WriteVerbose(comparison.ClockOffset is { } offset
            ? $"Clock offset (difference minus reference), estimated from the handshakes: {offset.TotalMilliseconds:F3} ms."
            : "No handshake was seen whole in both captures: no clock offset, no one-way delay.");
        foreach (MptcpSubflowComparison subflow in comparison.Subflows)
        {
            if (Summary)
            {
                WriteObject(subflow);
            }
            else
            {
                foreach (MptcpCaptureDifference difference1 in subflow.Differences)
                {
                    WriteObject(difference1);
                }
            }
        }
    }

    private CaptureRecording? Read(string file)
    {
        try
        {
            CaptureRecording recording = CaptureRecording.ReadFile(file);
            if (recording.TimestampProblem is { } problem)
            {
                WriteError(CaptureErrors.ToErrorRecord(problem, file));
            }

            return recording;
        }
        catch (CaptureException e)
        {
            WriteError(CaptureErrors.ToErrorRecord(e, file));
            return null;
        }
    }
}
