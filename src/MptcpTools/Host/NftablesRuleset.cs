using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace MptcpTools.Host;

/// <summary>
/// Reads `nft -j list ruleset` into chains and rules, with `nft -a list ruleset` for each rule's text
/// (by handle). Pure: tests feed it real output.
/// </summary>
public static class NftablesRuleset
{
    /// <summary>
    /// Parses the ruleset. Tables named in <paramref name="skipTables"/> ("family/table") are left out:
    /// iptables-nft made them, and they are read through iptables-save, where xt targets are readable.
    /// Throws JsonException (or FormatException) on output it cannot read.
    /// </summary>
    public static (List<FirewallChain> Chains, List<FirewallRule> Rules) Parse(string json, string text, IReadOnlySet<string> skipTables)
    {
        var chains = new List<FirewallChain>();
        var rules = new List<FirewallRule>();
        Dictionary<string, string> ruleText = RuleTextByHandle(text);
        var positions = new Dictionary<string, int>(StringComparer.Ordinal);
        using JsonDocument doc = JsonDocument.Parse(json);
        foreach (JsonElement item in doc.RootElement.GetProperty("nftables").EnumerateArray())
        {
            if (item.TryGetProperty("chain", out JsonElement c))
            {
                string family = Str(c, "family") ?? "", table = Str(c, "table") ?? "";
                if (!skipTables.Contains($"{family}/{table}"))
                {
                    chains.Add(new FirewallChain("nftables", family, table, Str(c, "name") ?? "", Str(c, "hook"), Str(c, "policy")));
                }

                continue;
            }

            if (!item.TryGetProperty("rule", out JsonElement rule))
            {
                continue;
            }

            string f = Str(rule, "family") ?? "", t = Str(rule, "table") ?? "", ch = Str(rule, "chain") ?? "";
            if (skipTables.Contains($"{f}/{t}"))
            {
                continue;
            }

            long handle = rule.TryGetProperty("handle", out JsonElement h) && h.ValueKind == JsonValueKind.Number ? h.GetInt64() : 0;
            JsonElement[] exprs = rule.TryGetProperty("expr", out JsonElement e) && e.ValueKind == JsonValueKind.Array ? e.EnumerateArray().ToArray() : Array.Empty<JsonElement>();
            string? subtype = null;
            bool mptcp = false;
            foreach (JsonElement x in exprs)
            {
                if (MatchesMptcpOption(x, out string? s))
                {
                    mptcp = true;
                    subtype ??= s;
                }
            }

            string? verdict = exprs.Select(Verdict).FirstOrDefault(v => v is not null);
            int position = positions[$"{f}/{t}/{ch}"] = positions.GetValueOrDefault($"{f}/{t}/{ch}") + 1;
            rules.Add(new FirewallRule
            {
                Source = "nftables", Family = f, Table = t, Chain = ch, Handle = handle, Position = position,
                Text = ruleText.TryGetValue($"{f}/{t}/{handle}", out string? display) ? display : $"handle {handle}",
                Json = rule.GetRawText(),
                Verdict = verdict,
                MatchesMptcpOption = mptcp,
                MptcpSubtype = subtype,
                StripsMptcpOption = exprs.Any(IsResetMptcp),
                OpaqueMatch = exprs.Any(x => x.TryGetProperty("xt", out _)) ? "xt" : exprs.Any(IsRawTcpHeaderMatch) ? "raw TCP header" : null,
                ReversePathCheck = exprs.Select(ReversePathCheck).FirstOrDefault(c => c is not null),
                InputInterface = exprs.Select(x => MatchValue(x, "meta", "iifname")).FirstOrDefault(v => v is not null),
                SourceNetwork = exprs.Select(x => MatchValue(x, "payload", "saddr")).FirstOrDefault(v => v is not null),
                DestinationPorts = exprs.SelectMany(DestinationPorts).ToArray(),
            });
        }

        return (chains, rules);
    }

    // Handles are unique within a table, not across the ruleset: the text is keyed by family, table and handle.
    private static Dictionary<string, string> RuleTextByHandle(string text)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        string? table = null;
        bool inChain = false;
        foreach (string raw in text.Split('\n'))
        {
            string line = raw.Trim();
            Match t = Regex.Match(line, @"^table (\S+) (.+?) \{");
            if (t.Success)
            {
                table = $"{t.Groups[1].Value}/{t.Groups[2].Value.Trim('"')}";
                inChain = false;
                continue;
            }

            if (Regex.IsMatch(line, @"^chain .+ \{"))
            {
                inChain = true;
                continue;
            }

            if (line == "}")
            {
                inChain = false; // a chain closes first; the table's own brace only ends a table we leave anyway
                continue;
            }

            Match m = Regex.Match(line, @"^(.*?)\s+# handle (\d+)$");
            if (inChain && table is not null && m.Success && long.TryParse(m.Groups[2].Value, NumberStyles.None, CultureInfo.InvariantCulture, out long handle))
            {
                map[$"{table}/{handle}"] = m.Groups[1].Value;
            }
        }

