using System;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;
using MptcpTools.Host;
using MptcpTools.Kernel;

namespace MptcpTools.Diagnosis;

/// <summary>The way to make a program use MPTCP that the judge picked from what is installed.</summary>
public enum ApplicationRemedy
{
    /// <summary>Nothing to do: it uses MPTCP, or has no socket to judge yet.</summary>
    None,
    /// <summary>Its own command-line switch (iperf3 3.19 and curl 8.9: --mptcp).</summary>
    OwnSwitch,
    /// <summary>An option of its configuration (nginx: listen ... multipath; HAProxy 3.1: mptcp@ addresses).</summary>
    OwnConfiguration,
    /// <summary>A Go program of Go 1.21 or later: GODEBUG=multipathtcp=1 (Go 1.24 listeners use MPTCP by default).</summary>
    GoDebug,
    /// <summary>A Go program built before Go 1.21, which has no MPTCP: rebuild it.</summary>
    GoRebuild,
    /// <summary>Socket-activated: SocketProtocol=mptcp in its systemd socket unit (systemd 257 and later).</summary>
    SocketUnit,
    /// <summary>A systemd service of a dynamically linked program: mptcpize enable UNIT.</summary>
    MptcpizeService,
    /// <summary>A dynamically linked program: mptcpize run COMMAND.</summary>
    MptcpizeRun,
    /// <summary>Nothing outside the program can convert it (statically linked, or its socket comes from an old systemd).</summary>
    CannotConvert,
    /// <summary>It runs in another network namespace: its sockets can only be judged from there.</summary>
    CheckOtherNamespace,
}

/// <summary>What Test-MptcpApplication says about one process.</summary>
public sealed class MptcpApplicationReport
{
    public int ProcessId { get; init; }
    public string Name { get; init; } = "";
    public string? Path { get; init; }
    public string CommandLine { get; init; } = "";
    public string? Package { get; init; }
    public string? Version { get; init; }
    public int TcpSockets { get; init; }
    public int MptcpSockets { get; init; }
    public int TcpListeners { get; init; }
    public int MptcpListeners { get; init; }
    public bool UsesMptcp { get; init; }
    public bool UnderMptcpize { get; init; }
    /// <summary>The program's own MPTCP switch or option when the installed one has it ("--mptcp", "multipath", "mptcp@").</summary>
    public string? MptcpSwitch { get; init; }
    /// <summary>Built by Go; null when the executable could not be examined.</summary>
    public bool? IsGoBinary { get; init; }
    public string? GoVersion { get; init; }
    /// <summary>Statically linked (mptcpize cannot convert it); null when the executable could not be examined.</summary>
    public bool? IsStaticallyLinked { get; init; }
    /// <summary>The systemd service it runs in, when it does.</summary>
    public string? ServiceUnit { get; init; }
    /// <summary>The systemd socket unit that hands it its listening sockets, when socket-activated.</summary>
    public string? SocketUnit { get; init; }
    public string Verdict { get; init; } = "";
    /// <summary>The network namespace it runs in, when that is not the one of the check (its name under /run/netns, or its inode).</summary>
    public string? OtherNetworkNamespace { get; init; }
    /// <summary>Which way to MPTCP <see cref="Remediation"/> gives.</summary>
    public ApplicationRemedy Remedy { get; init; }
    /// <summary>What to do, with the exact command; empty when it already uses MPTCP.</summary>
    public string Remediation { get; init; } = "";

    public override string ToString() => $"{Name} ({ProcessId}): {Verdict}";
}

/// <summary>
/// Pure judgment of a process's sockets, and of every way to make it use MPTCP that what is installed allows:
/// its own switch or option where its installed version has one, GODEBUG for Go programs, a socket unit for
/// socket-activated services, mptcpize for dynamically linked ones, and plainly nothing from outside for
/// statically linked programs.
/// </summary>
public static class ApplicationJudge
{
    /// <summary>A namespace as people name it: its name under /run/netns, else net:[INODE].</summary>
    public static string NamespaceLabel(ProcessFacts f) =>
        f.NetworkNamespaceName is { } name ? $"'{name}'" : $"net:[{f.NetworkNamespace}]";

