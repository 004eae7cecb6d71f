using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;

namespace MptcpTools.Host;

/// <summary>
/// Runs the firewall tools the module is allowed to run (nft and the iptables front ends), with an argument
/// vector (never a string split on spaces) and optional standard input. The documented readers of nftables
/// and iptables rules are nft -j and the *-save tools.
/// </summary>
internal static class FirewallTool
{
    private static readonly HashSet<string> Allowed = new(StringComparer.Ordinal)
    {
        "nft",
        "iptables-nft", "ip6tables-nft", "iptables-legacy", "ip6tables-legacy",
        "iptables-nft-save", "ip6tables-nft-save", "iptables-legacy-save", "ip6tables-legacy-save",
    };

    private static readonly string[] Directories = { "/usr/sbin", "/sbin", "/usr/bin", "/bin" };

    public static string? Find(string tool) =>
        Allowed.Contains(tool) ? Directories.Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists) : null;

    /// <summary>Runs a tool; a failure is a note for <paramref name="source"/> and a null result.</summary>
    public static string? Run(string tool, IReadOnlyList<string> args, List<FirewallReadNote> notes, string source, string? input = null)
    {
        (bool ok, string output, FirewallReadProblem problem, string error) = Execute(tool, args, input);
        if (!ok)
        {
            notes.Add(new FirewallReadNote(source, problem, error));
            return null;
        }

        return output;
    }

    /// <summary>Runs a tool and says whether it succeeded, its output, and if not, why.</summary>
    public static (bool Succeeded, string Output, FirewallReadProblem Problem, string Error) Execute(string tool, IReadOnlyList<string> args, string? input = null)
    {
        string? path = Find(tool);
        if (path is null)
        {
            return (false, "", FirewallReadProblem.NotInstalled, $"{tool} is not installed.");
        }

        var psi = new ProcessStartInfo(path)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = input is not null, UseShellExecute = false,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        Process process;
        try
        {
            process = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (false, "", FirewallReadProblem.Failed, $"{tool} could not be started: {e.Message}");
        }

        using var _ = process;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (input is not null)
        {
            try
            {
                process.StandardInput.Write(input);
                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // The tool exited before reading: its exit code and stderr say why.
            }
        }

        if (!process.WaitForExit(10000))
        {
            process.Kill(true);
            return (false, "", FirewallReadProblem.Failed, $"{tool} did not finish within 10 s.");
        }

        return process.ExitCode == 0
            ? (true, stdout.Result, FirewallReadProblem.Failed, "")
            : (false, "", NotPermitted(stderr.Result) ? FirewallReadProblem.NotPermitted : FirewallReadProblem.Failed,
                $"{tool} failed ({process.ExitCode}): {stderr.Result.Trim()}");
    }

    // nft and the iptables tools print strerror(EPERM/EACCES) when run without CAP_NET_ADMIN.
    private static bool NotPermitted(string stderr) =>
        stderr.Contains("Operation not permitted", StringComparison.Ordinal) || stderr.Contains("Permission denied", StringComparison.Ordinal)
        || stderr.Contains("must be root", StringComparison.Ordinal);
}