        return map;
    }

    private static bool MatchesMptcpOption(JsonElement expr, out string? subtype)
    {
        subtype = null;
        if (!expr.TryGetProperty("match", out JsonElement match) || !match.TryGetProperty("left", out JsonElement left)
            || !left.TryGetProperty("tcp option", out JsonElement option))
        {
            return false;
        }

        bool mptcp = IsMptcpOption(option);
        if (mptcp && option.TryGetProperty("field", out JsonElement f) && f.ValueKind == JsonValueKind.String && f.GetString() == "subtype"
            && match.TryGetProperty("right", out JsonElement r))
        {
            subtype = r.ToString();
        }

        // "exists" is right == true; "missing" (right == false) matches segments without the option.
        if (mptcp && match.TryGetProperty("right", out JsonElement right) && right.ValueKind == JsonValueKind.False)
        {
            return false;
        }

        return mptcp;
    }

    // fib saddr [. iif] oif missing: the source has no route back (through the interface it came in on, with iif).
    private static string? ReversePathCheck(JsonElement expr)
    {
        if (!expr.TryGetProperty("match", out JsonElement m) || !m.TryGetProperty("left", out JsonElement l) || !l.TryGetProperty("fib", out JsonElement fib)
            || !m.TryGetProperty("right", out JsonElement right) || right.ValueKind != JsonValueKind.False
            || !fib.TryGetProperty("flags", out JsonElement flags) || flags.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        string[] names = flags.EnumerateArray().Where(f => f.ValueKind == JsonValueKind.String).Select(f => f.GetString()!).ToArray();
        return !names.Contains("saddr") ? null : names.Contains("iif") ? "strict" : "loose";
    }

    private static bool IsMptcpOption(JsonElement option) =>
        (option.TryGetProperty("name", out JsonElement n) && n.ValueKind == JsonValueKind.String && n.GetString() == "mptcp")
        || (option.TryGetProperty("base", out JsonElement b) && b.ValueKind == JsonValueKind.Number && b.GetInt32() == 30);

    private static bool IsResetMptcp(JsonElement expr) =>
        expr.TryGetProperty("reset", out JsonElement reset) && reset.TryGetProperty("tcp option", out JsonElement o) && IsMptcpOption(o);

    private static bool IsRawTcpHeaderMatch(JsonElement expr) =>
        expr.TryGetProperty("match", out JsonElement m) && m.TryGetProperty("left", out JsonElement l)
        && l.TryGetProperty("payload", out JsonElement p) && p.TryGetProperty("base", out JsonElement b)
        && b.ValueKind == JsonValueKind.String && b.GetString() == "th";

    private static IEnumerable<PortRange> DestinationPorts(JsonElement expr)
    {
        if (!expr.TryGetProperty("match", out JsonElement m) || !m.TryGetProperty("left", out JsonElement l)
            || !l.TryGetProperty("payload", out JsonElement p) || !(p.TryGetProperty("field", out JsonElement f) && f.ValueKind == JsonValueKind.String && f.GetString() == "dport")
            || !m.TryGetProperty("right", out JsonElement right))
        {
            yield break;
        }

        if (right.ValueKind == JsonValueKind.Number)
        {
            yield return new PortRange(right.GetInt32(), right.GetInt32());
        }
        else if (right.ValueKind == JsonValueKind.Object && right.TryGetProperty("set", out JsonElement set) && set.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement v in set.EnumerateArray())
            {
                if (v.ValueKind == JsonValueKind.Number)
                {
                    yield return new PortRange(v.GetInt32(), v.GetInt32());
                }
                else if (Range(v) is { } r)
                {
                    yield return r;
                }
            }
        }
        else if (Range(right) is { } r)
        {
            yield return r;
        }
    }

    private static PortRange? Range(JsonElement v) =>
        v.ValueKind == JsonValueKind.Object && v.TryGetProperty("range", out JsonElement r) && r.ValueKind == JsonValueKind.Array && r.GetArrayLength() == 2
        && r[0].ValueKind == JsonValueKind.Number && r[1].ValueKind == JsonValueKind.Number
            ? new PortRange(r[0].GetInt32(), r[1].GetInt32())
            : null;

    private static string? MatchValue(JsonElement expr, string kind, string key)
    {
        if (!expr.TryGetProperty("match", out JsonElement m) || !m.TryGetProperty("left", out JsonElement l) || !l.TryGetProperty(kind, out JsonElement k)
            || !m.TryGetProperty("right", out JsonElement right))
        {
            return null;
        }

        bool hit = kind == "meta"
            ? k.TryGetProperty("key", out JsonElement mk) && mk.ValueKind == JsonValueKind.String && mk.GetString() == key
            : k.TryGetProperty("field", out JsonElement pf) && pf.ValueKind == JsonValueKind.String && pf.GetString() == key;
        if (!hit)
        {
            return null;
        }

        return right.ValueKind == JsonValueKind.Object && right.TryGetProperty("prefix", out JsonElement prefix)
               && prefix.TryGetProperty("addr", out JsonElement addr) && prefix.TryGetProperty("len", out JsonElement len)
            ? $"{addr}/{len}"
            : right.ToString();
    }

    private static string? Verdict(JsonElement expr)
    {
        foreach (string v in new[] { "accept", "drop", "reject", "jump", "goto", "return" })
        {
            if (expr.TryGetProperty(v, out _))
            {
                return v;
            }
        }

        return null;
    }

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