    /// <summary>The command prefix that runs something in the process's network namespace.</summary>
    public static string EnterNamespace(ProcessFacts f) =>
        f.NetworkNamespaceName is { } name ? $"ip netns exec {ShellText.Quote(name)}" : $"nsenter --net=/proc/{f.ProcessId}/ns/net";

    /// <summary>The first Go with MPTCP (Dialer/ListenConfig.SetMultipathTCP and GODEBUG=multipathtcp).</summary>
    public static readonly Version GoWithMptcp = new(1, 21);
    /// <summary>The first Go whose listeners use MPTCP by default on Linux.</summary>
    public static readonly Version GoListensWithMptcp = new(1, 24);
    /// <summary>The first systemd whose socket units take SocketProtocol=mptcp.</summary>
    public const string SystemdWithMptcpSockets = "257";

    public static MptcpApplicationReport Judge(ProcessFacts f)
    {
        bool uses = f.MptcpSockets > 0;
        string verdict;
        (ApplicationRemedy remedy, string remediation, string? ownSwitch) = (ApplicationRemedy.None, "", null);
        string? elsewhere = f.InOtherNetworkNamespace ? NamespaceLabel(f) : null;
        if (elsewhere is not null)
        {
            // Its sockets are not in this namespace's dumps: nothing about MPTCP can be told from here.
            verdict = $"Runs in network namespace {elsewhere}, not in this one: its sockets, MPTCP endpoints and sysctls are that namespace's.";
            remedy = ApplicationRemedy.CheckOtherNamespace;
            remediation = $"Run the check there: {EnterNamespace(f)} pwsh -c 'Import-Module MptcpTools; Test-MptcpApplication -ProcessId {f.ProcessId}'";
        }
        else if (uses)
        {
            verdict = f.TcpSockets - f.TcpListeners > 0
                ? $"Uses MPTCP on {f.MptcpSockets} socket(s), and plain TCP on {f.TcpSockets} other(s)."
                : $"Uses MPTCP on {f.MptcpSockets} socket(s).";
        }
        else if (f.TcpSockets == 0)
        {
            verdict = "Has no TCP or MPTCP socket open right now; test it while it is connected.";
        }
        else
        {
            verdict = $"Uses plain TCP on {f.TcpSockets} socket(s) and no MPTCP socket: it never asked for IPPROTO_MPTCP.";
            (remedy, remediation, ownSwitch) = Remedy(f);
        }

        return new MptcpApplicationReport
        {
            ProcessId = f.ProcessId,
            Name = f.Name,
            Path = f.ExecutablePath,
            CommandLine = f.CommandLine,
            Package = f.Package,
            Version = f.PackageVersion,
            TcpSockets = f.TcpSockets,
            MptcpSockets = f.MptcpSockets,
            TcpListeners = f.TcpListeners,
            MptcpListeners = f.MptcpListeners,
            UsesMptcp = uses,
            UnderMptcpize = f.UnderMptcpize,
            MptcpSwitch = ownSwitch ?? (f.HasMptcpSwitch ? "--mptcp" : null),
            IsGoBinary = f.IsGoBinary,
            GoVersion = f.GoVersion,
            IsStaticallyLinked = f.IsStaticallyLinked,
            ServiceUnit = f.ServiceUnit,
            SocketUnit = f.SocketActivated ? SocketUnitOf(f) : null,
            OtherNetworkNamespace = elsewhere,
            Verdict = verdict,
            Remedy = remedy,
            Remediation = remediation,
        };
    }

