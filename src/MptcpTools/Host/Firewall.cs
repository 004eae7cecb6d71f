using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace MptcpTools.Host;

public enum FirewallEffect
{
    /// <summary>Drops or rejects packets that carry TCP option 30: MPTCP SYNs vanish, or joins do.</summary>
    DropsMptcpOption,
    /// <summary>Removes option 30: the peer never sees MP_CAPABLE, every connection falls back.</summary>
    StripsMptcpOption,
    /// <summary>Admits the port only on some interfaces or source ranges: subflows over the other paths die.</summary>
    BlocksSubflowPath,
    /// <summary>rp_filter=1 on an interface that carries an endpoint.</summary>
    StrictReversePath,
    /// <summary>A rule that may touch MPTCP but that this module cannot judge (u32, bpf, raw payload, opaque xt).</summary>
    Unjudged,
}

/// <summary>One firewall rule (or setting) that gets in MPTCP's way, and what to do about it.</summary>
public sealed class FirewallRuleFinding
{
    /// <summary>nftables, iptables, iptables-legacy, ip6tables, ip6tables-legacy, sysctl.</summary>
    public string Source { get; init; } = "";
    public string Family { get; init; } = "";
    public string? Table { get; init; }
    public string? Chain { get; init; }
    /// <summary>The nftables rule handle.</summary>
    public long? Handle { get; init; }
    /// <summary>The line in the *-save output.</summary>
    public int? Line { get; init; }
    public string Rule { get; init; } = "";
    public FirewallEffect Effect { get; init; }
    /// <summary>Error, Warning or Information.</summary>
    public string Severity { get; init; } = "";
    public string Detail { get; init; } = "";
    public string Remediation { get; init; } = "";

    public override string ToString() => $"{Source} {Family} {Table} {Chain}: {Effect}: {Rule}";
}

/// <summary>What the firewall readers could not read, and why (for the verbose stream).</summary>
public sealed class FirewallReadNote
{
    public FirewallReadNote(string source, string message) { Source = source; Message = message; }
    public string Source { get; }
    public string Message { get; }
}

/// <summary>
/// Reads nftables (nft -j, with nft -a for the rule text), iptables and ip6tables in their nft-backed and
/// legacy flavours (through *-save, since xt targets are opaque in nft's JSON), and rp_filter, and
/// reports each rule that gets in MPTCP's way. The judging of one ruleset text is pure (tests feed it).
/// </summary>
public static class Firewall
{
    private static readonly string[] DropVerdicts = { "drop", "reject" };

    public static (List<FirewallRuleFinding> Findings, List<FirewallReadNote> Notes) Check(int? port, IReadOnlyCollection<string> interfaces)
    {
        var findings = new List<FirewallRuleFinding>();
        var notes = new List<FirewallReadNote>();
        var iptablesTables = new HashSet<string>(StringComparer.Ordinal);
        foreach ((string tool, string source, string family) in new[]
                 {
                     ("iptables-nft-save", "iptables", "ip"), ("ip6tables-nft-save", "ip6tables", "ip6"),
                     ("iptables-legacy-save", "iptables-legacy", "ip"), ("ip6tables-legacy-save", "ip6tables-legacy", "ip6"),
                 })
        {
            string? text = Run(tool, Array.Empty<string>(), notes, source);
            if (text is null)
            {
                continue;
            }

            try
            {
                findings.AddRange(JudgeIptablesSave(text, source, family, port, interfaces));
            }
            catch (Exception e) when (e is FormatException or IndexOutOfRangeException or ArgumentException)
            {
                notes.Add(new FirewallReadNote(source, $"{tool}'s output could not be judged: {e.Message}"));
            }

            if (!source.EndsWith("legacy", StringComparison.Ordinal))
            {
                foreach (Match m in Regex.Matches(text, @"^\*(\w+)", RegexOptions.Multiline))
                {
                    iptablesTables.Add($"{family}/{m.Groups[1].Value}");
                }
            }
        }

        string? json = Run("nft", new[] { "-j", "list", "ruleset" }, notes, "nftables");
        if (json is not null)
        {
            string text = Run("nft", new[] { "-a", "list", "ruleset" }, notes, "nftables") ?? "";
            try
            {
                findings.AddRange(JudgeNftables(json, text, port, interfaces, iptablesTables));
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or IndexOutOfRangeException)
            {
                notes.Add(new FirewallReadNote("nftables", $"nft's JSON could not be judged: {e.Message}"));
            }
        }

        findings.AddRange(CheckReversePath(interfaces, "/proc/sys/net/ipv4/conf"));
        string ufw = "/etc/ufw/ufw.conf";
        if (File.Exists(ufw) && File.ReadLines(ufw).Any(l => l.Trim().Equals("ENABLED=yes", StringComparison.OrdinalIgnoreCase)))
        {
            notes.Add(new FirewallReadNote("ufw", "ufw is enabled; its rules live in iptables chains (ufw-*), judged with iptables."));
        }

        return (findings, notes);
    }

