using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using MptcpTools.Kernel;

namespace MptcpTools.Commands;

/// <summary>Get-MptcpCounter: the MPTcpExt counters of this network namespace (`nstat -az 'MPTcp*'`).</summary>
[Cmdlet(VerbsCommon.Get, "MptcpCounter")]
[OutputType(typeof(MptcpCounter))]
public sealed class GetMptcpCounterCommand : MptcpCmdlet
{
    /// <summary>Counter names without the MPTcpExt prefix; wildcards allowed.</summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(CounterNameCompleter))]
    [ValidateWildcard]
    public string[]? Name { get; set; }

    /// <summary>Only counters of these groups (what a non-zero value means: Fallback, Joins, ...).</summary>
    [Parameter]
    public MptcpCounterGroup[]? Group { get; set; }

    /// <summary>Only counters that are not zero (with -Interval: that changed).</summary>
    [Parameter]
    public SwitchParameter NonZero { get; set; }

    /// <summary>Read twice, this far apart, and report the change. Numbers are seconds.</summary>
    [Parameter]
    [SecondsTransformation]
    [ValidateDuration]
    public TimeSpan? Interval { get; set; }

    /// <summary>Where the counters come from; another process's /proc/PID/net/netstat reads its namespace.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "/proc/net/netstat";

    private readonly CancellationTokenSource _stop = new();

    protected override void EndProcessing()
    {
        List<KeyValuePair<string, long>>? first = Read();
        if (first is null)
        {
            return;
        }

        if (first.Count == 0)
        {
            WriteNewError(KernelErrors.NotSupported, ErrorCategory.NotInstalled, Path,
                MyInvocation.BoundParameters.ContainsKey(nameof(Path))
                    ? $"{Path} has no MPTcpExt counters: it is not a copy of /proc/net/netstat from a kernel with MPTCP."
                    : $"{Path} has no MPTcpExt counters: this kernel has no MPTCP.");
            return;
        }

        Dictionary<string, long>? before = null;
        List<KeyValuePair<string, long>> current = first;
        if (Interval is { } interval)
        {
            before = first.ToDictionary(kv => kv.Key, kv => kv.Value);
            if (!new Countdown(this, "Get-MptcpCounter").Wait("Reading the counters again, for their change", interval, _stop.Token.WaitHandle))
            {
                return; // stopped (Ctrl+C)
            }

            current = Read() ?? first;
        }

        WildcardPattern[]? patterns = Name?.Select(n => new WildcardPattern(
            n.StartsWith(MptcpCounterCatalog.Prefix, StringComparison.OrdinalIgnoreCase) ? n[MptcpCounterCatalog.Prefix.Length..] : n,
            WildcardOptions.IgnoreCase | WildcardOptions.CultureInvariant)).ToArray();
        foreach (KeyValuePair<string, long> counter in current)
        {
            if ((patterns is not null && !patterns.Any(p => p.IsMatch(counter.Key)))
                || (Group is not null && !Group.Contains(MptcpCounterCatalog.GroupOf(counter.Key))))
            {
                continue;
            }

            long? delta = before is null ? null : counter.Value - before.GetValueOrDefault(counter.Key);
            if (NonZero && (delta ?? counter.Value) == 0)
            {
                continue;
            }

            WriteObject(new MptcpCounter(counter.Key, counter.Value, delta, Interval));
        }
    }

    protected override void StopProcessing() => _stop.Cancel();

    private List<KeyValuePair<string, long>>? Read()
    {
        List<KeyValuePair<string, long>>? counters = null;
        // A relative path is relative to $PWD, as PowerShell users expect, not to the process's directory.
        TryKernel(Path, () => counters = MptcpCounterCatalog.Read(GetUnresolvedProviderPathFromPSPath(Path)));
        return counters;
    }
}
