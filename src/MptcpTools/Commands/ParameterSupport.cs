using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Management.Automation;
using System.Management.Automation.Language;
using MptcpTools.Diagnosis;
using MptcpTools.Kernel;

namespace MptcpTools.Commands;

/// <summary>Lets a TimeSpan parameter take plain numbers as seconds (`-Interval 5`), as admins expect.</summary>
public sealed class SecondsTransformationAttribute : ArgumentTransformationAttribute
{
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        object value = inputData is PSObject pso ? pso.BaseObject : inputData;
        return value switch
        {
            TimeSpan span => span,
            int or long or short or byte or uint or ulong or ushort or sbyte => TimeSpan.FromSeconds(Convert.ToDouble(value, CultureInfo.InvariantCulture)),
            double or float or decimal => TimeSpan.FromSeconds(Convert.ToDouble(value, CultureInfo.InvariantCulture)),
            string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) => TimeSpan.FromSeconds(seconds),
            string s when TimeSpan.TryParse(s, CultureInfo.InvariantCulture, out TimeSpan parsed) => parsed,
            _ => throw new ArgumentTransformationMetadataException($"'{inputData}' is neither a number of seconds nor a time span."),
        };
    }
}

/// <summary>
/// An endpoint address, strictly: IPv4 only as four dotted numbers (.NET would read "1.2.3" as 1.2.0.3), and never an
/// address no host can have as its own (0.0.0.0, ::, a broadcast or multicast address), which the kernel would take.
/// </summary>
public sealed class EndpointAddressTransformationAttribute : ArgumentTransformationAttribute
{
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        object value = inputData is PSObject pso ? pso.BaseObject : inputData;
        IPAddress? address = value as IPAddress;
        if (value is string text)
        {
            text = text.Trim();
            bool v6 = text.Contains(':');
            if ((!v6 && !IsDottedQuad(text)) || !IPAddress.TryParse(text, out address))
            {
                throw new ArgumentTransformationMetadataException($"'{text}' is not an IP address: give IPv4 as four numbers (192.0.2.1) or an IPv6 address.");
            }
        }

        if (address is null)
        {
            return inputData; // PowerShell's own conversion says what is wrong
        }

        if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.Broadcast)
            || address.IsIPv6Multicast || (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && (address.GetAddressBytes()[0] & 0xf0) == 0xe0))
        {
            throw new ArgumentTransformationMetadataException($"{address} cannot be an endpoint: it is not an address of one host (unspecified, broadcast or multicast).");
        }

        return address;
    }

    private static bool IsDottedQuad(string text)
    {
        string[] parts = text.Split('.');
        return parts.Length == 4 && parts.All(p => p.Length is > 0 and <= 3 && p.All(char.IsAsciiDigit) && int.Parse(p, CultureInfo.InvariantCulture) <= 255);
    }
}

/// <summary>Completes interface names of this network namespace.</summary>
public sealed class InterfaceNameCompleter : IArgumentCompleter
{
    /// <summary>The interfaces of this network namespace, by name (empty when /sys/class/net cannot be read).</summary>
    public static string[] Names()
    {
        try
        {
            return Directory.GetDirectories("/sys/class/net").Select(Path.GetFileName).OfType<string>().OrderBy(n => n, StringComparer.Ordinal).ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Array.Empty<string>();
        }
    }

    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        foreach (string name in Names())
        {
            if (name.StartsWith(wordToComplete, StringComparison.Ordinal))
            {
                yield return new CompletionResult(name, name, CompletionResultType.ParameterValue, name);
            }
        }
    }
}

/// <summary>Completes the ids of the endpoints that exist.</summary>
public sealed class EndpointIdCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        IReadOnlyList<MptcpEndpoint> endpoints;
        try
        {
            using MptcpPathManager pm = MptcpPathManager.Open();
            endpoints = pm.GetEndpoints();
        }
        catch (Exception e) when (KernelErrors.IsExpected(e))
        {
            yield break;
        }

        foreach (MptcpEndpoint endpoint in endpoints)
        {
            string id = endpoint.Id.ToString(CultureInfo.InvariantCulture);
            if (id.StartsWith(wordToComplete, StringComparison.Ordinal))
            {
                yield return new CompletionResult(id, $"{id} {endpoint.Address}", CompletionResultType.ParameterValue, endpoint.ToString());
            }
        }
    }
}