    /// <summary>Judges iptables-save output. Pure.</summary>
    public static List<FirewallRuleFinding> JudgeIptablesSave(string text, string source, string family, int? port, IReadOnlyCollection<string> interfaces)
    {
        var findings = new List<FirewallRuleFinding>();
        string? table = null;
        var policies = new Dictionary<string, string>(StringComparer.Ordinal);
        var portAccepts = new List<(string Chain, int Line, string Rule, string? Iface, string? SourceNet)>();
        var unrestrictedAccept = new HashSet<string>(StringComparer.Ordinal);
        string[] lines = text.Split('\n');
        // The command that changes exactly this flavour, whatever update-alternatives points iptables at.
        string tool = source.EndsWith("-legacy", StringComparison.Ordinal) ? source : source + "-nft";
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].TrimEnd('\r');
            if (line.StartsWith('*'))
            {
                table = line[1..];
                continue;
            }

            if (line.StartsWith(':'))
            {
                string[] parts = line[1..].Split(' ');
                if (parts.Length >= 2)
                {
                    policies[$"{table}/{parts[0]}"] = parts[1];
                }

                continue;
            }

            if (!line.StartsWith("-A ", StringComparison.Ordinal))
            {
                continue;
            }

            string[] tokens = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            string chain = tokens[1];
            string? target = Arg(tokens, "-j");
            FirewallRuleFinding Finding(FirewallEffect effect, string severity, string detail, string remediation) => new()
            {
                Source = source, Family = family, Table = table, Chain = chain, Line = i + 1, Rule = line,
                Effect = effect, Severity = severity, Detail = detail, Remediation = remediation,
            };
            string delete = $"{tool} -t {table} -D {line[3..]}";
            int optionIndex = Array.IndexOf(tokens, "--tcp-option");
            bool negated = optionIndex > 0 && tokens[optionIndex - 1] == "!";
            if (optionIndex > 0 && !negated && optionIndex + 1 < tokens.Length && tokens[optionIndex + 1] == "30"
                && target is not null && (target == "DROP" || target == "REJECT"))
            {
                findings.Add(Finding(FirewallEffect.DropsMptcpOption, "Error",
                    $"Drops every TCP segment that carries option 30 (MPTCP) in {table}/{chain}: MPTCP SYNs go unanswered and the kernel falls back to TCP.",
                    $"Delete the rule: {delete}"));
            }
            else if (target == "TCPOPTSTRIP" && Arg(tokens, "--strip-options") is { } strip
                     && strip.Split(',').Any(o => o == "30" || o.Equals("mptcp", StringComparison.OrdinalIgnoreCase)))
            {
                findings.Add(Finding(FirewallEffect.StripsMptcpOption, "Error",
                    $"Strips TCP option 30 (MPTCP) in {table}/{chain}: peers never see MP_CAPABLE and every connection falls back to TCP.",
                    $"Remove 30 from --strip-options, or delete the rule: {delete}"));
            }
            else if ((target == "DROP" || target == "REJECT") && (Has(tokens, "u32") || Has(tokens, "bpf") || Has(tokens, "string")))
            {
                findings.Add(Finding(FirewallEffect.Unjudged, "Information",
                    "A u32, bpf or string match that drops packets: it may match TCP option 30, and this module cannot tell.",
                    "Read the rule and check it does not match MPTCP options."));
            }

