using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace MptcpTools.Host;

/// <summary>
/// Reads iptables-save output (nft-backed or legacy) into chains and rules. xt targets such as TCPOPTSTRIP
/// are opaque in nft's JSON, which is why iptables rules are read here. Pure: tests feed it text.
/// </summary>
public static class IptablesSave
{
    /// <summary>The -A lines of one tool's output, with each rule's arguments as iptables-restore reads them.</summary>
    public static (List<FirewallChain> Chains, List<FirewallRule> Rules) Parse(string text, string source, string family)
    {
        var chains = new List<FirewallChain>();
        var rules = new List<FirewallRule>();
        var positions = new Dictionary<string, int>(StringComparer.Ordinal);
        string table = "";
        string[] lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].TrimEnd('\r');
            if (line.StartsWith('*'))
            {
                table = line[1..].Trim();
                continue;
            }

            if (line.StartsWith(':'))
            {
                string[] parts = line[1..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length >= 2)
                {
                    // Built-in chains carry a policy; user chains show "-".
                    string? policy = parts[1] == "-" ? null : parts[1].ToLowerInvariant();
                    chains.Add(new FirewallChain(source, family, table, parts[0], policy is null ? null : parts[0].ToLowerInvariant(), policy));
                }

                continue;
            }

            if (!line.StartsWith("-A ", StringComparison.Ordinal))
            {
                continue;
            }

            List<string> tokens = Tokenize(line);
            if (tokens.Count < 2)
            {
                continue;
            }

            string chain = tokens[1];
            string[] arguments = tokens.Skip(2).ToArray();
            int position = positions[$"{table}/{chain}"] = positions.GetValueOrDefault($"{table}/{chain}") + 1;
            string? target = Arg(arguments, "-j") ?? Arg(arguments, "--jump");
            int optionIndex = Array.IndexOf(arguments, "--tcp-option");
            bool negated = optionIndex > 0 && arguments[optionIndex - 1] == "!";
            string? strip = target == "TCPOPTSTRIP" ? Arg(arguments, "--strip-options") : null;
            string? opaque = new[] { "u32", "bpf", "string" }.FirstOrDefault(m => HasModule(arguments, m));
            rules.Add(new FirewallRule
            {
                Source = source, Family = family, Table = table, Chain = chain, Line = i + 1, Position = position,
                Text = line, Arguments = arguments, Verdict = target?.ToLowerInvariant(),
                MatchesMptcpOption = optionIndex >= 0 && !negated && optionIndex + 1 < arguments.Length && arguments[optionIndex + 1] == "30",
                StripsMptcpOption = strip is not null && strip.Split(',').Any(o => o == "30" || o.Equals("mptcp", StringComparison.OrdinalIgnoreCase)),
                OpaqueMatch = opaque,
                // -m rpfilter --invert -j DROP drops what fails the check; --loose accepts any route back.
                ReversePathCheck = HasModule(arguments, "rpfilter") && Array.IndexOf(arguments, "--invert") >= 0
                    ? (Array.IndexOf(arguments, "--loose") >= 0 ? "loose" : "strict")
                    : null,
                InputInterface = Arg(arguments, "-i"),
                SourceNetwork = Arg(arguments, "-s"),
                DestinationPorts = Ports(Arg(arguments, "--dport") ?? Arg(arguments, "--dports")),
            });
        }

        return (chains, rules);
    }

    /// <summary>
    /// Splits a line as iptables-restore does (add_param_to_argv): white space separates, double quotes
    /// group, and inside quotes a backslash takes the next character literally (iptables-save writes \" and \\).
    /// </summary>
    public static List<string> Tokenize(string line)
    {
        var tokens = new List<string>();
        var current = new StringBuilder();
        bool quoted = false, inToken = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '\\' && i + 1 < line.Length)
                {
                    current.Append(line[++i]);
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    current.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = inToken = true;
            }
            else if (c is ' ' or '\t')
            {
                if (inToken)
                {
                    tokens.Add(current.ToString());
                    current.Clear();
                    inToken = false;
                }
            }
            else
            {
                current.Append(c);
                inToken = true;
            }
        }

        if (inToken)
        {
            tokens.Add(current.ToString());
        }

        return tokens;
    }

    private static PortRange[] Ports(string? text)
    {
        if (text is null)
        {
            return Array.Empty<PortRange>();
        }

        var ranges = new List<PortRange>();
        foreach (string part in text.Split(','))
        {
            string[] ends = part.Split(':');
            if (int.TryParse(ends[0], NumberStyles.None, CultureInfo.InvariantCulture, out int from))
            {
                int to = ends.Length > 1 && int.TryParse(ends[1], NumberStyles.None, CultureInfo.InvariantCulture, out int t) ? t : from;
                ranges.Add(new PortRange(from, to));
            }
        }

        return ranges.ToArray();
    }

    private static string? Arg(string[] tokens, string name)
    {
        int i = Array.IndexOf(tokens, name);
        return i >= 0 && i + 1 < tokens.Length ? tokens[i + 1] : null;
    }

    private static bool HasModule(string[] tokens, string module)
    {
        for (int i = 0; i + 1 < tokens.Length; i++)
        {
            if (tokens[i] == "-m" && tokens[i + 1] == module)
            {
                return true;
            }
        }

        return false;
    }
}
