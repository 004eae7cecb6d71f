using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using MptcpTools.Kernel;

namespace MptcpTools.Host;

/// <summary>What is wrong in mptcpd's configuration.</summary>
public enum MptcpdProblemKind
{
    UnknownKey,
    UnknownSection,
    InvalidValue,
    ConflictingFlags,
    PluginMissing,
    PluginDirMissing,
    Unreadable,
    SyntaxError,

    /// <summary>No configuration file: mptcpd runs on its defaults and command line (not a problem of the file's content).</summary>
    FileMissing,
}

/// <summary>One problem in mptcpd.conf, with where it is.</summary>
public sealed class MptcpdConfigProblem
{
    public MptcpdConfigProblem(MptcpdProblemKind kind, string file, int line, string message)
    {
        Kind = kind;
        File = file;
        Line = line;
        Message = message;
    }

    public MptcpdProblemKind Kind { get; }
    public string File { get; }
    /// <summary>The line (from 1); 0 when the problem is not on one line (a missing file or directory).</summary>
    public int Line { get; }
    public string Message { get; }

    public override string ToString() => Line > 0 ? $"{File}:{Line}: {Kind}: {Message}" : $"{File}: {Kind}: {Message}";
}

/// <summary>
/// mptcpd's configuration file (/etc/mptcpd/mptcpd.conf, a GLib key file with a [core] section), parsed
/// and checked against what mptcpd 0.12 accepts and against the plug-ins that are really installed.
/// </summary>
public sealed class MptcpdConfig
{
    public const string DefaultPath = "/etc/mptcpd/mptcpd.conf";
    public static readonly string[] KnownKeys = { "log", "plugin-dir", "path-manager", "addr-flags", "notify-flags", "load-plugins" };
    public static readonly string[] LogValues = { "stderr", "syslog", "journal", "null" };
    public static readonly string[] AddrFlags = { "subflow", "signal", "backup", "fullmesh" };
    public static readonly string[] NotifyFlags = { "existing", "skip_link_local", "skip_loopback", "check_route" };

    public string Path { get; private set; } = DefaultPath;
    public bool Exists { get; private set; }
    public string? Log { get; private set; }
    public string? PluginDirectory { get; private set; }
    public string? PathManager { get; private set; }
    public string[] AddressFlags { get; private set; } = Array.Empty<string>();
    public string[] NotifyFlagList { get; private set; } = Array.Empty<string>();
    public string[] LoadPlugins { get; private set; } = Array.Empty<string>();
    /// <summary>The plug-ins found in the plug-in directory (file names without .so).</summary>
    public string[] InstalledPlugins { get; private set; } = Array.Empty<string>();
    public List<MptcpdConfigProblem> Problems { get; } = new();

    /// <summary>Reads and checks the file. Never throws: an unreadable file is a problem like the others.</summary>
    public static MptcpdConfig Read(string path)
    {
        var config = new MptcpdConfig { Path = path };
        string[] lines;
        try
        {
            if (Directory.Exists(path))
            {
                config.Problems.Add(new(MptcpdProblemKind.Unreadable, path, 0, "is a directory, not a configuration file"));
                return config;
            }

            if (!File.Exists(path))
            {
                config.Problems.Add(new(MptcpdProblemKind.FileMissing, path, 0, "does not exist; mptcpd then runs on its built-in defaults and its command line"));
                return config;
            }

            lines = RegularFile.ReadText(path, 1 << 20).Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
            config.Exists = true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            config.Problems.Add(new(MptcpdProblemKind.Unreadable, path, 0, e.Message));
            return config;
        }

        var lineOf = new Dictionary<string, int>(StringComparer.Ordinal);
        string? section = null;
        for (int i = 0; i < lines.Length; i++)
        {
            string text = lines[i].Trim();
            int number = i + 1;
            if (text.Length == 0 || text[0] == '#')
            {
                continue;
            }

            if (text[0] == '[')
            {
                if (!text.EndsWith(']'))
                {
                    config.Problems.Add(new(MptcpdProblemKind.SyntaxError, path, number, $"'{text}' opens a section but does not close it"));
                    continue;
                }

                section = text[1..^1].Trim();
                if (section != "core")
                {
                    config.Problems.Add(new(MptcpdProblemKind.UnknownSection, path, number, $"section [{section}] is not read by mptcpd (only [core] is)"));
                }

                continue;
            }

            int equals = text.IndexOf('=');
            if (equals <= 0)
            {
                config.Problems.Add(new(MptcpdProblemKind.SyntaxError, path, number, $"'{text}' is neither a section, a comment nor key=value"));
                continue;
            }

            if (section is null)
            {
                config.Problems.Add(new(MptcpdProblemKind.SyntaxError, path, number, "a key before any section: mptcpd reads keys of [core] only"));
                continue;
            }

            string key = text[..equals].Trim();
            string value = text[(equals + 1)..].Trim();
            if (section != "core")
            {
                continue;
            }

            if (!KnownKeys.Contains(key))
            {
                string hint = KnownKeys.FirstOrDefault(k => Close(k, key)) is { } near ? $" (did you mean '{near}'?)" : "";
                config.Problems.Add(new(MptcpdProblemKind.UnknownKey, path, number, $"unknown key '{key}'{hint}; mptcpd knows {string.Join(", ", KnownKeys)}"));
                continue;
            }

            lineOf[key] = number;
            switch (key)
            {
                case "log":
                    config.Log = value;
                    if (!LogValues.Contains(value))
                    {
                        config.Problems.Add(new(MptcpdProblemKind.InvalidValue, path, number, $"log={value}: mptcpd logs to {string.Join(", ", LogValues)}"));
                    }

                    break;
                case "plugin-dir":
                    config.PluginDirectory = value;
                    break;
                case "path-manager":
                    config.PathManager = value;
                    break;
                case "addr-flags":
                    config.AddressFlags = List(value);
                    foreach (string flag in config.AddressFlags.Where(f => !AddrFlags.Contains(f)))
                    {
                        config.Problems.Add(new(MptcpdProblemKind.InvalidValue, path, number, $"addr-flags: unknown flag '{flag}'; the flags are {string.Join(", ", AddrFlags)}"));
                    }

                    if (config.AddressFlags.Contains("signal") && config.AddressFlags.Contains("fullmesh"))
                    {
                        config.Problems.Add(new(MptcpdProblemKind.ConflictingFlags, path, number, "addr-flags sets both signal and fullmesh, which exclude each other; the kernel refuses such endpoints"));
                    }

                    break;
                case "notify-flags":
                    config.NotifyFlagList = List(value);
                    foreach (string flag in config.NotifyFlagList.Where(f => !NotifyFlags.Contains(f)))
                    {
                        config.Problems.Add(new(MptcpdProblemKind.InvalidValue, path, number, $"notify-flags: unknown flag '{flag}'; the flags are {string.Join(", ", NotifyFlags)}"));
                    }

                    break;
                case "load-plugins":
                    config.LoadPlugins = List(value);
                    break;
            }
        }

        config.CheckPlugins(lineOf);
        return config;
    }

