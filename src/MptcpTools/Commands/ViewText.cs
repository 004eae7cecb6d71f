using System;
using System.Collections.Generic;
using System.Text;

namespace MptcpTools.Commands;

/// <summary>
/// Text laid out for the default views (MptcpTools.format.ps1xml). PowerShell's own wrapping splits words
/// mid-way ("MP" / "TCP"), so the views wrap their long columns here, at spaces, to a width that fits 80 columns;
/// the table then has nothing left to split.
/// </summary>
public static class ViewText
{
    /// <summary>
    /// <paramref name="text"/> in lines of at most <paramref name="width"/> characters, broken at spaces; a word
    /// longer than the width keeps a line of its own. Line breaks already in the text are kept.
    /// </summary>
    public static string Wrap(object? text, int width)
    {
        string value = text?.ToString() ?? "";
        if (value.Length <= width && value.IndexOf('\n') < 0)
        {
            return value;
        }

        var lines = new List<string>();
        foreach (string paragraph in value.Replace("\r", "").Split('\n'))
        {
            var line = new StringBuilder();
            foreach (string word in paragraph.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (line.Length > 0 && line.Length + 1 + word.Length > width)
                {
                    lines.Add(line.ToString());
                    line.Clear();
                }

                line.Append(line.Length > 0 ? " " : "").Append(word);
            }

            lines.Add(line.ToString());
        }

        return string.Join("\n", lines);
    }

    /// <summary>An address and port as ss prints them: "192.0.2.2:5201", "[2001:db8::2]:5201".</summary>
    public static string Endpoint(System.Net.IPAddress? address, int port) =>
        address is null ? "" : address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]:{port}" : $"{address}:{port}";

    /// <summary>Two ends, the second under the first: "CLIENT >" then "SERVER", so that each stays whole in a narrow column.</summary>
    public static string Flow(string from, string to) => $"{from} >\n{to}";
}
