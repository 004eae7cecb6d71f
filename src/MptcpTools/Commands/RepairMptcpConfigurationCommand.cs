using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using MptcpTools.Diagnosis;
using MptcpTools.Host;

namespace MptcpTools.Commands;

/// <summary>
/// Repair-MptcpConfiguration: applies the repair records of the findings it is given (bound by property
/// name, so findings that went through Export-Clixml or remoting work too). Safe changes are applied;
/// riskier ones (firewall rules, reverse-path filtering) only with -Force, and those the module cannot
/// put back ask for confirmation under the default $ConfirmPreference.
/// </summary>
[Cmdlet(VerbsDiagnostic.Repair, "MptcpConfiguration", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = "Repair")]
[OutputType(typeof(MptcpRepairResult))]
public sealed class RepairMptcpConfigurationCommand : MptcpCmdlet
{
    /// <summary>The repair records of a finding (its Repair property), typed or deserialized.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = "Repair")]
    [AllowNull]
    [AllowEmptyCollection]
    [RepairTransformation]
    public MptcpRepair[]? Repair { get; set; }

    /// <summary>Whole findings, typed or deserialized; their Repair property is what is applied.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Finding")]
    public PSObject[] Finding { get; set; } = Array.Empty<PSObject>();

    /// <summary>Only the repairs of findings with these ids (wildcards allowed); the others are left alone.</summary>
    [Parameter]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(FindingIdCompleter))]
    [ValidateWildcard]
    public string[]? Id { get; set; }

    /// <summary>Also apply the riskier fixes (reverse-path filter, firewall rules, NetworkManager connections, mptcpd's configuration).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>The file of its own that makes net.mptcp.enabled persistent.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string SysctlFile { get; set; } = SysctlRepair.DefaultFile;

    /// <summary>The D-Bus to ask systemd and NetworkManager on (default: the system bus).</summary>
    [Parameter]
    public string? BusAddress { get; set; }

    /// <summary>Sessions to the hosts the findings came from: each finding's repairs are applied there, on the session of its host's name.</summary>
    [Parameter]
    public PSSession[]? Session { get; set; }

    /// <summary>The host a finding is about (its ComputerName, or PSComputerName): with -Session, the session that applies its repairs.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("PSComputerName")]
    public string? ComputerName { get; set; }

    private readonly HashSet<string> _done = new(StringComparer.Ordinal);
    private RepairEngine? _engine;
    // With -Session: the records to send, by session.
    private readonly Dictionary<PSSession, List<MptcpRepair>> _remote = new();
    private WildcardPattern[]? _ids;

    protected override void BeginProcessing()
    {
        string file = SessionState.Path.GetUnresolvedProviderPathFromPSPath(SysctlFile, out ProviderInfo provider, out _);
        if (provider.Name != "FileSystem")
        {
            ThrowTerminatingError(new ErrorRecord(new ArgumentException($"-SysctlFile must name a file, not a {provider.Name} item: {SysctlFile}"),
                "InvalidArgument", ErrorCategory.InvalidArgument, SysctlFile));
        }

        _engine = new RepairEngine(file, BusAddress);
        _ids = Id?.Select(i => new WildcardPattern(i, WildcardOptions.IgnoreCase | WildcardOptions.CultureInvariant)).ToArray();
    }

    protected override void ProcessRecord()
    {
        IEnumerable<object?> records = ParameterSetName == "Finding"
            ? RepairTransformationAttribute.RepairsOf(Finding)
            : Repair ?? Array.Empty<MptcpRepair>();
        string? host = ParameterSetName == "Finding" ? null : ComputerName;
        foreach (object? record in records)
        {
            switch (record)
            {
                case MptcpRepair repair when _ids is not null && !_ids.Any(p => p.IsMatch(repair.FindingId)):
                    WriteVerbose($"{repair.FindingId}: left alone (not among -Id {string.Join(", ", Id!)}).");
                    break;
                case MptcpRepair repair when Session is not null:
                    Route(repair, host ?? HostOf(repair));
                    break;
                case MptcpRepair repair when _done.Add(repair.Identity): // two findings, one change
                    Apply(repair);
                    break;
                case InvalidRepair invalid:
                    WriteError(new ErrorRecord(new InvalidRepairException(invalid.Reason), "RepairRefused", ErrorCategory.InvalidData, invalid.Input));
                    break;
            }
        }
    }

    // A finding given whole (-Finding) names its host itself.
    private string? HostOf(MptcpRepair repair) => ParameterSetName == "Finding"
        ? Finding.Where(f => f.Properties["Repair"]?.Value is { } r && Contains(r, repair)).Select(f => (f.Properties["ComputerName"]?.Value ?? f.Properties["PSComputerName"]?.Value)?.ToString())
            .FirstOrDefault(n => !string.IsNullOrEmpty(n))
        : null;

    private static bool Contains(object repairs, MptcpRepair repair) =>
        (repairs is PSObject p ? p.BaseObject : repairs) is System.Collections.IEnumerable items
        && items.Cast<object?>().Any(i => ReferenceEquals(i is PSObject q ? q.BaseObject : i, repair));

    private void Route(MptcpRepair repair, string? host)
    {
        PSSession? session = Session!.FirstOrDefault(s => string.Equals(s.ComputerName, host, StringComparison.OrdinalIgnoreCase))
                             ?? (Session!.Length == 1 && host is null ? Session[0] : null);
        if (session is null)
        {
            WriteError(new ErrorRecord(new InvalidOperationException(
                    $"No session given is to {host ?? "the host this repair came from (the finding names none)"}: sessions to {string.Join(", ", Session!.Select(s => s.ComputerName))}."),
                "RepairNoSession", ErrorCategory.ObjectNotFound, repair));
            return;
        }

        if (!_remote.TryGetValue(session, out List<MptcpRepair>? list))
        {
            _remote[session] = list = new List<MptcpRepair>();
        }

        if (!list.Any(r => r.Identity == repair.Identity))
        {
            list.Add(repair);
        }
    }

    protected override void EndProcessing()
    {
        System.Collections.Hashtable options = BoundSubset(nameof(Force), nameof(BusAddress), "WhatIf", "Confirm", nameof(SysctlFile));
        foreach ((PSSession session, List<MptcpRepair> records) in _remote)
        {

            var host = Remoting.RemoteHost.ForSession(session);
            try
            {
                WriteVerbose($"{session.ComputerName}: applying {records.Count} repair(s) there.");
                // The records go as their JSON text (arguments reach a session one level deep) and are checked again there.
                host.Run(ps => ps.AddScript("param([string[]] $records, [hashtable] $options) Repair-MptcpConfiguration -Repair @($records | ForEach-Object { [MptcpTools.Diagnosis.MptcpRepair]::FromJson($_) }) @options")
                        .AddArgument(records.Select(r => r.ToJson()).ToArray()).AddArgument(options),
                    o => WriteObjectLater(o, session.ComputerName), WriteErrorLater, w => Later(() => WriteWarning(w)), v => Later(() => WriteVerbose(v)),
                    System.Threading.CancellationToken.None);
            }
            catch (Remoting.RemoteHostException e)
            {
                Later(() => WriteError(new ErrorRecord(e, "RepairFailed", ErrorCategory.ConnectionError, session)));
            }

            Flush();
        }
    }

    // What a session sends back arrives on the remoting layer's threads; it is written here, on the pipeline's.
    private readonly System.Collections.Concurrent.ConcurrentQueue<Action> _later = new();

    private void Later(Action write) => _later.Enqueue(write);

    // Tagged with its host, as Invoke-Command tags what a session sends back.
    private void WriteObjectLater(PSObject o, string computerName)
    {
        if (o.Properties["PSComputerName"] is null)
        {
            o.Properties.Add(new PSNoteProperty("PSComputerName", computerName));
        }

        Later(() => WriteObject(o));
    }

    private void WriteErrorLater(ErrorRecord e) => Later(() => WriteError(e));

    private void Flush()
    {
        while (_later.TryDequeue(out Action? write))
        {
            write();
        }
    }

    private void Apply(MptcpRepair repair)
    {
        try
        {
            RepairPlan plan = _engine!.Prepare(repair);
            switch (plan.Status)
            {
                case RepairPlanStatus.NothingToDo:
                    WriteVerbose($"{repair.FindingId}: nothing to do: {plan.Note}");
                    return;
                case RepairPlanStatus.Describe:
                    WriteObject(plan.Described(plan.Note ?? ""));
                    return;
            }

            if (!repair.SafeToAutomate && !Force)
            {
                WriteObject(plan.Described(repair switch
                {
                    { Irreversible: true } => $"Riskier (a firewall change, which the module cannot undo): run with -Force, or run the Command by hand.",
                    NetworkManagerFlagsRepair nm => $"Riskier (NetworkManager activates '{nm.Connection}' again, which interrupts it briefly): run with -Force, or run the Command by hand.",
                    MptcpdAddressFlagsRepair => $"Riskier (it rewrites mptcpd's configuration and restarts it): run with -Force, or run the Command by hand.",
                    _ => $"Riskier (it weakens spoofing protection on {repair.Target}): run with -Force, or run the Command by hand.",
                }));
                return;
            }

            bool go = repair.Irreversible ? ShouldProcessIrreversible(plan.Target, plan.Action) : ShouldProcess(plan.Target, plan.Action);
            if (go)
            {
                WriteObject(plan.Apply());
            }
        }
        catch (RepairRefusedException e)
        {
            (string id, ErrorCategory category, string? action) = e switch
            {
                { OtherHost: true } => ("RepairWrongHost", ErrorCategory.InvalidOperation,
                    $"Repair it on {repair.HostName ?? "the host it came from"}: Invoke-Command -Session SESSION {{ $using:findings | Repair-MptcpConfiguration }}"),
                { TargetMissing: true } => ("RepairTargetNotFound", ErrorCategory.ObjectNotFound, null),
                _ => ("RepairRefused", ErrorCategory.InvalidData, null),
            };
            var record = new ErrorRecord(e, id, category, repair);
            if (action is not null)
            {
                record.ErrorDetails = new ErrorDetails(e.Message) { RecommendedAction = action };
            }

            WriteError(record);
        }
        catch (RepairFailedException e)
        {
            WriteError(new ErrorRecord(e, "RepairFailed", ErrorCategory.WriteError, repair));
        }
        catch (Exception e) when (e is BusUnavailableException or Tmds.DBus.Protocol.DBusExceptionBase)
        {
            WriteError(new ErrorRecord(e, "RepairFailed", ErrorCategory.ResourceUnavailable, repair));
        }
        catch (Exception e) when (KernelErrors.IsExpected(e))
        {
            WriteError(KernelErrors.ToErrorRecord(e, repair));
        }
    }
}
