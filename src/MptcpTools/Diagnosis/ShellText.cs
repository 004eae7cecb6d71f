using System.Collections.Generic;
using System.Linq;

namespace MptcpTools.Diagnosis;

/// <summary>Renders argument vectors as POSIX shell text for people to read or paste. Never parsed back.</summary>
public static class ShellText
{
    /// <summary>The word as is when the shell would not change it, else in single quotes.</summary>
    public static string Quote(string word)
    {
        if (word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || "_@%+=:,./-".Contains(c)))
        {
            return word;
        }

        return "'" + word.Replace("'", "'\\''") + "'";
    }

    public static string Join(IEnumerable<string> words) => string.Join(" ", words.Select(Quote));
}
