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
    /// <summary>The Debian package that installed the executable, when the caller looked it up (Host.DebianPackages).</summary>
    public string? Package { get; init; }
    public string? PackageVersion { get; init; }

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
        bool mptcpize = environ.Split('\0').Any(v => v.StartsWith("LD_PRELOAD=", StringComparison.Ordinal) && v.Contains("libmptcpwrap", StringComparison.Ordinal))
                        || maps.Contains("libmptcpwrap", StringComparison.Ordinal);
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
            HasMptcpSwitch = exe is not null && OwnFiles(exe, name, maps).Any(f => RegularFile.Contains(f, "--mptcp"u8, MaxScannedBytes)),
            NetworkNamespace = netns,
            NetworkNamespaceName = other && netns is { } inode ? ProcessTable.NamedNetworkNamespaces().GetValueOrDefault(inode) : null,
            InOtherNetworkNamespace = other,
        };
    }

    // The executable and the libraries named after the program (libiperf for iperf3).
    private static IEnumerable<string> OwnFiles(string exe, string name, string maps)
    {
        yield return exe;
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