    private void CheckPlugins(Dictionary<string, int> lineOf)
    {
        if (PluginDirectory is null)
        {
            return; // mptcpd then uses its compiled-in directory; nothing to check here
        }

        int dirLine = lineOf.GetValueOrDefault("plugin-dir");
        if (!Directory.Exists(PluginDirectory))
        {
            Problems.Add(new(MptcpdProblemKind.PluginDirMissing, Path, dirLine, $"plugin-dir {PluginDirectory} does not exist: mptcpd will not start (install mptcpd-plugins, or fix the path)"));
            return;
        }

        InstalledPlugins = Directory.EnumerateFiles(PluginDirectory, "*.so").Select(f => System.IO.Path.GetFileNameWithoutExtension(f)).OrderBy(n => n).ToArray();
        if (InstalledPlugins.Length == 0)
        {
            Problems.Add(new(MptcpdProblemKind.PluginDirMissing, Path, dirLine, $"plugin-dir {PluginDirectory} holds no plug-in: install mptcpd-plugins"));
            return;
        }

        if (PathManager is { } pm && !InstalledPlugins.Contains(pm))
        {
            Problems.Add(new(MptcpdProblemKind.PluginMissing, Path, lineOf.GetValueOrDefault("path-manager"),
                $"path-manager={pm}, but {PluginDirectory} has no {pm}.so (it has {string.Join(", ", InstalledPlugins)})"));
        }

        foreach (string plugin in LoadPlugins.Where(p => !InstalledPlugins.Contains(p)))
        {
            Problems.Add(new(MptcpdProblemKind.PluginMissing, Path, lineOf.GetValueOrDefault("load-plugins"),
                $"load-plugins names {plugin}, but {PluginDirectory} has no {plugin}.so (it has {string.Join(", ", InstalledPlugins)})"));
        }
    }

    /// <summary>
    /// Sets keys of [core] in the configuration file (each existing line of the key replaced, a missing key added
    /// after the section header, a missing section added), written atomically with the file's mode and owner.
    /// Returns the text before.
    /// </summary>
    public static string WriteCoreKeys(string path, IReadOnlyDictionary<string, string> keys)
    {
        string before = File.ReadAllText(path);
        var lines = before.Split('\n').ToList();
        if (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        var missing = new List<string>(keys.Keys);
        string? section = null;
        int coreHeader = -1;
        for (int i = 0; i < lines.Count; i++)
        {
            string text = lines[i].Trim();
            if (text.StartsWith('[') && text.EndsWith(']'))
            {
                section = text[1..^1].Trim();
                coreHeader = section == "core" && coreHeader < 0 ? i : coreHeader;
                continue;
            }

            int equals = text.IndexOf('=');
            if (section == "core" && equals > 0 && !text.StartsWith('#') && keys.TryGetValue(text[..equals].Trim(), out string? value))
            {
                string key = text[..equals].Trim();
                lines[i] = $"{key}={value}";
                missing.Remove(key);
            }
        }

        if (coreHeader < 0)
        {
            lines.Add("[core]");
            coreHeader = lines.Count - 1;
        }

        lines.InsertRange(coreHeader + 1, missing.Select(k => $"{k}={keys[k]}"));
        string directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path)) ?? "/";
        string temp = System.IO.Path.Combine(directory, $".{System.IO.Path.GetFileName(path)}.{Guid.NewGuid():n}.tmp");
        try
        {
            File.WriteAllText(temp, string.Join("\n", lines) + "\n");
            File.SetUnixFileMode(temp, File.GetUnixFileMode(path));
            Kernel.RegularFile.CopyOwner(path, temp);
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }

        return before;
    }

    private static string[] List(string value) => value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    // One edit apart, or the same letters but for '-' and '_': a typo, worth naming.
    private static bool Close(string a, string b)
    {
        if (a.Replace('-', '_') == b.Replace('-', '_'))
        {
            return true;
        }

        if (Math.Abs(a.Length - b.Length) > 1)
        {
            return false;
        }

        int i = 0, j = 0, edits = 0;
        while (i < a.Length && j < b.Length)
        {
            if (a[i] == b[j]) { i++; j++; continue; }
            if (++edits > 1) return false;
            if (a.Length > b.Length) i++;
            else if (b.Length > a.Length) j++;
            else { i++; j++; }
        }

        return edits + (a.Length - i) + (b.Length - j) <= 1;
    }
}
