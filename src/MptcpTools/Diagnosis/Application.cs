using MptcpTools.Kernel;

namespace MptcpTools.Diagnosis;

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
    /// <summary>The program's own MPTCP switch, when its executable has one ("--mptcp").</summary>
    public string? MptcpSwitch { get; init; }
    public string Verdict { get; init; } = "";
    /// <summary>The network namespace it runs in, when that is not the one of the check (its name under /run/netns, or its inode).</summary>
    public string? OtherNetworkNamespace { get; init; }
    /// <summary>What to do, with the exact command; empty when it already uses MPTCP.</summary>
    public string Remediation { get; init; } = "";

    public override string ToString() => $"{Name} ({ProcessId}): {Verdict}";
}

/// <summary>Pure judgment of a process's sockets.</summary>
public static class ApplicationJudge
{
    /// <summary>A namespace as people name it: its name under /run/netns, else net:[INODE].</summary>
    public static string NamespaceLabel(ProcessFacts f) =>
        f.NetworkNamespaceName is { } name ? $"'{name}'" : $"net:[{f.NetworkNamespace}]";

    /// <summary>The command prefix that runs something in the process's network namespace.</summary>
    public static string EnterNamespace(ProcessFacts f) =>
        f.NetworkNamespaceName is { } name ? $"ip netns exec {ShellText.Quote(name)}" : $"nsenter --net=/proc/{f.ProcessId}/ns/net";

    public static MptcpApplicationReport Judge(ProcessFacts f)
    {
        bool uses = f.MptcpSockets > 0;
        string verdict;
        string remediation = "";
        string? elsewhere = f.InOtherNetworkNamespace ? NamespaceLabel(f) : null;
        if (elsewhere is not null)
        {
            // Its sockets are not in this namespace's dumps: nothing about MPTCP can be told from here.
            verdict = $"Runs in network namespace {elsewhere}, not in this one: its sockets, MPTCP endpoints and sysctls are that namespace's.";
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
            string args = f.CommandLine.Contains(' ') ? f.CommandLine[(f.CommandLine.IndexOf(' ') + 1)..] : "";
            if (f.UnderMptcpize)
            {
                remediation = "It runs under mptcpize, yet its sockets are plain TCP: the program may be static or bypass libc's socket(); use its own MPTCP switch if it has one.";
            }
            else if (f.HasMptcpSwitch)
            {
                remediation = $"Run it with its own switch: {f.Name} --mptcp {args}".TrimEnd();
            }
            else
            {
                remediation = $"This {f.Name}{(f.PackageVersion is null ? "" : " " + f.PackageVersion)} has no MPTCP switch: run it under mptcpize (package mptcpize): mptcpize run {f.CommandLine}".TrimEnd();
            }
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
            MptcpSwitch = f.HasMptcpSwitch ? "--mptcp" : null,
            OtherNetworkNamespace = elsewhere,
            Verdict = verdict,
            Remediation = remediation,
        };
    }
}
