using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using MptcpTools.Host;
using MptcpTools.Kernel;

namespace MptcpTools.Diagnosis;

/// <summary>How a program asks for MPTCP itself.</summary>
public enum MptcpSwitchKind
{
    /// <summary>A command-line switch (iperf3 --mptcp).</summary>
    CommandLine,
    /// <summary>An option in its configuration (nginx's listen ... multipath).</summary>
    Configuration,
}

/// <summary>
/// A program that can ask for MPTCP itself: its names, the Debian packages that install it, the first upstream
/// release with the switch, the text that only a build with the switch contains, and how to use it.
/// </summary>
public sealed record MptcpProgram
{
    public string Name { get; init; } = "";
    /// <summary>Executable names (the kernel's comm) it runs under.</summary>
    public string[] Executables { get; init; } = Array.Empty<string>();
    /// <summary>Debian packages whose version is the program's.</summary>
    public string[] Packages { get; init; } = Array.Empty<string>();
    /// <summary>The first upstream release with the switch; null where only the installed binary can tell.</summary>
    public string? FirstVersion { get; init; }
    /// <summary>The switch or option as the program spells it, also what its binary contains when it has it (<see cref="ProcessFacts.SwitchMarkers"/>).</summary>
    public string Switch { get; init; } = "";
    public MptcpSwitchKind Kind { get; init; }
    /// <summary>What to do, for a configuration option; a command-line switch is put before the program's arguments.</summary>
    public string Configure { get; init; } = "";
}

/// <summary>The programs known to have an MPTCP switch or option, and whether an installed one has it.</summary>
public static class MptcpPrograms
{
    public static readonly IReadOnlyList<MptcpProgram> Known = new[]
    {
        new MptcpProgram
        {
            Name = "iperf3", Executables = new[] { "iperf3" }, Packages = new[] { "iperf3", "libiperf0" }, FirstVersion = "3.19",
            Switch = "--mptcp", Kind = MptcpSwitchKind.CommandLine,
        },
        new MptcpProgram
        {
            Name = "curl", Executables = new[] { "curl" }, Packages = new[] { "curl" }, FirstVersion = "8.9.0",
            Switch = "--mptcp", Kind = MptcpSwitchKind.CommandLine,
        },
        new MptcpProgram
        {
            // The listen parameter is recent in nginx.org's mainline (and in freenginx 1.27.5): the binary decides.
            Name = "nginx", Executables = new[] { "nginx" }, Packages = new[] { "nginx", "nginx-core", "nginx-full", "nginx-light", "nginx-extras" },
            FirstVersion = null, Switch = "multipath", Kind = MptcpSwitchKind.Configuration,
            Configure = "add the multipath parameter to each listen directive (listen 443 ssl multipath;), then nginx -s reload",
        },
        new MptcpProgram
        {
            Name = "HAProxy", Executables = new[] { "haproxy" }, Packages = new[] { "haproxy" }, FirstVersion = "3.1",
            Switch = "mptcp@", Kind = MptcpSwitchKind.Configuration,
            Configure = "prefix the addresses of its bind lines with mptcp@ (bind mptcp@0.0.0.0:443), and of its server lines to reach the backends over MPTCP too, then reload it (systemctl reload haproxy)",
        },
    };

    /// <summary>The known program a process runs: by the package of its executable, else by its name.</summary>
    public static MptcpProgram? Find(ProcessFacts f)
    {
        string executable = f.ExecutablePath is { } path ? Path.GetFileName(path) : f.Name;
        return Known.FirstOrDefault(p => f.Package is { } package && p.Packages.Contains(package))
               ?? Known.FirstOrDefault(p => p.Executables.Contains(executable) || p.Executables.Contains(f.Name));
    }

    /// <summary>
    /// Whether the installed program has the switch, and why: its own files contain it (whatever the version says:
    /// a distribution may have backported it), or the installed package's version is at least the first with it.
    /// </summary>
    public static (bool Has, string Why) Has(MptcpProgram program, ProcessFacts f)
    {
        if (f.SwitchMarkersFound.Contains(program.Switch) || (program.Switch == "--mptcp" && f.HasMptcpSwitch))
        {
            return (true, $"its installed build contains {program.Switch}");
        }

        if (program.FirstVersion is { } first && f.PackageVersion is { } installed)
        {
            return DebianPackages.CompareVersions(installed, first) >= 0
                ? (true, $"{program.Name} has {program.Switch} from {first}, and {installed} is installed")
                : (false, $"{program.Name} has {program.Switch} from {first}");
        }

        return (false, program.FirstVersion is { } v
            ? $"{program.Name} has {program.Switch} from {v}, and this build does not contain it"
            : $"this build of {program.Name} does not contain {program.Switch}");
    }
}