            if (port is { } p && target == "ACCEPT" && (Arg(tokens, "--dport") == p.ToString(CultureInfo.InvariantCulture) || (Arg(tokens, "--dports")?.Split(',').Contains(p.ToString(CultureInfo.InvariantCulture)) ?? false)))
            {
                string? iface = Arg(tokens, "-i");
                string? net = Arg(tokens, "-s");
                if (iface is null && net is null)
                {
                    unrestrictedAccept.Add($"{table}/{chain}");
                }
                else
                {
                    portAccepts.Add((chain, i + 1, line, iface, net));
                }
            }
        }

        if (port is { } portValue)
        {
            foreach (var group in portAccepts.GroupBy(a => a.Chain))
            {
                string key = $"filter/{group.Key}";
                if (unrestrictedAccept.Contains(key) || !policies.TryGetValue(key, out string? policy) || policy != "DROP")
                {
                    continue;
                }

                string[] admitted = group.Select(a => a.Iface ?? a.SourceNet ?? "").Distinct().ToArray();
                string[] others = interfaces.Where(i => !group.Any(a => a.Iface == i)).ToArray();
                if (group.All(a => a.Iface is not null) && others.Length == 0 && interfaces.Count > 0)
                {
                    continue; // every endpoint interface is admitted
                }

                foreach (var accept in group)
                {
                    findings.Add(new FirewallRuleFinding
                    {
                        Source = source, Family = family, Table = "filter", Chain = group.Key, Line = accept.Line, Rule = accept.Rule,
                        Effect = FirewallEffect.BlocksSubflowPath, Severity = "Warning",
                        Detail = $"Port {portValue} is admitted only {(accept.Iface is not null ? $"on {string.Join(", ", admitted)}" : $"from {string.Join(", ", admitted)}")} under a DROP policy: subflows that arrive{(others.Length > 0 ? $" on {string.Join(", ", others)}" : " over other paths")} are dropped.",
                        Remediation = $"Admit the port on every path: {tool} -A {group.Key} -p tcp --dport {portValue} -j ACCEPT (or one rule per subflow interface or source range).",
                    });
                }
            }
        }

        return findings;
    }

    /// <summary>Judges `nft -j list ruleset`, with `nft -a list ruleset` for the rule text. Pure.</summary>
    public static List<FirewallRuleFinding> JudgeNftables(string json, string text, int? port, IReadOnlyCollection<string> interfaces, IReadOnlySet<string> iptablesTables)
    {
        var findings = new List<FirewallRuleFinding>();
        Dictionary<long, string> ruleText = RuleTextByHandle(text);
        using JsonDocument doc = JsonDocument.Parse(json);
        var chains = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        var rules = new List<JsonElement>();
        foreach (JsonElement item in doc.RootElement.GetProperty("nftables").EnumerateArray())
        {
            if (item.TryGetProperty("chain", out JsonElement c))
            {
                chains[$"{Str(c, "family")}/{Str(c, "table")}/{Str(c, "name")}"] = c.Clone();
            }
            else if (item.TryGetProperty("rule", out JsonElement r))
            {
                rules.Add(r.Clone());
            }
        }

        var portAccepts = new List<(JsonElement Rule, string? Iface, string? Net)>();
        var unrestricted = new HashSet<string>(StringComparer.Ordinal);
        foreach (JsonElement rule in rules)
        {
            string family = Str(rule, "family") ?? "", table = Str(rule, "table") ?? "", chain = Str(rule, "chain") ?? "";
            if (iptablesTables.Contains($"{family}/{table}"))
            {
                continue; // an iptables-nft table: judged from iptables-save, where xt targets are readable
            }

            long handle = rule.TryGetProperty("handle", out JsonElement h) ? h.GetInt64() : 0;
            string display = ruleText.TryGetValue(handle, out string? t) ? t : $"handle {handle}";
            JsonElement[] exprs = rule.TryGetProperty("expr", out JsonElement e) ? e.EnumerateArray().ToArray() : Array.Empty<JsonElement>();
            string? verdict = exprs.Select(Verdict).FirstOrDefault(v => v is not null);
            bool mptcpMatch = exprs.Any(x => MatchesMptcpOption(x, out _));
            string? subtype = exprs.Select(x => MatchesMptcpOption(x, out string? s) ? s : null).FirstOrDefault(s => s is not null);
            FirewallRuleFinding Finding(FirewallEffect effect, string severity, string detail, string remediation) => new()
            {
                Source = "nftables", Family = family, Table = table, Chain = chain, Handle = handle, Rule = display,
                Effect = effect, Severity = severity, Detail = detail, Remediation = remediation,
            };
            string delete = $"nft delete rule {family} {table} {chain} handle {handle}";
            if (mptcpMatch && verdict is not null && DropVerdicts.Contains(verdict))
            {
                findings.Add(Finding(FirewallEffect.DropsMptcpOption, "Error",
                    subtype is null
                        ? $"Drops every TCP segment that carries option 30 (MPTCP) in {family} {table} {chain}: MPTCP SYNs go unanswered and the kernel falls back to TCP."
                        : $"Drops TCP segments whose MPTCP option has subtype {subtype} in {family} {table} {chain}.",
                    $"Delete the rule: {delete}"));
            }
            else if (exprs.Any(IsResetMptcp))
            {
                findings.Add(Finding(FirewallEffect.StripsMptcpOption, "Error",
                    $"Resets (strips) TCP option 30 (MPTCP) in {family} {table} {chain}: peers never see MP_CAPABLE and every connection falls back to TCP.",
                    $"Delete the rule: {delete}"));
            }
            else if (exprs.Any(x => x.TryGetProperty("xt", out _)))
            {
                findings.Add(Finding(FirewallEffect.Unjudged, "Information",
                    "An iptables extension (xt) inside nftables, opaque in nft's JSON, and no iptables-save showed it: it may strip or drop MPTCP options.",
                    "Read it with iptables-nft-save, or check it by hand."));
            }
            else if (verdict is not null && DropVerdicts.Contains(verdict) && exprs.Any(IsRawTcpPayloadMatch))
            {
                findings.Add(Finding(FirewallEffect.Unjudged, "Information",
                    "A raw match on TCP header bytes that drops packets: it may match option 30, and this module cannot tell.",
                    "Read the rule and check it does not match MPTCP options."));
            }

            if (port is { } p && verdict == "accept" && exprs.Any(x => MatchesPort(x, p)))
            {
                string? iface = exprs.Select(x => MatchValue(x, "meta", "iifname")).FirstOrDefault(v => v is not null);
                string? net = exprs.Select(x => MatchValue(x, "payload", "saddr")).FirstOrDefault(v => v is not null);
                if (iface is null && net is null)
                {
                    unrestricted.Add($"{family}/{table}/{chain}");
                }
                else
                {
                    portAccepts.Add((rule, iface, net));
                }
            }
        }

        if (port is { } portValue)
        {
            foreach (var group in portAccepts.GroupBy(a => $"{Str(a.Rule, "family")}/{Str(a.Rule, "table")}/{Str(a.Rule, "chain")}"))
            {
                if (unrestricted.Contains(group.Key) || !chains.TryGetValue(group.Key, out JsonElement chain)
                    || Str(chain, "policy") != "drop" || Str(chain, "hook") is not ("input" or "forward"))
                {
                    continue;
                }

                string[] admitted = group.Select(a => a.Iface ?? a.Net ?? "").Distinct().ToArray();
                string[] others = interfaces.Where(i => !group.Any(a => a.Iface == i)).ToArray();
                if (group.All(a => a.Iface is not null) && others.Length == 0 && interfaces.Count > 0)
                {
                    continue;
                }

                foreach (var accept in group)
                {
                    long handle = accept.Rule.TryGetProperty("handle", out JsonElement h) ? h.GetInt64() : 0;
                    findings.Add(new FirewallRuleFinding
                    {
                        Source = "nftables", Family = Str(accept.Rule, "family") ?? "", Table = Str(accept.Rule, "table"), Chain = Str(accept.Rule, "chain"),
                        Handle = handle, Rule = ruleText.TryGetValue(handle, out string? t) ? t : $"handle {handle}",
                        Effect = FirewallEffect.BlocksSubflowPath, Severity = "Warning",
                        Detail = $"Port {portValue} is admitted only {(accept.Iface is not null ? $"on {string.Join(", ", admitted)}" : $"from {string.Join(", ", admitted)}")} under a drop policy: subflows that arrive{(others.Length > 0 ? $" on {string.Join(", ", others)}" : " over other paths")} are dropped.",
                        Remediation = $"Admit the port on every path: nft add rule {Str(accept.Rule, "family")} {Str(accept.Rule, "table")} {Str(accept.Rule, "chain")} tcp dport {portValue} accept",
                    });
                }
            }
        }

        return findings;
    }

    /// <summary>rp_filter=1 (strict) on the given interfaces, from /proc/sys/net/ipv4/conf (max of all and the interface).</summary>
    public static List<FirewallRuleFinding> CheckReversePath(IReadOnlyCollection<string> interfaces, string confDir)
    {
        var findings = new List<FirewallRuleFinding>();
        int all = ReadInt(Path.Combine(confDir, "all", "rp_filter")) ?? 0;
        foreach (string iface in interfaces)
        {
            int? own = ReadInt(Path.Combine(confDir, iface, "rp_filter"));
            if (own is null)
            {
                continue;
            }

            int effective = Math.Max(all, own.Value);
            if (effective == 1)
            {
                findings.Add(new FirewallRuleFinding
                {
                    Source = "sysctl", Family = "ip", Rule = $"net.ipv4.conf.{iface}.rp_filter = {own} (all = {all})",
                    Effect = FirewallEffect.StrictReversePath, Severity = "Warning",
                    Detail = $"Strict reverse-path filtering on {iface}, which carries an MPTCP endpoint: packets that arrive on {iface} from a source the kernel would route through another interface are dropped, which kills subflows on asymmetric paths.",
                    Remediation = $"Use loose mode: sysctl -w net.ipv4.conf.{iface}.rp_filter=2{(all == 1 ? " net.ipv4.conf.all.rp_filter=2" : "")}, and make it persistent in /etc/sysctl.d.",
                });
            }
        }

        return findings;
    }

    private static Dictionary<long, string> RuleTextByHandle(string text)
    {
        var map = new Dictionary<long, string>();
        foreach (string raw in text.Split('\n'))
        {
            Match m = Regex.Match(raw, @"^\s*(.*?)\s+# handle (\d+)\s*$");
            if (m.Success && !raw.TrimStart().StartsWith("chain ", StringComparison.Ordinal) && !raw.TrimStart().StartsWith("table ", StringComparison.Ordinal))
            {
                map[long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)] = m.Groups[1].Value;
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

        bool mptcp = (option.TryGetProperty("name", out JsonElement n) && n.GetString() == "mptcp")
                     || (option.TryGetProperty("base", out JsonElement b) && b.ValueKind == JsonValueKind.Number && b.GetInt32() == 30);
        if (mptcp && option.TryGetProperty("field", out JsonElement f) && f.GetString() == "subtype" && match.TryGetProperty("right", out JsonElement r))
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

    private static bool IsResetMptcp(JsonElement expr) =>
        expr.TryGetProperty("reset", out JsonElement reset) && reset.TryGetProperty("tcp option", out JsonElement o)
        && ((o.TryGetProperty("name", out JsonElement n) && n.GetString() == "mptcp") || (o.TryGetProperty("base", out JsonElement b) && b.ValueKind == JsonValueKind.Number && b.GetInt32() == 30));

    private static bool IsRawTcpPayloadMatch(JsonElement expr) =>
        expr.TryGetProperty("match", out JsonElement m) && m.TryGetProperty("left", out JsonElement l)
        && l.TryGetProperty("payload", out JsonElement p) && p.TryGetProperty("base", out JsonElement b) && b.GetString() == "th";

    private static bool MatchesPort(JsonElement expr, int port)
    {
        if (!expr.TryGetProperty("match", out JsonElement m) || !m.TryGetProperty("left", out JsonElement l)
            || !l.TryGetProperty("payload", out JsonElement p) || !(p.TryGetProperty("field", out JsonElement f) && f.GetString() == "dport"))
        {
            return false;
        }

        JsonElement right = m.GetProperty("right");
        return right.ValueKind switch
        {
            JsonValueKind.Number => right.GetInt32() == port,
            JsonValueKind.Object when right.TryGetProperty("set", out JsonElement set) => set.EnumerateArray().Any(v => v.ValueKind == JsonValueKind.Number && v.GetInt32() == port
                || (v.ValueKind == JsonValueKind.Object && v.TryGetProperty("range", out JsonElement r) && r[0].GetInt32() <= port && port <= r[1].GetInt32())),
            JsonValueKind.Object when right.TryGetProperty("range", out JsonElement range) => range[0].GetInt32() <= port && port <= range[1].GetInt32(),
            _ => false,
        };
    }

    private static string? MatchValue(JsonElement expr, string kind, string key)
    {
        if (!expr.TryGetProperty("match", out JsonElement m) || !m.TryGetProperty("left", out JsonElement l) || !l.TryGetProperty(kind, out JsonElement k))
        {
            return null;
        }

        bool hit = kind == "meta" ? k.TryGetProperty("key", out JsonElement mk) && mk.GetString() == key
            : k.TryGetProperty("field", out JsonElement pf) && pf.GetString() == key;
        if (!hit)
        {
            return null;
        }

        JsonElement right = m.GetProperty("right");
        return right.ValueKind == JsonValueKind.Object && right.TryGetProperty("prefix", out JsonElement prefix)
            ? $"{prefix.GetProperty("addr").GetString()}/{prefix.GetProperty("len").GetInt32()}"
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

    private static string? Str(JsonElement e, string name) => e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static string? Arg(string[] tokens, string name)
    {
        int i = Array.IndexOf(tokens, name);
        return i >= 0 && i + 1 < tokens.Length ? tokens[i + 1] : null;
    }

    private static bool Has(string[] tokens, string module)
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

    private static int? ReadInt(string path)
    {
        try
        {
            return int.TryParse(File.ReadAllText(path).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Runs one firewall command of the kind Remediation gives ("nft delete rule ...", "iptables -t T -D ..."),
    /// through the firewall's own tool. Returns whether it succeeded, and its error text.
    /// </summary>
    public static (bool Succeeded, string Error) Apply(string command)
    {
        string[] words = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0 || !(words[0] is "nft" || words[0].StartsWith("iptables", StringComparison.Ordinal) || words[0].StartsWith("ip6tables", StringComparison.Ordinal)))
        {
            return (false, $"not a firewall command: {command}");
        }

        var notes = new List<FirewallReadNote>();
        return Run(words[0], words[1..], notes, words[0]) is null ? (false, notes.LastOrDefault()?.Message ?? "failed") : (true, "");
    }

    // The documented readers of nftables and iptables rules (DEVELOPERS.md): nft -j and the *-save tools.
    private static string? Run(string tool, string[] args, List<FirewallReadNote> notes, string source)
    {
        string? path = new[] { "/usr/sbin", "/sbin", "/usr/bin", "/bin" }.Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);
        if (path is null)
        {
            notes.Add(new FirewallReadNote(source, $"{tool} is not installed: {source} rules were not read."));
            return null;
        }

        var psi = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
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
            notes.Add(new FirewallReadNote(source, $"{tool} could not be started: {e.Message}"));
            return null;
        }

        using var _ = process;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(10000))
        {
            process.Kill(true);
            notes.Add(new FirewallReadNote(source, $"{tool} did not finish within 10 s."));
            return null;
        }

        if (process.ExitCode != 0)
        {
            notes.Add(new FirewallReadNote(source, $"{tool} failed ({process.ExitCode}): {stderr.Result.Trim()}"));
            return null;
        }

        return stdout.Result;
    }
}
