using System;

namespace MptcpTools.Kernel;

/// <summary>
/// Shell wildcards as fnmatch(3) reads them (systemd-sysctl's key patterns, process names): '*', '?',
/// bracket sets with ranges and '!' or '^' negation, and '\' escaping the next character.
/// </summary>
public static class Glob
{
    public static bool HasWildcards(string pattern) => pattern.IndexOfAny(new[] { '*', '?', '[' }) >= 0;

    public static bool IsMatch(string pattern, string text, bool ignoreCase = false) =>
        Match(pattern.AsSpan(), text.AsSpan(), ignoreCase);

    private static bool Match(ReadOnlySpan<char> p, ReadOnlySpan<char> t, bool ignoreCase)
    {
        // Iterative with one backtrack point for the last '*': linear for the patterns people write.
        int pi = 0, ti = 0, starP = -1, starT = 0;
        while (ti < t.Length)
        {
            if (pi < p.Length && p[pi] == '*')
            {
                starP = pi++;
                starT = ti;
                continue;
            }

            if (pi < p.Length && Single(p, ref pi, t[ti], ignoreCase) is { } next)
            {
                pi = next;
                ti++;
                continue;
            }

            if (starP < 0)
            {
                return false;
            }

            pi = starP + 1;
            ti = ++starT;
        }

        while (pi < p.Length && p[pi] == '*')
        {
            pi++;
        }

        return pi == p.Length;
    }

    // Matches one pattern element at pi against c; returns the index after the element, or null.
    private static int? Single(ReadOnlySpan<char> p, ref int pi, char c, bool ignoreCase)
    {
        char x = p[pi];
        if (x == '?')
        {
            return pi + 1;
        }

        if (x == '[' && Set(p, pi, c, ignoreCase) is { } after)
        {
            return after.Matched ? after.End : null;
        }

        if (x == '\\' && pi + 1 < p.Length)
        {
            return Same(p[pi + 1], c, ignoreCase) ? pi + 2 : null;
        }

        return Same(x, c, ignoreCase) ? pi + 1 : null;
    }

    // A bracket set starting at p[start] == '['; null when it is not closed (then '[' is literal).
    private static (bool Matched, int End)? Set(ReadOnlySpan<char> p, int start, char c, bool ignoreCase)
    {
        int i = start + 1;
        bool negate = i < p.Length && (p[i] == '!' || p[i] == '^');
        if (negate)
        {
            i++;
        }

        bool matched = false;
        bool first = true;
        while (i < p.Length && (p[i] != ']' || first))
        {
            first = false;
            char low = p[i] == '\\' && i + 1 < p.Length ? p[++i] : p[i];
            char high = low;
            if (i + 2 < p.Length && p[i + 1] == '-' && p[i + 2] != ']')
            {
                high = p[i + 2];
                i += 2;
            }

            char cc = ignoreCase ? char.ToLowerInvariant(c) : c;
            char lo = ignoreCase ? char.ToLowerInvariant(low) : low, hi = ignoreCase ? char.ToLowerInvariant(high) : high;
            if (cc >= lo && cc <= hi)
            {
                matched = true;
            }

            i++;
        }

        return i < p.Length ? (matched != negate, i + 1) : null;
    }

    private static bool Same(char a, char b, bool ignoreCase) =>
        a == b || (ignoreCase && char.ToLowerInvariant(a) == char.ToLowerInvariant(b));
}
