using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
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

    private readonly HashSet<string> _done = new(StringComparer.Ordinal);
    private RepairEngine? _engine;
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
        foreach (object? record in records)
        {
            switch (record)
            {
                case MptcpRepair repair when _ids is not null && !_ids.Any(p => p.IsMatch(repair.FindingId)):
                    WriteVerbose($"{repair.FindingId}: left alone (not among -Id {string.Join(", ", Id!)}).");
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
            WriteError(new ErrorRecord(e, e.TargetMissing ? "RepairTargetNotFound" : "RepairRefused",
                e.TargetMissing ? ErrorCategory.ObjectNotFound : ErrorCategory.InvalidData, repair));
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
