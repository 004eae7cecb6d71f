using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace MptcpTools.Kernel;

/// <summary>What /proc and sock_diag say about one process and its sockets.</summary>
public sealed record ProcessFacts
{
    /// <summary>How much of an executable or library the switch scan reads at most.</summary>
    public const long MaxScannedBytes = 64L << 20;

    /// <summary>
    /// The spellings programs give an MPTCP switch or option, looked for in the program's own files: "--mptcp"
    /// (iperf3, curl), "mptcp@" (HAProxy's address prefix), "multipath" (nginx's listen parameter).
    /// </summary>
    public static readonly IReadOnlyList<string> SwitchMarkers = new[] { "--mptcp", "mptcp@", "multipath" };

    public int ProcessId { get; init; }
    public string Name { get; init; } = "";
    public string? ExecutablePath { get; init; }
    public string CommandLine { get; init; } = "";
    public int TcpSockets { get; init; }
    public int MptcpSockets { get; init; }
    public int TcpListeners { get; init; }
    public int MptcpListeners { get; init; }
    /// <summary>LD_PRELOAD names libmptcpwrap, or the library is mapped: the process runs under mptcpize.</summary>
    public bool UnderMptcpize { get; init; }
    /// <summary>Whether the program's executable or its own libraries contain the text "--mptcp".</summary>
    public bool HasMptcpSwitch { get; init; }
    /// <summary>The inode of the process's network namespace.</summary>
    public ulong? NetworkNamespace { get; init; }
    /// <summary>Its name under /run/netns, when it has one.</summary>
    public string? NetworkNamespaceName { get; init; }
    /// <summary>
    /// The process lives in another network namespace than the reader: its sockets, endpoints and sysctls are
    /// that namespace's, and the socket counts above are not its own.
    /// </summary>
    public bool InOtherNetworkNamespace { get; init; }
    /// <summary>Which of <see cref="SwitchMarkers"/> the program's executable or its own libraries contain.</summary>
    public string[] SwitchMarkersFound { get; init; } = Array.Empty<string>();
    /// <summary>The Debian package that installed the executable, when the caller looked it up (Host.DebianPackages).</summary>
    public string? Package { get; init; }
    public string? PackageVersion { get; init; }
    /// <summary>The executable was built by Go (its ELF has Go's build information); null when it could not be read.</summary>
    public bool? IsGoBinary { get; init; }
    /// <summary>The Go release that built it ("go1.22.4"); null when it is not Go, or Go before 1.18 (which kept no version inline).</summary>
    public string? GoVersion { get; init; }
    /// <summary>Its ELF names no dynamic loader and no shared library: mptcpize's preloaded library never loads into it; null when unreadable.</summary>
    public bool? IsStaticallyLinked { get; init; }
    /// <summary>Why the executable's ELF could not be examined, when it could not.</summary>
    public string? ExecutableProblem { get; init; }
    /// <summary>GODEBUG in its environment, when set (multipathtcp=… turns Go's MPTCP on or off).</summary>
    public string? GoDebug { get; init; }
    /// <summary>The systemd service it runs in ("nginx.service"), from /proc/PID/cgroup; null outside one.</summary>
    public string? ServiceUnit { get; init; }
    /// <summary>The service belongs to a user's service manager (under user@UID.service), not the system's.</summary>
    public bool IsUserService { get; init; }
    /// <summary>systemd handed it its listening sockets (LISTEN_FDS in its environment): the socket unit creates them, not the program.</summary>
    public bool SocketActivated { get; init; }
    /// <summary>The socket unit that did, when systemd named it (LISTEN_FDNAMES); null otherwise.</summary>
    public string? SocketUnit { get; init; }
    /// <summary>The installed systemd's version, when the caller looked it up for a service (Host.DebianPackages).</summary>
    public string? SystemdVersion { get; init; }