/// <summary>
/// Rejects at binding a duration that cannot be meant: negative, zero where zero means nothing, or longer than
/// a wait can last (about 24 days). Runs after <see cref="SecondsTransformationAttribute"/>, on the time span.
/// </summary>
public sealed class ValidateDurationAttribute : ValidateArgumentsAttribute
{
    private static readonly TimeSpan Longest = TimeSpan.FromMilliseconds(int.MaxValue - 1);

    /// <summary>Whether zero is a meaningful value (the parameter's "none").</summary>
    public bool AllowZero { get; set; }

    protected override void Validate(object arguments, EngineIntrinsics engineIntrinsics)
    {
        if ((arguments is PSObject pso ? pso.BaseObject : arguments) is not TimeSpan span)
        {
            return;
        }

        string seconds = span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
        if (span < TimeSpan.Zero || (span == TimeSpan.Zero && !AllowZero))
        {
            throw new ValidationMetadataException(
                $"{seconds} seconds is not a duration this parameter can take: give a number of seconds {(AllowZero ? "of 0 or more" : "above 0")}, or a time span.");
        }

        if (span > Longest)
        {
            throw new ValidationMetadataException($"{seconds} seconds is longer than the module can wait ({Longest.TotalDays:0} days).");
        }
    }
}

/// <summary>
/// Rejects at binding a name pattern that is empty, only white space, or not a wildcard pattern (an unclosed "["):
/// otherwise the cmdlet would match nothing and say nothing, or fail with a raw WildcardPatternException.
/// </summary>
public sealed class ValidateWildcardAttribute : ValidateEnumeratedArgumentsAttribute
{
    protected override void ValidateElement(object element)
    {
        string pattern = (element is PSObject pso ? pso.BaseObject : element)?.ToString() ?? "";
        if (string.IsNullOrWhiteSpace(pattern))
        {
            throw new ValidationMetadataException("An empty name (or only white space) matches nothing: give a name or a wildcard pattern.");
        }

        if (pattern.Contains('\0'))
        {
            throw new ValidationMetadataException("A name cannot hold a NUL character.");
        }

        try
        {
            // Parsing happens on the first match; a match against anything makes a bad pattern say so here.
            new WildcardPattern(pattern, WildcardOptions.IgnoreCase).IsMatch("");
        }
        catch (WildcardPatternException e)
        {
            throw new ValidationMetadataException($"'{pattern}' is not a wildcard pattern: {e.Message} A literal '[' is written '`['.", e);
        }
    }
}

/// <summary>Rejects at binding an interface this network namespace does not have, and names the ones it has.</summary>
public sealed class ValidateInterfaceAttribute : ValidateEnumeratedArgumentsAttribute
{
    /// <summary>Whether "any" (every interface, for a capture) is allowed.</summary>
    public bool AllowAny { get; set; }

    protected override void ValidateElement(object element)
    {
        string name = (element is PSObject pso ? pso.BaseObject : element)?.ToString() ?? "";
        if (Problem(name, AllowAny) is { } problem)
        {
            throw new ValidationMetadataException(problem);
        }
    }

    /// <summary>
    /// Why <paramref name="name"/> is no interface of this network namespace, naming those it has; null when it is one.
    /// For a cmdlet that can only tell once the parameter set is known (an interface of a remote host is not checked here).
    /// </summary>
    public static string? Problem(string? name, bool allowAny)
    {
        name ??= "";
        if ((allowAny && name == "any") || (name.Length is > 0 and < 16 && !name.Contains('\0') && InterfaceNames.IndexOf(name) != 0))
        {
            return null;
        }

        string[] known = InterfaceNameCompleter.Names();
        return $"There is no interface '{name}' in this network namespace{(known.Length > 0 ? $" (it has {string.Join(", ", known)})" : "")}.";
    }
}

