using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;

namespace MptcpTools.Host;

/// <summary>A firewall change the tool refused, with its error text.</summary>
public sealed class FirewallChangeException : Exception
{
    public FirewallChangeException(string message) : base(message) { }
}

/// <summary>
/// The firewall changes the module makes: deleting one rule, named by what identifies it. Arguments go
/// to the tools as an argument vector or as JSON on standard input, never through a shell or a string
/// split on spaces, so a comment with spaces or quotes is passed as it is.
/// </summary>
public static class FirewallChanges
{
    /// <summary>The iptables sources this module reads, and the command that changes each flavour.</summary>
    public static readonly IReadOnlyDictionary<string, string> IptablesCommands = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["iptables"] = "iptables-nft", ["ip6tables"] = "ip6tables-nft",
        ["iptables-legacy"] = "iptables-legacy", ["ip6tables-legacy"] = "ip6tables-legacy",
    };

    /// <summary>nft delete rule FAMILY TABLE CHAIN handle HANDLE, sent as libnftables JSON (nft -j -f -).</summary>
    public static void DeleteNftablesRule(string family, string table, string chain, long handle)
    {
        string json = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["nftables"] = new object[]
            {
                new Dictionary<string, object>
                {
                    ["delete"] = new Dictionary<string, object>
                    {
                        ["rule"] = new Dictionary<string, object> { ["family"] = family, ["table"] = table, ["chain"] = chain, ["handle"] = handle },
                    },
                },
            },
        });
        Check(FirewallTool.Execute("nft", new[] { "-j", "-f", "-" }, json));
    }

    /// <summary>IPTABLES -t TABLE -D CHAIN ARGUMENTS..., with the rule's arguments as iptables-save listed them.</summary>
    public static void DeleteIptablesRule(string source, string table, string chain, IReadOnlyList<string> arguments)
    {
        if (!IptablesCommands.TryGetValue(source, out string? tool))
        {
            throw new FirewallChangeException($"'{source}' is not an iptables flavour this module changes.");
        }

        Check(FirewallTool.Execute(tool, new[] { "-t", table, "-D", chain }.Concat(arguments).ToArray()));
    }

    private static void Check((bool Succeeded, string Output, FirewallReadProblem Problem, string Error) result)
    {
        if (!result.Succeeded)
        {
            throw new FirewallChangeException(result.Error);
        }
    }
}
