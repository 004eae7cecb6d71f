using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;

namespace MptcpTools.Host;

/// <summary>One line a unit (or systemd about the unit) wrote to the journal.</summary>
public sealed record JournalEntry
{
    public DateTime? Time { get; init; }
    /// <summary>syslog priority: 0 emerg ... 3 err, 4 warning, 6 info, 7 debug.</summary>
    public int? Priority { get; init; }
    /// <summary>Who wrote it: the program (mptcpd) or systemd.</summary>
    public string? Identifier { get; init; }
    public int? ProcessId { get; init; }
    public string Message { get; init; } = "";

    public override string ToString() => $"{Time:yyyy-MM-dd HH:mm:ss} {Identifier}{(ProcessId is { } p ? $"[{p}]" : "")}: {Message}";
}

/// <summary>
/// The journal of a unit, read as journalctl's JSON export (one object per line, fields as the journal
/// stores them), never its text. journalctl is the journal's reader on every systemd host; the output is
/// bounded in lines, bytes and time.
/// </summary>
public static class Journal
{
    private static readonly string[] Paths = { "/usr/bin/journalctl", "/bin/journalctl" };
    private const int MaxBytes = 1 << 20;

    /// <summary>The last <paramref name="lines"/> entries of the unit; none, with a note, when the journal cannot be read.</summary>
    public static (JournalEntry[] Entries, string? Note) ReadUnit(string unit, int lines)
    {
        if (unit.Length == 0 || unit[0] == '-' || !unit.All(c => char.IsAsciiLetterOrDigit(c) || c is '@' or '.' or '_' or ':' or '-' or '\\'))
        {
            return (Array.Empty<JournalEntry>(), $"'{unit}' is not a unit name.");
        }

        string? journalctl = Paths.FirstOrDefault(File.Exists);
        if (journalctl is null)
        {
            return (Array.Empty<JournalEntry>(), "journalctl is not installed: no journal to read.");
        }

        var psi = new ProcessStartInfo(journalctl) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { "--unit", unit, "--output", "json", "--lines", lines.ToString(CultureInfo.InvariantCulture), "--no-pager", "--quiet" })
        {
            psi.ArgumentList.Add(a);
        }

        Process process;
        try
        {
            process = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (Array.Empty<JournalEntry>(), $"journalctl could not be started: {e.Message}");
        }

        using var _ = process;
        var stderr = process.StandardError.ReadToEndAsync();
        var output = new StringBuilder();
        var read = System.Threading.Tasks.Task.Run(() =>
        {
            char[] buffer = new char[8192];
            int n;
            while ((n = process.StandardOutput.Read(buffer, 0, buffer.Length)) > 0)
            {
                if (output.Length < MaxBytes)
                {
                    output.Append(buffer, 0, Math.Min(n, MaxBytes - output.Length));
                }
            }
        });
        if (!process.WaitForExit(10000) || !read.Wait(2000))
        {
            try { process.Kill(true); } catch (InvalidOperationException) { }
            return (Array.Empty<JournalEntry>(), "journalctl did not finish within 10 s.");
        }

        if (process.ExitCode != 0)
        {
            return (Array.Empty<JournalEntry>(), $"journalctl failed ({process.ExitCode}): {stderr.Result.Trim()}");
        }

        return Parse(output.ToString());
    }

    /// <summary>journalctl -o json output: one object per line. A line that is not one is skipped and counted in the note.</summary>
    public static (JournalEntry[] Entries, string? Note) Parse(string json)
    {
        var entries = new List<JournalEntry>();
        int bad = 0;
        foreach (string line in json.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            try
            {
                using JsonDocument doc = JsonDocument.Parse(line);
                JsonElement e = doc.RootElement;
                if (e.ValueKind != JsonValueKind.Object)
                {
                    bad++;
                    continue;
                }

                entries.Add(new JournalEntry
                {
                    // When the writer said when it wrote (as journalctl shows it), else when the journal received it.
                    Time = (Number(e, "_SOURCE_REALTIME_TIMESTAMP") ?? Number(e, "__REALTIME_TIMESTAMP")) is { } us and > 0 and < 253402300799000000
                        ? DateTime.UnixEpoch.AddTicks(us * 10) : null,
                    Priority = Number(e, "PRIORITY") is { } p and >= 0 and <= 7 ? (int)p : null,
                    Identifier = Text(e, "SYSLOG_IDENTIFIER") ?? Text(e, "_COMM"),
                    ProcessId = Number(e, "_PID") is { } pid and > 0 and <= int.MaxValue ? (int)pid : null,
                    Message = Text(e, "MESSAGE") ?? "",
                });
            }
            catch (JsonException)
            {
                bad++;
            }
        }

        return (entries.ToArray(), bad == 0 ? null : $"{bad} journal line(s) were not JSON objects and were left out.");
    }

    // The journal exports a field as a string, as an array of bytes when it is not UTF-8, or as null when too large.
    private static string? Text(JsonElement e, string name)
    {
        if (!e.TryGetProperty(name, out JsonElement v))
        {
            return null;
        }

        return v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Array => Encoding.UTF8.GetString(v.EnumerateArray().Where(b => b.ValueKind == JsonValueKind.Number && b.TryGetByte(out _)).Select(b => b.GetByte()).ToArray()),
            _ => null,
        };
    }

    private static long? Number(JsonElement e, string name) =>
        Text(e, name) is { } s && long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out long n) ? n : null;
}
