using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using MptcpTools.Kernel;

namespace MptcpTools.Host;

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
                lines = RegularFile.ReadText(file, 1 << 20).Split('\n');
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

    /// <summary>Whether systemd-sysctl reads <paramref name="file"/> at boot: a *.conf in one of its directories, or /etc/sysctl.conf.</summary>
    public static bool IsReadAtBoot(string file)
    {
        string full = Path.GetFullPath(file);
        return full == MainFile
               || (full.EndsWith(".conf", StringComparison.Ordinal) && Directories.Contains(Path.GetDirectoryName(full)));
    }

    /// <summary>The assignment of <paramref name="key"/> that wins at boot, or null when no file sets it.</summary>
    public static PersistentSysctlSetting? Winner(IEnumerable<PersistentSysctlSetting> settings, string key) =>
        settings.LastOrDefault(p => p.Effective && p.Key == key);

    /// <summary>
    /// The file, in the directory of <paramref name="preferred"/>, that is applied after <paramref name="winner"/>'s
    /// file: <paramref name="preferred"/> itself when its name sorts later, otherwise the winner's name with a suffix
    /// that sorts after ".conf". Null when no sysctl.d file can win: /etc/sysctl.conf, read after all of them.
    /// </summary>
    public static string? FileApplied(string preferred, PersistentSysctlSetting? winner)
    {
        if (winner is null)
        {
            return preferred;
        }

        // Read through a sysctl.d link (Debian's 99-sysctl.conf), its settings carry the link's name; read
        // directly, /etc/sysctl.conf comes after every sysctl.d file and only an edit of it wins.
        if (winner.File == MainFile)
        {
            return null;
        }

        string winnerName = Path.GetFileName(winner.File);
        string name = Path.GetFileName(preferred);
        // A later name wins; the same name is the winner itself, or masks it from /etc/sysctl.d.
        if (string.CompareOrdinal(name, winnerName) >= 0)
        {
            return preferred;
        }

        // systemd-sysctl and sysctl --system sort names byte by byte: STEM.zz-mptcp.conf follows STEM.conf.
        string stem = winnerName.EndsWith(".conf", StringComparison.Ordinal) ? winnerName[..^5] : winnerName;
        return Path.Combine(Path.GetDirectoryName(preferred) ?? "/etc/sysctl.d", stem + ".zz-mptcp.conf");
    }

    /// <summary>
    /// Sets <paramref name="key"/> = <paramref name="value"/> in <paramref name="file"/>, keeping the file's other
    /// lines (its own lines for the key are replaced). Atomic: a temporary file in the same directory, flushed
    /// to disk, given the old file's mode and owner, then renamed over it; a failure leaves the old file as it
    /// was. Returns the file's text before, or null when it did not exist.
    /// </summary>
    public static string? WriteAssignment(string file, string key, string value, string header)
    {
        // A link (Debian's 99-sysctl.conf -> ../sysctl.conf) stays a link: the file it names is what changes.
        if (new FileInfo(file).LinkTarget is not null && new FileInfo(file).ResolveLinkTarget(returnFinalTarget: true) is { } target)
        {
            file = target.FullName;
        }

        string directory = Path.GetDirectoryName(Path.GetFullPath(file)) ?? "/";
        Directory.CreateDirectory(directory);
        string? before = File.Exists(file) ? RegularFile.ReadText(file, 1 << 20) : null;
        var lines = (before ?? header + "\n").Split('\n').ToList();
        lines.RemoveAll(l => ParseLine(l) is { } parsed && parsed.Key == key);
        while (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        lines.Add($"{key} = {value}");
        string temp = Path.Combine(directory, $".{Path.GetFileName(file)}.{Guid.NewGuid():n}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                byte[] text = System.Text.Encoding.UTF8.GetBytes(string.Join("\n", lines) + "\n");
                stream.Write(text);
                stream.Flush(flushToDisk: true);
            }

            if (before is not null)
            {
                File.SetUnixFileMode(temp, File.GetUnixFileMode(file));
                RegularFile.CopyOwner(file, temp);
            }
            else
            {
                File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            }

            File.Move(temp, file, overwrite: true);
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

    /// <summary>
    /// The assignments of one sysctl-format file that is not in the boot order (ufw's /etc/ufw/sysctl.conf, which
    /// ufw applies when it starts); each is Effective for its key within the file. Empty when it cannot be read.
    /// </summary>
    public static List<PersistentSysctlSetting> ReadFile(string file)
    {
        var settings = new List<PersistentSysctlSetting>();
        if (!RegularFile.TryGetSize(file, out long size) || size > 1 << 20)
        {
            return settings;
        }

        try
        {
            string[] lines = RegularFile.ReadText(file, 1 << 20).Split('\n');
            for (int i = 0; i < lines.Length; i++)
            {
                if (ParseLine(lines[i]) is { } parsed)
                {
                    settings.Add(new PersistentSysctlSetting(parsed.Key, parsed.Value, file, i + 1, parsed.IgnoreErrors, i));
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return settings;
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