    /// <summary>The major and minor release of a Go version string ("go1.22.4", "devel go1.23-abc"); null when it has none.</summary>
    public static Version? ParseGoVersion(string? goVersion)
    {
        Match m = goVersion is null ? Match.Empty : Regex.Match(goVersion, @"go(\d+)\.(\d+)");
        return m.Success ? new Version(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)) : null;
    }

    private static (ApplicationRemedy, string, string?) Remedy(ProcessFacts f)
    {
        string args = f.CommandLine.Contains(' ') ? f.CommandLine[(f.CommandLine.IndexOf(' ') + 1)..] : "";
        string installed = $"{f.Name}{(f.PackageVersion is null ? "" : " " + f.PackageVersion)}";
        string preamble = "";

        // 1. Its own switch or option, where the installed build has one.
        if (MptcpPrograms.Find(f) is { } program)
        {
            (bool has, string why) = MptcpPrograms.Has(program, f);
            if (has)
            {
                return program.Kind == MptcpSwitchKind.CommandLine
                    ? (ApplicationRemedy.OwnSwitch, $"Run it with its own switch ({why}): {f.Name} {program.Switch} {args}".TrimEnd(), program.Switch)
                    : (ApplicationRemedy.OwnConfiguration, $"Use its own option ({why}): {program.Configure}.", program.Switch);
            }

            preamble = $"This {installed} has no MPTCP {(program.Kind == MptcpSwitchKind.CommandLine ? "switch" : "option")} ({why}). ";
        }
        else if (f.HasMptcpSwitch)
        {
            return (ApplicationRemedy.OwnSwitch, $"Run it with its own switch: {f.Name} --mptcp {args}".TrimEnd(), "--mptcp");
        }

        // 2. Go: the runtime makes its own system calls, so only Go itself can ask for MPTCP.
        if (f.IsGoBinary == true)
        {
            return Go(f, preamble);
        }

        // 3. Sockets systemd created and handed over: only the socket unit can make them MPTCP.
        if (f.SocketActivated)
        {
            string socket = SocketUnitOf(f);
            if (f.SystemdVersion is { } systemd && DebianPackages.CompareVersions(systemd, SystemdWithMptcpSockets) < 0)
            {
                return (ApplicationRemedy.CannotConvert,
                    $"{preamble}Its listening socket comes from systemd ({socket}), and this systemd {systemd} predates SocketProtocol=mptcp ({SystemdWithMptcpSockets}): neither mptcpize nor the program can change a socket it is handed. Upgrade systemd to {SystemdWithMptcpSockets} or later, or run the service without socket activation{(f.IsStaticallyLinked == true ? "" : " under mptcpize")}.", null);
            }

            return (ApplicationRemedy.SocketUnit,
                $"{preamble}Its listening socket comes from systemd ({socket}): add SocketProtocol=mptcp to the [Socket] section (systemctl edit {socket}; systemd {SystemdWithMptcpSockets} and later), then systemctl restart {socket} {f.ServiceUnit}".TrimEnd() + ".", null);
        }

        // 4. Statically linked: no dynamic loader, so no preloaded library, so no mptcpize.
        if (f.IsStaticallyLinked == true)
        {
            const string instead = "Use a build that asks for MPTCP itself (IPPROTO_MPTCP, or an MPTCP switch), or a dynamically linked build under mptcpize.";
            return (ApplicationRemedy.CannotConvert, f.UnderMptcpize
                ? $"{preamble}It runs under mptcpize, but it is statically linked: the library mptcpize preloads never loads into it, so its sockets stay TCP. {instead}"
                : $"{preamble}It is statically linked: mptcpize cannot convert it (it preloads a library, which only dynamically linked programs load). {instead}", null);
        }

        if (f.UnderMptcpize)
        {
            return (ApplicationRemedy.CannotConvert,
                $"{preamble}It runs under mptcpize, yet its sockets are plain TCP: the program may be static or bypass libc's socket(); use its own MPTCP switch if it has one.", null);
        }

        // 5. A service: mptcpize enable changes its unit for every start.
        if (f.ServiceUnit is { } unit)
        {
            return f.IsUserService
                ? (ApplicationRemedy.MptcpizeService,
                    $"{preamble}It runs as the user service {unit}: run it under mptcpize (package mptcpize) by putting mptcpize run before its ExecStart command (systemctl --user edit --full {unit}), then systemctl --user restart {unit}.", null)
                : (ApplicationRemedy.MptcpizeService,
                    $"{preamble}It runs as the systemd service {unit}: mptcpize enable {unit} (package mptcpize), then systemctl restart {unit}.", null);
        }

        // 6. Anything else that is dynamically linked.
        return (ApplicationRemedy.MptcpizeRun,
            (preamble.Length > 0
                ? $"{preamble.TrimEnd().TrimEnd('.')}: run it under mptcpize (package mptcpize): mptcpize run {f.CommandLine}"
                : $"This {installed} has no MPTCP switch: run it under mptcpize (package mptcpize): mptcpize run {f.CommandLine}").TrimEnd(), null);
    }

    private static (ApplicationRemedy, string, string?) Go(ProcessFacts f, string preamble)
    {
        const string noMptcpize = "mptcpize cannot convert it: Go makes its socket() system calls itself, not through the C library.";
        Version? go = ParseGoVersion(f.GoVersion);
        string built = f.GoVersion is null ? "Go before 1.18" : f.GoVersion;
        if (go is null || go < GoWithMptcp)
        {
            return (ApplicationRemedy.GoRebuild,
                $"{preamble}It was built with {built}, which has no MPTCP: rebuild it with Go {GoWithMptcp} or later and run it with GODEBUG=multipathtcp=1 (from Go {GoListensWithMptcp}, listeners use MPTCP by default). {noMptcpize}", null);
        }

        string? setting = f.GoDebug?.Split(',').Select(s => s.Trim()).LastOrDefault(s => s.StartsWith("multipathtcp=", StringComparison.Ordinal));
        bool listens = f.TcpListeners > 0 && f.MptcpListeners == 0;
        bool dials = f.TcpSockets - f.TcpListeners > 0;
        string how = f.ServiceUnit is { } unit
            ? $"systemctl {(f.IsUserService ? "--user " : "")}edit {unit}, add Environment=GODEBUG=multipathtcp=1 to its [Service] section, then systemctl {(f.IsUserService ? "--user " : "")}restart {unit}"
            : $"GODEBUG=multipathtcp=1 {f.CommandLine}".TrimEnd();
        if (setting is "multipathtcp=1" || (setting is "multipathtcp=2" && !dials) || (setting is "multipathtcp=3" && !listens))
        {
            return (ApplicationRemedy.GoDebug,
                $"{preamble}It is a Go {go} program and GODEBUG already asks for MPTCP ({setting}), yet its sockets are plain TCP: the program turns MPTCP off itself (SetMultipathTCP(false)), or MPTCP was disabled (net.mptcp.enabled=0) when it opened them; restart it once MPTCP is enabled. {noMptcpize}", null);
        }

        string defaults = go >= GoListensWithMptcp
            ? listens
                ? $"Go {GoListensWithMptcp} and later listen with MPTCP by default, yet its listeners are plain TCP: {(setting is null ? "the program turns it off itself (ListenConfig.SetMultipathTCP(false)), or MPTCP was disabled when it started" : $"GODEBUG={setting} turns it off")}. "
                : $"Go {GoListensWithMptcp} and later use MPTCP by default only for listeners, not for the connections it opens. "
            : "";
        return (ApplicationRemedy.GoDebug, $"{preamble}It is a Go {go} program: {defaults}Turn Go's MPTCP on for it: {how}. {noMptcpize}", null);
    }

    private static string SocketUnitOf(ProcessFacts f) =>
        f.SocketUnit ?? (f.ServiceUnit is { } unit ? unit[..^".service".Length].Split('@')[0] + ".socket" : "its .socket unit");
}
