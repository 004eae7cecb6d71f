using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;

namespace MptcpTools.Kernel;

/// <summary>How MPTCP is built into the running kernel, from its configuration.</summary>
public enum KernelBuildMode
{
    /// <summary>The kernel configuration could not be read.</summary>
    Unknown,
    /// <summary>CONFIG_MPTCP=y: built in; `lsmod` shows nothing, and that is normal.</summary>
    BuiltIn,
    /// <summary>CONFIG_MPTCP=m (only out-of-tree kernels do this).</summary>
    Module,
    /// <summary>CONFIG_MPTCP is not set.</summary>
    NotBuilt,
}

/// <summary>Readers of /proc and /sys files. Each takes the path, so tests feed it fixtures.</summary>
public static class ProcFiles
{
    public const string MptcpSysctlDirectory = "/proc/sys/net/mptcp";

    /// <summary>Every file under /proc/sys/net/mptcp by sysctl name (net.mptcp.X), value trimmed.</summary>
    public static SortedDictionary<string, string> ReadMptcpSysctls(string directory = MptcpSysctlDirectory)
    {
        var values = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (!Directory.Exists(directory))
        {
            return values;
        }

        foreach (string file in Directory.EnumerateFiles(directory))
        {
            try
            {
                // Tabs separate list values (available_schedulers); keep what the kernel wrote, trimmed.
                values["net.mptcp." + Path.GetFileName(file)] = File.ReadAllText(file).Trim();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Write-only or unreadable entries are not settings we can report.
            }
        }

        return values;
    }

    /// <summary>
    /// Parses /proc/net/netstat (or /proc/PID/net/netstat): pairs of "Prefix: names" and "Prefix: values"
    /// lines. Returns the counters of one prefix ("MPTcpExt") in kernel order.
    /// </summary>
    public static List<KeyValuePair<string, long>> ParseNetstat(string text, string prefix)
    {
        var counters = new List<KeyValuePair<string, long>>();
        string[] lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string header = prefix + ":";
        for (int i = 0; i + 1 < lines.Length; i++)
        {
            if (!lines[i].StartsWith(header, StringComparison.Ordinal) || !lines[i + 1].StartsWith(header, StringComparison.Ordinal))
            {
                continue;
            }

            string[] names = lines[i][header.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            string[] values = lines[i + 1][header.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (names.Length != values.Length)
            {
                throw new FormatException($"{prefix} in netstat has {names.Length} names but {values.Length} values");
            }

            for (int k = 0; k < names.Length; k++)
            {
                // The kernel prints unsigned long; values beyond long.MaxValue do not occur in practice.
                counters.Add(new(names[k], long.Parse(values[k], System.Globalization.CultureInfo.InvariantCulture)));
            }

            break;
        }

        return counters;
    }

    /// <summary>Reads the CONFIG_MPTCP line from a kernel configuration text.</summary>
    public static KernelBuildMode ParseKernelConfig(string configText)
    {
        foreach (string raw in configText.Split('\n'))
        {
            string line = raw.Trim();
            if (line == "CONFIG_MPTCP=y")
            {
                return KernelBuildMode.BuiltIn;
            }

            if (line == "CONFIG_MPTCP=m")
            {
                return KernelBuildMode.Module;
            }

            if (line == "# CONFIG_MPTCP is not set")
            {
                return KernelBuildMode.NotBuilt;
            }
        }

        return KernelBuildMode.NotBuilt;
    }

    /// <summary>
    /// Finds and reads the running kernel's configuration: /proc/config.gz, then /boot/config-RELEASE,
    /// then /lib/modules/RELEASE/build/.config. Null when none is readable.
    /// </summary>
    public static (KernelBuildMode Mode, string Source)? ReadKernelConfig(string release)
    {
        string[] candidates = { "/proc/config.gz", $"/boot/config-{release}", $"/lib/modules/{release}/build/.config" };
        foreach (string path in candidates)
        {
            try
            {
                if (!File.Exists(path))
                {
                    continue;
                }

                string text;
                if (path.EndsWith(".gz", StringComparison.Ordinal))
                {
                    using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
                    using var reader = new StreamReader(gzip);
                    text = reader.ReadToEnd();
                }
                else
                {
                    text = File.ReadAllText(path);
                }

                return (ParseKernelConfig(text), path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                // Try the next place.
            }
        }

        return null;
    }

    /// <summary>Reads a sysctl by name (net.mptcp.enabled), or null when this kernel lacks it.</summary>
    public static string? ReadSysctl(string name)
    {
        try
        {
            return File.ReadAllText(SysctlPath(name)).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Writes a sysctl, as `sysctl -w` does (a write to /proc/sys). Throws KernelException on refusal.</summary>
    public static void WriteSysctl(string name, string value)
    {
        try
        {
            File.WriteAllText(SysctlPath(name), value + "\n");
        }
        catch (UnauthorizedAccessException)
        {
            throw new KernelException($"set {name}", Errnos.EACCES);
        }
        catch (IOException e)
        {
            throw new KernelException($"set {name} ({e.Message})", Errnos.EINVAL);
        }
    }

    /// <summary>
    /// The file of a sysctl. A name whose first separator is a slash keeps its dots (as sysctl(8) and
    /// systemd-sysctl read it): net/ipv4/conf/eth0.100/rp_filter names a VLAN interface's setting.
    /// </summary>
    public static string SysctlPath(string name)
    {
        int slash = name.IndexOf('/'), dot = name.IndexOf('.');
        return "/proc/sys/" + (slash >= 0 && (dot < 0 || slash < dot) ? name : name.Replace('.', '/'));
    }

    /// <summary>The name of a per-interface sysctl, in the slash form when the interface name has a dot.</summary>
    public static string InterfaceSysctlName(string family, string interfaceName, string key) =>
        interfaceName.Contains('.') ? $"net/{family}/conf/{interfaceName}/{key}" : $"net.{family}.conf.{interfaceName}.{key}";

    /// <summary>Whether /proc/net/protocols lists the MPTCP protocols (MPTCP, MPTCPv6).</summary>
    public static bool ProtocolRegistered(string protocolsText)
    {
        foreach (string line in protocolsText.Split('\n'))
        {
            if (line.StartsWith("MPTCP ", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
