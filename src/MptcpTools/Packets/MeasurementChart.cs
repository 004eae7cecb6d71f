using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using ScottPlot;
using SkiaSharp;

namespace MptcpTools.Packets;

/// <summary>The image formats a chart is written in.</summary>
public enum ChartFormat
{
    Png,
    Svg,
}

/// <summary>One series of a chart: a subflow, drawn in one colour.</summary>
public sealed class MptcpChartSeries
{
    public int Connection { get; internal set; }
    public int Subflow { get; internal set; }
    public string Name { get; internal set; } = "";
    /// <summary>Its colour, #rrggbb.</summary>
    public string Color { get; internal set; } = "";

    public override string ToString() => $"{Name} {Color}";
}

/// <summary>A chart written to a file.</summary>
public sealed class MptcpChart
{
    public string Path { get; internal set; } = "";
    public ChartFormat Format { get; internal set; }
    public int Width { get; internal set; }
    public int Height { get; internal set; }
    public MptcpChartSeries[] Series { get; internal set; } = Array.Empty<MptcpChartSeries>();
    /// <summary>The direction charted: the one that carried the most data.</summary>
    public MptcpDataDirection[] Directions { get; internal set; } = Array.Empty<MptcpDataDirection>();

    public override string ToString() => Path;
}

/// <summary>
/// Draws measured connections with ScottPlot (SkiaSharp): above, each subflow's throughput stacked up to the
/// connection's, with subflow establishment, MP_PRIO changes and reinjections marked; below, the data sequence
/// number each subflow reached over time. SkiaSharp's native library loads only when a chart is drawn.
/// </summary>
public static class MeasurementChart
{
    // Tableau 10: distinct, and readable by most colour-blind eyes.
    private static readonly string[] Palette =
    {
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    };