    /// <summary>
    /// Reads a process. Throws ProcessGoneException when it does not exist (any more) or cannot be read.
    /// </summary>
    public static ProcessFacts Read(int pid, SocketInodes sockets)
    {
        string dir = $"/proc/{pid}";
        if (!Directory.Exists(dir))
        {
            throw new ProcessGoneException(pid, $"There is no process {pid}.");
        }

        string name = ProcessTable.CommandName(pid) ?? throw new ProcessGoneException(pid, $"Process {pid} ended while it was read.");
        string? exe = ProcessTable.ExecutablePath(pid);
        string cmdline = TryRead($"{dir}/cmdline")?.Replace('\0', ' ').Trim() ?? "";
        string environ = TryRead($"{dir}/environ") ?? "";
        string maps = TryRead($"{dir}/maps") ?? "";
        List<uint> inodes = ProcessTable.SocketInodes(pid);
        ulong? netns = ProcessTable.NetworkNamespaceInode(pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        ulong? own = ProcessTable.NetworkNamespaceInode("self");
        bool other = netns is not null && own is not null && netns != own;
        Dictionary<string, string> variables = EnvironmentOf(environ);
        bool mptcpize = (variables.TryGetValue("LD_PRELOAD", out string? preload) && preload.Contains("libmptcpwrap", StringComparison.Ordinal))
                        || maps.Contains("libmptcpwrap", StringComparison.Ordinal);
        // Through /proc/PID/exe: the executable as the process sees it, also from another mount namespace or when deleted.
        ElfExecutable? elf = ElfExecutable.TryRead($"{dir}/exe", out string? elfProblem);
        var found = new bool[SwitchMarkers.Count];
        if (exe is not null)
        {
            byte[][] needles = SwitchMarkers.Select(m => System.Text.Encoding.ASCII.GetBytes(m)).ToArray();
            foreach (string file in OwnFiles(pid, exe, name, maps))
            {
                bool[] inFile = RegularFile.FindAny(file, needles, MaxScannedBytes);
                for (int i = 0; i < found.Length; i++)
                {
                    found[i] |= inFile[i];
                }
            }
        }

        (string? unit, bool userService) = ServiceUnitOf(TryRead($"{dir}/cgroup") ?? "");
        return new ProcessFacts
        {
            ProcessId = pid,
            Name = name,
            ExecutablePath = exe,
            CommandLine = cmdline,
            TcpSockets = inodes.Count(sockets.Tcp.Contains),
            TcpListeners = inodes.Count(sockets.TcpListen.Contains),
            MptcpSockets = inodes.Count(sockets.Mptcp.Contains),
            MptcpListeners = inodes.Count(sockets.MptcpListen.Contains),
            UnderMptcpize = mptcpize,
            HasMptcpSwitch = found[0],
            SwitchMarkersFound = SwitchMarkers.Where((_, i) => found[i]).ToArray(),
            IsGoBinary = elf?.IsGoBinary,
            GoVersion = elf?.GoVersion,
            IsStaticallyLinked = elf?.IsStaticallyLinked,
            ExecutableProblem = elfProblem,
            GoDebug = variables.GetValueOrDefault("GODEBUG"),
            ServiceUnit = unit,
            IsUserService = userService,
            SocketActivated = variables.TryGetValue("LISTEN_FDS", out string? fds) && int.TryParse(fds, out int count) && count > 0,
            SocketUnit = variables.TryGetValue("LISTEN_FDNAMES", out string? names)
                ? names.Split(':').FirstOrDefault(n => n.EndsWith(".socket", StringComparison.Ordinal)) : null,
            NetworkNamespace = netns,
            NetworkNamespaceName = other && netns is { } inode ? ProcessTable.NamedNetworkNamespaces().GetValueOrDefault(inode) : null,
            InOtherNetworkNamespace = other,
        };
    }

    /// <summary>
    /// The systemd service a process runs in, from its /proc/PID/cgroup: the innermost "*.service" of its cgroup
    /// path (the unified "0::" line, else systemd's own "name=systemd" hierarchy), and whether a user's service
    /// manager (user@UID.service) holds it. Nulls for a scope (a login session, a container) or no systemd.
    /// </summary>
    public static (string? Unit, bool UserService) ServiceUnitOf(string cgroupText)
    {
        string[] lines = cgroupText.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string? path = lines.FirstOrDefault(l => l.StartsWith("0::", StringComparison.Ordinal))?[3..]
                       ?? lines.Select(l => l.Split(':', 3)).FirstOrDefault(p => p.Length == 3 && p[1] == "name=systemd")?[2];
        if (path is null)
        {
            return (null, false);
        }

        string[] segments = path.Trim().Split('/', StringSplitOptions.RemoveEmptyEntries);
        int unit = Array.FindLastIndex(segments, s => s.EndsWith(".service", StringComparison.Ordinal) && s.Length > ".service".Length);
        if (unit < 0)
        {
            return (null, false);
        }

        bool user = segments.Take(unit).Any(s => s.StartsWith("user@", StringComparison.Ordinal) && s.EndsWith(".service", StringComparison.Ordinal));
        return (segments[unit], user);
    }

    // /proc/PID/environ: NUL-separated NAME=value; the first of a repeated name is the one getenv() returns.
    private static Dictionary<string, string> EnvironmentOf(string environ)
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string entry in environ.Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            int equals = entry.IndexOf('=');
            if (equals > 0)
            {
                variables.TryAdd(entry[..equals], entry[(equals + 1)..]);
            }
        }

        return variables;
    }

    // The executable (through /proc/PID/exe) and the libraries named after the program (libiperf for iperf3).
    private static IEnumerable<string> OwnFiles(int pid, string exe, string name, string maps)
    {
        yield return $"/proc/{pid}/exe";
        string stem = name.TrimEnd('0', '1', '2', '3', '4', '5', '6', '7', '8', '9');
        if (stem.Length < 3)
        {
            yield break;
        }

        foreach (string path in maps.Split('\n').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "")
                     .Where(p => p.StartsWith('/') && Path.GetFileName(p).Contains(stem, StringComparison.Ordinal)).Distinct())
        {
            if (path != exe)
            {
                yield return path;
            }
        }
    }

    private static string? TryRead(string path)
    {
        try
        {
            return RegularFile.ReadText(path, 16 << 20); // /proc files: maps of a huge process stays bounded
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

/// <summary>A process that does not exist, or ended or became unreadable while it was read.</summary>
public sealed class ProcessGoneException : Exception
{
    public ProcessGoneException(int pid, string message) : base(message) => ProcessId = pid;

    public int ProcessId { get; }
}
