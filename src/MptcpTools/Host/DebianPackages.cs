using System;
using System.IO;

namespace MptcpTools.Host;

/// <summary>Which Debian package installed a file, and its version, from dpkg's own database.</summary>
public static class DebianPackages
{
    public const string Database = "/var/lib/dpkg";

    /// <summary>The package that installed <paramref name="path"/> and its installed version; nulls when none did.</summary>
    public static (string? Package, string? Version) Owner(string path, string dpkg = Database)
    {
        try
        {
            string info = Path.Combine(dpkg, "info");
            if (!Directory.Exists(info))
            {
                return (null, null);
            }

            string alt = path.StartsWith("/usr/", StringComparison.Ordinal) ? path[4..] : "/usr" + path; // merged /usr
            foreach (string list in Directory.EnumerateFiles(info, "*.list"))
            {
                foreach (string line in File.ReadLines(list))
                {
                    if (line == path || line == alt)
                    {
                        string package = Path.GetFileNameWithoutExtension(list).Split(':')[0];
                        return (package, InstalledVersion(package, dpkg));
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return (null, null);
    }

    /// <summary>The installed version of a package, or null when dpkg's database is missing or does not list it.</summary>
    public static string? TryInstalledVersion(string package, string dpkg = Database)
    {
        try
        {
            return InstalledVersion(package, dpkg);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Compares two Debian versions as dpkg does ([epoch:]upstream[-revision]; letters sort before other
    /// characters, '~' before everything, even the end): negative, zero or positive.
    /// </summary>
    public static int CompareVersions(string a, string b)
    {
        (int epochA, string upstreamA, string revisionA) = Split(a.Trim());
        (int epochB, string upstreamB, string revisionB) = Split(b.Trim());
        if (epochA != epochB)
        {
            return epochA.CompareTo(epochB);
        }

        int upstream = CompareParts(upstreamA, upstreamB);
        return upstream != 0 ? upstream : CompareParts(revisionA, revisionB);
    }

    private static (int Epoch, string Upstream, string Revision) Split(string version)
    {
        int colon = version.IndexOf(':');
        int epoch = colon > 0 && int.TryParse(version[..colon], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int e) ? e : 0;
        string rest = colon >= 0 ? version[(colon + 1)..] : version;
        int dash = rest.LastIndexOf('-');
        return dash >= 0 ? (epoch, rest[..dash], rest[(dash + 1)..]) : (epoch, rest, "");
    }

    // dpkg's verrevcmp: alternating runs of non-digits (compared by Order) and digits (compared as numbers).
    private static int CompareParts(string a, string b)
    {
        int i = 0, j = 0;
        char At(string s, int k) => k < s.Length ? s[k] : '\0';
        while (i < a.Length || j < b.Length)
        {
            while ((i < a.Length && !char.IsAsciiDigit(a[i])) || (j < b.Length && !char.IsAsciiDigit(b[j])))
            {
                int ac = Order(At(a, i)), bc = Order(At(b, j));
                if (ac != bc)
                {
                    return ac - bc;
                }

                i++;
                j++;
            }

            while (At(a, i) == '0')
            {
                i++;
            }

            while (At(b, j) == '0')
            {
                j++;
            }

            int firstDifference = 0;
            while (char.IsAsciiDigit(At(a, i)) && char.IsAsciiDigit(At(b, j)))
            {
                if (firstDifference == 0)
                {
                    firstDifference = At(a, i) - At(b, j);
                }

                i++;
                j++;
            }

            if (char.IsAsciiDigit(At(a, i)))
            {
                return 1;
            }

            if (char.IsAsciiDigit(At(b, j)))
            {
                return -1;
            }

            if (firstDifference != 0)
            {
                return firstDifference;
            }
        }

        return 0;
    }

    private static int Order(char c) => c switch
    {
        '\0' => 0,
        '~' => -1,
        _ when char.IsAsciiDigit(c) => 0,
        _ when char.IsAsciiLetter(c) => c,
        _ => c + 256,
    };

    /// <summary>The installed version of a package, from dpkg's status file.</summary>
    public static string? InstalledVersion(string package, string dpkg = Database)
    {
        bool inPackage = false;
        foreach (string line in File.ReadLines(Path.Combine(dpkg, "status")))
        {
            if (line.StartsWith("Package: ", StringComparison.Ordinal))
            {
                inPackage = line[9..] == package;
            }
            else if (inPackage && line.StartsWith("Version: ", StringComparison.Ordinal))
            {
                return line[9..];
            }
        }

        return null;
    }
}
