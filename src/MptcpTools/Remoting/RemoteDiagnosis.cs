using System;
using System.Collections;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using MptcpTools.Diagnosis;

namespace MptcpTools.Remoting;

/// <summary>What a host sent back, in the order it came: a finding, an error, a warning or a verbose line.</summary>
public sealed record RemoteItem(string ComputerName, object Value);

/// <summary>A warning or a verbose line of a remote host.</summary>
public sealed record RemoteMessage(bool IsWarning, string Text);

/// <summary>
/// The diagnosis of many hosts at once: each opened (or its session checked), the module imported there, and its own
/// Invoke-MptcpDiagnosis run there with the caller's parameters, at most <c>throttle</c> at a time. Findings are
/// rebuilt as findings of the host they came from, as they arrive; a host that cannot be reached or lacks the module
/// is a finding about that host (HostUnreachable, ModuleMissingOnHost), never a failure of the whole.
/// </summary>
public sealed class RemoteDiagnosis
{
    private readonly IReadOnlyList<RemoteHost> _hosts;
    private readonly int _throttle;
    private readonly IDictionary _parameters;
    private readonly BlockingCollection<RemoteItem> _items = new();

    public RemoteDiagnosis(IReadOnlyList<RemoteHost> hosts, int throttle, IDictionary parameters)
    {
        _hosts = hosts;
        _throttle = Math.Max(1, throttle);
        _parameters = parameters;
    }

    /// <summary>
    /// Runs every host, and yields what comes back while they run; ends when all are done. On cancellation every
    /// host's pipeline is stopped and every runspace of its own closed, and it returns once they have wound down.
    /// </summary>
    public IEnumerable<RemoteItem> Run(CancellationToken cancel)
    {
        // -ThrottleLimit workers take the hosts in the order given (a semaphore would let them start in any order).
        var pending = new ConcurrentQueue<RemoteHost>(_hosts);
        Task[] tasks = Enumerable.Range(0, Math.Min(_throttle, Math.Max(1, _hosts.Count))).Select(_ => Task.Factory.StartNew(() =>
        {
            while (!cancel.IsCancellationRequested && pending.TryDequeue(out RemoteHost? host))
            {
                RunOne(host, cancel);
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
        Task.WhenAll(tasks).ContinueWith(_ => _items.CompleteAdding(), TaskScheduler.Default);

        using (cancel.Register(() => { foreach (RemoteHost h in _hosts) { h.Stop(); } }))
        {
            foreach (RemoteItem item in Consume(cancel))
            {
                yield return item;
            }
        }

        // Stopped: wait (bounded) for the hosts to close their sessions before the command returns.
        Task.WaitAll(tasks, TimeSpan.FromSeconds(15));
    }

    private IEnumerable<RemoteItem> Consume(CancellationToken cancel)
    {
        using IEnumerator<RemoteItem> e = _items.GetConsumingEnumerable(cancel).GetEnumerator();
        while (true)
        {
            try
            {
                if (!e.MoveNext())
                {
                    yield break;
                }
            }
            catch (OperationCanceledException)
            {
                yield break;
            }

            yield return e.Current;
        }
    }

    private void RunOne(RemoteHost host, CancellationToken cancel)
    {
        void Add(object value) => _items.Add(new RemoteItem(host.Name, value));
        try
        {
            Add(new RemoteMessage(false, $"{host.Name}: connecting ({host.Transport})."));
            host.Open(cancel);
            Version version = host.ImportModule(cancel);
            Add(new RemoteMessage(false, $"{host.Name}: MptcpTools {version} imported; diagnosing."));
            host.Run(ps => ps.AddCommand("Invoke-MptcpDiagnosis").AddParameters(_parameters),
                output: o => Add(Rebuild(o, host.Name)),
                error: e => Add(e),
                warning: w => Add(new RemoteMessage(true, $"{host.Name}: {w}")),
                verbose: v => Add(new RemoteMessage(false, $"{host.Name}: {v}")),
                cancel);
        }
        catch (RemoteHostException e)
        {
            Add(DiagnosisRules.JudgeRemote(host.Failure(e)));
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            host.Dispose();
        }
    }

    /// <summary>A finding of another host, as remoting delivered it, made a finding about that host again.</summary>
    public static MptcpFinding Rebuild(PSObject o, string computerName)
    {
        static object? Unwrap(object? v) => v is PSObject p && p.BaseObject is not PSCustomObject ? p.BaseObject : v;
        return MptcpFinding.FromProperties(name => Unwrap(o.Properties[name]?.Value), item =>
        {
            try
            {
                return RebuildRepair(item);
            }
            catch (InvalidRepairException)
            {
                return null;
            }
        }, computerName);
    }

    /// <summary>
    /// A repair record as PowerShell hands it over: the record itself, or a deserialized one rebuilt from its
    /// properties (InvalidRepairException when they make none of the module's); null for anything else.
    /// </summary>
    public static MptcpRepair? RebuildRepair(object? item)
    {
        object? value = item is PSObject pso && pso.BaseObject is not PSCustomObject ? pso.BaseObject : item;
        if (value is MptcpRepair repair)
        {
            return repair;
        }

        return item is PSObject bag
            ? MptcpRepair.FromProperties(name => bag.Properties[name]?.Value is { } v ? (v is PSObject p ? p.BaseObject : v) : null)
            : null;
    }
}
