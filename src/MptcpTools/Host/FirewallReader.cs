using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.RegularExpressions;
using MptcpTools.Kernel;

namespace MptcpTools.Host;

/// <summary>
/// Reads every firewall on this host (this network namespace): iptables and ip6tables in their nft-backed
/// and legacy flavours through *-save, nftables through nft -j (leaving out the tables iptables-nft made),
/// and the reverse-path filter settings. A reader that cannot run leaves a note and the others go on.
/// </summary>
public static class FirewallReader
{
    private static readonly (string Tool, string Source, string Family)[] SaveTools =
    {
        ("iptables-nft-save", "iptables", "ip"), ("ip6tables-nft-save", "ip6tables", "ip6"),
        ("iptables-legacy-save", "iptables-legacy", "ip"), ("ip6tables-legacy-save", "ip6tables-legacy", "ip6"),
    };

    public static FirewallRuleset Read(string ipv4ConfDirectory = ReversePathFilter.ConfDirectory, string ufwConfig = "/etc/ufw/ufw.conf",
        string firewalldConfig = "/etc/firewalld/firewalld.conf")
    {
        var set = new FirewallRuleset { FirewalldIpv6RpFilter = KeyValue(firewalldConfig, "IPv6_rpfilter") };
        var iptablesTables = new HashSet<string>(StringComparer.Ordinal);
        foreach ((string _, string source, string _) in SaveTools)
        {
            if (ReadIptables(source, set.Notes, iptablesTables) is { } read)
            {
                set.Chains.AddRange(read.Chains);
                set.Rules.AddRange(read.Rules);
            }
        }

        if (ReadNftables(set.Notes, iptablesTables) is { } nft)
        {
            set.Chains.AddRange(nft.Chains);
            set.Rules.AddRange(nft.Rules);
        }

        set.ReversePathFilters.AddRange(ReversePathFilter.Read(ipv4ConfDirectory));
        if (UfwEnabled(ufwConfig))
        {
            set.Notes.Add(new FirewallReadNote("ufw", FirewallReadProblem.UfwEnabled, "ufw is enabled; its rules live in iptables chains (ufw-*), read with iptables."));
        }

        return set;
    }

    /// <summary>Whether ufw is enabled (ENABLED=yes in its configuration); it then applies its own sysctl file.</summary>
    public static bool UfwEnabled(string ufwConfig = "/etc/ufw/ufw.conf") =>
        string.Equals(KeyValue(ufwConfig, "ENABLED"), "yes", StringComparison.OrdinalIgnoreCase);

    // KEY=value files (ufw.conf, firewalld.conf): the last assignment of the key; null without one. Bounded.
    private static string? KeyValue(string file, string key)
    {
        try
        {
            string? value = null;
            foreach (string raw in RegularFile.ReadText(file, 1 << 20).Split('\n'))
            {
                string line = raw.Trim();
                int eq = line.IndexOf('=');
                if (eq > 0 && !line.StartsWith('#') && line[..eq].Trim() == key)
                {
                    value = line[(eq + 1)..].Trim().Trim('"');
                }
            }

            return value;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// One iptables flavour (iptables, ip6tables, iptables-legacy, ip6tables-legacy) through its *-save tool;
    /// null when it cannot be read (the reason is in <paramref name="notes"/>). The nft-backed flavours add
    /// their tables ("family/table") to <paramref name="nftTables"/>.
    /// </summary>
    public static (List<FirewallChain> Chains, List<FirewallRule> Rules)? ReadIptables(string source, List<FirewallReadNote> notes, HashSet<string>? nftTables = null)
    {
        (string tool, string _, string family) = SaveTools.FirstOrDefault(t => t.Source == source);
        if (tool is null)
        {
            throw new ArgumentException($"'{source}' is not an iptables flavour.", nameof(source));
        }

        string? text = FirewallTool.Run(tool, Array.Empty<string>(), notes, source);
        if (text is null)
        {
            return null;
        }

        if (nftTables is not null && !source.EndsWith("legacy", StringComparison.Ordinal))
        {
            foreach (Match m in Regex.Matches(text, @"^\*(\w+)", RegexOptions.Multiline))
            {
                nftTables.Add($"{family}/{m.Groups[1].Value}");
            }
        }

        return IptablesSave.Parse(text, source, family);
    }

    /// <summary>nftables through nft -j (and nft -a for the rules' text), without the tables iptables-nft made.</summary>
    public static (List<FirewallChain> Chains, List<FirewallRule> Rules)? ReadNftables(List<FirewallReadNote> notes, IReadOnlySet<string>? skipTables = null)
    {
        string? json = FirewallTool.Run("nft", new[] { "-j", "list", "ruleset" }, notes, "nftables");
        if (json is null)
        {
            return null;
        }

        string text = FirewallTool.Run("nft", new[] { "-a", "list", "ruleset" }, notes, "nftables") ?? "";
        try
        {
            return NftablesRuleset.Parse(json, text, skipTables ?? new HashSet<string>());
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            notes.Add(new FirewallReadNote("nftables", FirewallReadProblem.Unparsable, $"nft's JSON could not be read: {e.Message}"));
            return null;
        }
    }
}

/// <summary>Reads net.ipv4.conf.*.rp_filter.</summary>
public static class ReversePathFilter
{
    public const string ConfDirectory = "/proc/sys/net/ipv4/conf";

    /// <summary>Every interface's setting, "all" and "default" among them; unreadable ones are left out.</summary>
    public static List<ReversePathFilterSetting> Read(string confDirectory = ConfDirectory)
    {
        var settings = new List<ReversePathFilterSetting>();
        if (!Directory.Exists(confDirectory))
        {
            return settings;
        }

        foreach (string dir in Directory.EnumerateDirectories(confDirectory).OrderBy(d => d, StringComparer.Ordinal))
        {
            try
            {
                if (int.TryParse(File.ReadAllText(Path.Combine(dir, "rp_filter")).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int value))
                {
                    settings.Add(new ReversePathFilterSetting(Path.GetFileName(dir), value));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }

        return settings;
    }
}
