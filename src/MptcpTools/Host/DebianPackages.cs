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