    public static ChartFormat FormatOf(string path) => System.IO.Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".png" => ChartFormat.Png,
        ".svg" => ChartFormat.Svg,
        _ => throw new ArgumentException($"'{path}' ends in neither .png nor .svg: the extension says which format to write."),
    };

    public static MptcpChart Write(IReadOnlyList<MptcpConnectionMeasurement> connections, string path, int width, int height)
    {
        ChartFormat format = FormatOf(path);
        var series = new List<MptcpChartSeries>();
        var directions = new List<MptcpDataDirection>();
        var throughput = new Plot();
        var sequence = new Plot();
        int colour = 0;
        foreach (MptcpConnectionMeasurement c in connections)
        {
            MptcpDataDirection direction = c.BytesFromServer > c.BytesFromClient ? MptcpDataDirection.ServerToClient : MptcpDataDirection.ClientToServer;
            directions.Add(direction);
            string prefix = connections.Count > 1 ? $"connection {c.Id}, " : "";
            double[] times = c.Throughput.Where(s => s.Direction == direction).Select(s => s.Offset).Distinct().OrderBy(t => t).ToArray();
            double[] below = new double[times.Length];
            var index = times.Select((t, i) => (t, i)).ToDictionary(x => x.t, x => x.i);
            foreach (MptcpSubflowMeasurement s in c.Subflows)
            {
                string hex = Palette[colour++ % Palette.Length];
                Color color = Color.FromHex(hex);
                string name = $"{prefix}subflow {s.Stream} ({s.ClientAddress})";
                series.Add(new MptcpChartSeries { Connection = c.Id, Subflow = s.Stream, Name = name, Color = hex });
                MptcpThroughputSample[] samples = c.Throughput.Where(x => x.Subflow == s.Stream && x.Direction == direction).ToArray();
                double[] above = (double[])below.Clone();
                foreach (MptcpThroughputSample x in samples)
                {
                    above[index[x.Offset]] += x.BitsPerSecond / 1e6;
                }

                if (times.Length > 0)
                {
                    var band = throughput.Add.FillY(times, below, above);
                    band.FillColor = color.WithAlpha(0.6);
                    band.LineColor = color;
                    band.LegendText = name;
                }

                below = above;

                // A joined subflow's establishment: a dashed line in its colour (the initial one opens the chart).
                if (!s.Initial && (s.EstablishedAt ?? s.FirstSeen) is var up && up >= c.FirstSeen)
                {
                    var line = throughput.Add.VerticalLine((up - c.FirstSeen).TotalSeconds, 1, color, LinePattern.Dashed);
                    line.Text = $"subflow {s.Stream} up";
                    line.LabelOppositeAxis = true;
                }

                MptcpThroughputSample[] reached = samples.Where(x => x.DataSequence is not null).ToArray();
                if (reached.Length > 0)
                {
                    var dsn = sequence.Add.Scatter(reached.Select(x => x.Offset + x.IntervalSeconds).ToArray(),
                        reached.Select(x => (double)x.DataSequence!.Value / 1e6).ToArray(), color);
                    dsn.LineWidth = 0;
                    dsn.MarkerSize = 4;
                    dsn.LegendText = name;
                }
            }

            if (times.Length > 0)
            {
                var total = throughput.Add.ScatterLine(times, below, Colors.Black);
                total.LineWidth = 1.5f;
                total.LegendText = $"{prefix}connection";
            }

            foreach (MptcpPriorityChange p in c.PriorityChanges)
            {
                var line = throughput.Add.VerticalLine((p.Time - c.FirstSeen).TotalSeconds, 1.5f, Colors.DarkOrange, LinePattern.Dotted);
                line.Text = $"MP_PRIO {(p.Backup ? "backup" : "non-backup")} on {p.Subflow}";
            }

            MptcpReinjection[] reinjected = c.ReinjectedSegments.Where(r => r.Direction == direction).ToArray();
            if (reinjected.Length > 0)
            {
                double top = below.Length > 0 ? below.Max() : 1;
                var marks = throughput.Add.Markers(reinjected.Select(r => (r.Time - c.FirstSeen).TotalSeconds).ToArray(),
                    reinjected.Select(_ => top * 1.03).ToArray(), MarkerShape.FilledTriangleDown, 7, Colors.Red);
                marks.LegendText = $"{prefix}reinjections ({c.Reinjections})";
            }
        }

        throughput.Title("Throughput per subflow, stacked");
        throughput.YLabel("Mbit/s");
        throughput.Axes.Bottom.Label.Text = "seconds";
        throughput.ShowLegend(Alignment.UpperRight);
        sequence.Title("Data sequence number reached");
        sequence.YLabel("DSN (MB, relative)");
        sequence.Axes.Bottom.Label.Text = "seconds";
        sequence.ShowLegend(Alignment.LowerRight);
        sequence.Axes.Link(throughput, x: true, y: false);

        string full = System.IO.Path.GetFullPath(path);
        string temporary = full + ".tmp-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        try
        {
            using (FileStream stream = File.Create(temporary))
            {
                if (format == ChartFormat.Png)
                {
                    using SKSurface surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
                    Draw(surface.Canvas, throughput, sequence, width, height);
                    using SKImage image = surface.Snapshot();
                    using SKData data = image.Encode(SKEncodedImageFormat.Png, 100);
                    data.SaveTo(stream);
                }
                else
                {
                    using (SKCanvas canvas = SKSvgCanvas.Create(new SKRect(0, 0, width, height), stream))
                    {
                        Draw(canvas, throughput, sequence, width, height);
                    }
                }
            }

            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }

        return new MptcpChart
        {
            Path = full, Format = format, Width = width, Height = height, Series = series.ToArray(), Directions = directions.ToArray(),
        };
    }

    private static void Draw(SKCanvas canvas, Plot top, Plot bottom, int width, int height)
    {
        canvas.Clear(SKColors.White);
        float half = height * 0.55f;
        // Each plot fills its figure background over the whole canvas: a clip keeps it to its own panel.
        foreach ((Plot plot, PixelRect rect) in new[] { (top, new PixelRect(0, width, half, 0)), (bottom, new PixelRect(0, width, height, half)) })
        {
            canvas.Save();
            canvas.ClipRect(new SKRect(rect.Left, rect.Top, rect.Right, rect.Bottom));
            plot.Render(canvas, rect);
            canvas.Restore();
        }
    }
}
