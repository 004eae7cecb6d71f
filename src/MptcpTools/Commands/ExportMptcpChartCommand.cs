using System;
using System.Collections.Generic;
using System.IO;
using System.Management.Automation;
using System.Runtime.CompilerServices;
using MptcpTools.Packets;

namespace MptcpTools.Commands;

/// <summary>Export-MptcpChart: draws Measure-MptcpCapture's connections into a PNG or SVG file.</summary>
[Cmdlet(VerbsData.Export, "MptcpChart", SupportsShouldProcess = true)]
[OutputType(typeof(MptcpChart))]
public sealed class ExportMptcpChartCommand : MptcpCmdlet
{
    [Parameter(Mandatory = true, Position = 0)]
    public string Path { get; set; } = "";

    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    public MptcpConnectionMeasurement[] InputObject { get; set; } = Array.Empty<MptcpConnectionMeasurement>();

    [Parameter]
    [ValidateRange(200, 10000)]
    public int Width { get; set; } = 1200;

    [Parameter]
    [ValidateRange(200, 10000)]
    public int Height { get; set; } = 800;

    /// <summary>Leave an existing file alone (an error) instead of replacing it.</summary>
    [Parameter]
    public SwitchParameter NoClobber { get; set; }

    /// <summary>Write the chart's description (its file, size and series colours) to the pipeline.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    private readonly List<MptcpConnectionMeasurement> _connections = new();

    protected override void ProcessRecord()
    {
        foreach (MptcpConnectionMeasurement connection in InputObject)
        {
            if (connection is not null)
            {
                _connections.Add(connection);
            }
        }
    }

    protected override void EndProcessing()
    {
        string file = GetUnresolvedProviderPathFromPSPath(Path);
        try
        {
            MeasurementChart.FormatOf(file);
        }
        catch (ArgumentException e)
        {
            WriteError(new ErrorRecord(e, "InvalidChartPath", ErrorCategory.InvalidArgument, Path)
            {
                ErrorDetails = new ErrorDetails(e.Message) { RecommendedAction = "Name a file that ends in .png or .svg." },
            });
            return;
        }

        if (_connections.Count == 0)
        {
            WriteNewError("NoMeasurements", ErrorCategory.InvalidData, Path,
                "No MPTCP connection came through the pipeline: there is nothing to chart.",
                "Pipe Measure-MptcpCapture's output: Measure-MptcpCapture ./capture.pcap | Export-MptcpChart ./chart.png");
            return;
        }

        if (NoClobber && File.Exists(file))
        {
            WriteNewError("ChartFileExists", ErrorCategory.ResourceExists, file, $"'{file}' exists, and -NoClobber says to leave it.");
            return;
        }

        string? directory = System.IO.Path.GetDirectoryName(file);
        if (directory is not null && !Directory.Exists(directory))
        {
            WriteNewError("ChartWriteFailed", ErrorCategory.ObjectNotFound, file, $"The folder '{directory}' does not exist.");
            return;
        }

        if (!ShouldProcess(file, $"Write a chart of {_connections.Count} connection(s)"))
        {
            return;
        }

        try
        {
            MptcpChart chart = Draw(file);
            if (PassThru)
            {
                WriteObject(chart);
            }
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or BadImageFormatException or EntryPointNotFoundException
            // An assembly that did not load names itself ("SkiaSharp, Version=..."); a file that could not be written names its path.
            || (e is FileNotFoundException or FileLoadException && !IsFilePath(e)))
        {
            // Only charts need SkiaSharp's native library: without it, this cmdlet fails and the rest of the module works.
            WriteError(new ErrorRecord(new InvalidOperationException(
                    $"Charts cannot be drawn here: the SkiaSharp native library (libSkiaSharp) or ScottPlot did not load ({e.GetType().Name}: {e.Message}).", e),
                "ChartLibraryUnavailable", ErrorCategory.NotInstalled, file)
            {
                ErrorDetails = new ErrorDetails("Charts cannot be drawn here: the SkiaSharp native library did not load.")
                {
                    RecommendedAction = "Reinstall the module so that lib/runtimes/<platform>/native/libSkiaSharp.so is there for this platform (linux-x64 or linux-arm64); or export the measurements (Export-Csv) and chart them elsewhere.",
                },
            });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            WriteNewError("ChartWriteFailed", ErrorCategory.WriteError, file, $"The chart could not be written to '{file}': {e.Message}");
        }
    }

    private static bool IsFilePath(Exception e) =>
        ((e as FileNotFoundException)?.FileName ?? (e as FileLoadException)?.FileName) is { } name && System.IO.Path.IsPathRooted(name);

    // Apart, so that ScottPlot and SkiaSharp load when a chart is drawn, inside the handler above, never when this class loads.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private MptcpChart Draw(string file) => MeasurementChart.Write(_connections, file, Width, Height);
}