/// <summary>
/// Completes process names of this host: those with TCP or MPTCP sockets in this network namespace first (the
/// programs worth asking about), then the others, each name once.
/// </summary>
public sealed class ProcessNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var pattern = new WildcardPattern(wordToComplete.Trim('\'', '"') + "*", WildcardOptions.IgnoreCase);
        HashSet<uint> networked = new();
        try
        {
            SocketInodes sockets = SocketInodes.Load();
            networked.UnionWith(sockets.Tcp);
            networked.UnionWith(sockets.Mptcp);
        }
        catch (Exception e) when (KernelErrors.IsExpected(e))
        {
            // Without the dumps, the names still complete, unordered.
        }

        var withSockets = new SortedSet<string>(StringComparer.Ordinal);
        var others = new SortedSet<string>(StringComparer.Ordinal);
        List<int> pids;
        try
        {
            pids = ProcessTable.FindByName(pattern.IsMatch);
        }
        catch (Exception e) when (KernelErrors.IsExpected(e))
        {
            yield break;
        }

        foreach (int pid in pids)
        {
            if (ProcessTable.CommandName(pid) is { Length: > 0 } name)
            {
                bool hasSockets = networked.Count > 0 && ProcessTable.SocketInodes(pid).Any(networked.Contains);
                (hasSockets ? withSockets : others).Add(name);
            }
        }

        others.ExceptWith(withSockets);
        foreach (string name in withSockets)
        {
            yield return Result(name, "has TCP or MPTCP sockets");
        }

        foreach (string name in others)
        {
            yield return Result(name, "no TCP or MPTCP socket in this namespace");
        }
    }

    private static CompletionResult Result(string name, string note)
    {
        string text = name.IndexOfAny(new[] { ' ', '\'', '"', '$', '`', '(', ')', '{', '}', ';', ',', '[', ']', '*', '?' }) >= 0
            ? "'" + name.Replace("'", "''") + "'" : name;
        return new CompletionResult(text, name, CompletionResultType.ParameterValue, $"{name}: {note}");
    }
}

/// <summary>Completes the MPTcpExt counter names this kernel has (without the prefix).</summary>
public sealed class CounterNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        string path = fakeBoundParameters["Path"] as string ?? "/proc/net/netstat";
        List<KeyValuePair<string, long>> counters;
        try
        {
            counters = MptcpCounterCatalog.Read(path);
        }
        catch (Exception e) when (KernelErrors.IsExpected(e))
        {
            yield break;
        }

        string word = wordToComplete.Trim('\'', '"');
        if (word.StartsWith(MptcpCounterCatalog.Prefix, StringComparison.OrdinalIgnoreCase))
        {
            word = word[MptcpCounterCatalog.Prefix.Length..];
        }

        var pattern = new WildcardPattern(word + "*", WildcardOptions.IgnoreCase);
        foreach (KeyValuePair<string, long> counter in counters.OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            if (pattern.IsMatch(counter.Key))
            {
                yield return new CompletionResult(counter.Key, counter.Key, CompletionResultType.ParameterValue,
                    $"{counter.Key} = {counter.Value}{(MptcpCounterCatalog.Describe(counter.Key) is { } d ? ": " + d : "")}");
            }
        }
    }
}

/// <summary>Completes the addresses configured on this namespace's interfaces (loopback and link-local last).</summary>
public sealed class LocalAddressCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        List<InterfaceAddress> addresses;
        try
        {
            addresses = RouteTable.Addresses();
        }
        catch (Exception e) when (KernelErrors.IsExpected(e))
        {
            yield break;
        }

        string word = wordToComplete.Trim('\'', '"');
        foreach (InterfaceAddress a in addresses
                     .OrderBy(a => System.Net.IPAddress.IsLoopback(a.Address) || a.Address.IsIPv6LinkLocal)
                     .ThenBy(a => a.Address.AddressFamily)
                     .ThenBy(a => a.Interface, StringComparer.Ordinal))
        {
            string text = a.Address.ToString();
            if (text.StartsWith(word, StringComparison.OrdinalIgnoreCase))
            {
                yield return new CompletionResult(text, $"{text} ({a.Interface})", CompletionResultType.ParameterValue,
                    $"{text}/{a.PrefixLength} on {a.Interface}");
            }
        }
    }
}

/// <summary>Completes the finding ids of the diagnosis catalog (documented in about_MptcpTools).</summary>
public sealed class FindingIdCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var pattern = new WildcardPattern(wordToComplete.Trim('\'', '"') + "*", WildcardOptions.IgnoreCase);
        foreach (string id in DiagnosisRules.Catalog.OrderBy(i => i, StringComparer.Ordinal))
        {
            if (pattern.IsMatch(id))
            {
                yield return new CompletionResult(id, id, CompletionResultType.ParameterValue, id);
            }
        }
    }
}
