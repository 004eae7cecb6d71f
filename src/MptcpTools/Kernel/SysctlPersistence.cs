using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;

namespace MptcpTools.Kernel;

/// <summary>One assignment in a persistent sysctl file, and whether it is the one that wins at boot.</summary>
public sealed class PersistentSysctlSetting
{
    public PersistentSysctlSetting(string key, string value, string file, int line, bool ignoreErrors, int order)
    {
        Key = key;
        Value = value;
        File = file;
        Line = line;
        IgnoreErrors = ignoreErrors;
        Order = order;
    }

    /// <summary>The key with dots as separators (a key written with slashes is converted, as systemd-sysctl does).</summary>
    public string Key { get; }
    public string Value { get; }
    public string File { get; }
    public int Line { get; }
    /// <summary>The line started with '-': a missing key is not an error at boot.</summary>
    public bool IgnoreErrors { get; }
    /// <summary>Position in the order the files are applied at boot.</summary>
    public int Order { get; }
    /// <summary>True for the last assignment of its key: the value the boot leaves in place.</summary>
    public bool Effective { get; internal set; }
    /// <summary>Whether the running kernel has this key (null when not judged).</summary>
    public bool? ExistsInKernel { get; internal set; }
    /// <summary>Whether the key has glob characters (systemd 247 and later expand them).</summary>
    public bool IsPattern => Key.IndexOfAny(new[] { '*', '?', '[' }) >= 0;

    public bool Matches(string name) => IsPattern
        ? new WildcardPattern(Key, WildcardOptions.CultureInvariant).IsMatch(name)
        : string.Equals(Key, name, StringComparison.Ordinal);

    public override string ToString() => $"{Key} = {Value} ({File}:{Line})";
}

/// <summary>
/// The persistent sysctl configuration as systemd-sysctl (and procps `sysctl --system`) applies it:
/// *.conf files from /etc/sysctl.d, /run/sysctl.d, /usr/local/lib/sysctl.d, /usr/lib/sysctl.d and
/// /lib/sysctl.d, a file name in an earlier directory masking the same name in later ones, all applied
/// in lexicographic order of file name, then /etc/sysctl.conf unless a sysctl.d link already named it.
/// </summary>
public static class SysctlPersistence
{
    public static readonly string[] Directories =
    {
        "/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d",
    };

    public const string MainFile = "/etc/sysctl.conf";

    /// <summary>The files in the order they are applied. <paramref name="root"/> prefixes every path (tests).</summary>
    public static IReadOnlyList<string> ConfigurationFiles(string root = "/")
    {
        var byName = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string directory in Directories)
        {
            string full = Rooted(root, directory);
            if (!System.IO.Directory.Exists(full))
            {
                continue;
            }

            foreach (string file in System.IO.Directory.EnumerateFiles(full, "*.conf"))
            {
                byName.TryAdd(Path.GetFileName(file), file); // earlier directory masks later ones
            }
        }

        List<string> ordered = byName.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Value).ToList();
        string main = Rooted(root, MainFile);
        if (System.IO.File.Exists(main) && !ordered.Any(f => SameFile(f, main)))
        {
            ordered.Add(main);
        }

        // A masking link to /dev/null disables a vendor file.
        ordered.RemoveAll(f => SameFile(f, "/dev/null"));
        return ordered;
    }

    /// <summary>
    /// Every assignment in every file, in application order, with <see cref="PersistentSysctlSetting.Effective"/>
    /// set. Unreadable files are reported through <paramref name="problems"/> and skipped.
    /// </summary>
    public static List<PersistentSysctlSetting> Read(string root, out List<string> problems)
    {
        problems = new List<string>();
        var settings = new List<PersistentSysctlSetting>();
        int order = 0;
        foreach (string file in ConfigurationFiles(root))
        {
            string[] lines;
            try
            {
                lines = System.IO.File.ReadAllLines(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problems.Add($"{Unrooted(root, file)}: {e.Message}");
                continue;
            }

            for (int i = 0; i < lines.Length; i++)
            {
                if (ParseLine(lines[i]) is { } parsed)
                {
                    settings.Add(new PersistentSysctlSetting(parsed.Key, parsed.Value, Unrooted(root, file), i + 1, parsed.IgnoreErrors, order++));
                }
            }
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = settings.Count - 1; i >= 0; i--)
        {
            settings[i].Effective = seen.Add(settings[i].Key);
        }

        return settings;
    }

    /// <summary>Parses one line; null for blanks, comments and lines without '='.</summary>
    public static (string Key, string Value, bool IgnoreErrors)? ParseLine(string line)
    {
        string text = line.Trim();
        if (text.Length == 0 || text[0] == '#' || text[0] == ';')
        {
            return null;
        }

        int equals = text.IndexOf('=');
        if (equals <= 0)
        {
            return null;
        }

        string key = text[..equals].Trim();
        string value = text[(equals + 1)..].Trim();
        bool ignoreErrors = false;
        if (key.StartsWith('-'))
        {
            ignoreErrors = true;
            key = key[1..].TrimStart();
        }

        return (NormalizeKey(key), value, ignoreErrors);
    }

    /// <summary>systemd-sysctl: when the first separator is a slash, slashes and dots swap roles.</summary>
    public static string NormalizeKey(string key)
    {
        int slash = key.IndexOf('/');
        int dot = key.IndexOf('.');
        if (slash >= 0 && (dot < 0 || slash < dot))
        {
            char[] chars = key.ToCharArray();
            for (int i = 0; i < chars.Length; i++)
            {
                chars[i] = chars[i] switch { '/' => '.', '.' => '/', _ => chars[i] };
            }

            return new string(chars);
        }

        return key;
    }

    private static string Rooted(string root, string path) =>
        root is "/" or "" ? path : Path.Combine(root, path.TrimStart('/'));

    private static string Unrooted(string root, string path)
    {
        if (root is "/" or "")
        {
            return path;
        }

        string full = Path.GetFullPath(root).TrimEnd('/');
        return path.StartsWith(full, StringComparison.Ordinal) ? path[full.Length..] : path;
    }

    private static bool SameFile(string a, string b)
    {
        try
        {
            return string.Equals(Resolve(a), Resolve(b), StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static string Resolve(string path)
    {
        var info = new FileInfo(path);
        return info.LinkTarget is null
            ? info.FullName
            : (info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? info.FullName);
    }
}
