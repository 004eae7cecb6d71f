using System;
using System.Management.Automation;
using MptcpTools.Kernel;

namespace MptcpTools.Commands;

/// <summary>What every cmdlet of the module shares: turning layer exceptions into ErrorRecords, and confirmations.</summary>
public abstract class MptcpCmdlet : PSCmdlet
{
    /// <summary>Runs <paramref name="action"/>; an expected failure becomes a non-terminating error on <paramref name="target"/>.</summary>
    protected bool TryKernel(object? target, Action action)
    {
        try
        {
            action();
            return true;
        }
        catch (Exception e) when (KernelErrors.IsExpected(e))
        {
            WriteError(KernelErrors.ToErrorRecord(e, target));
            return false;
        }
    }

    /// <summary>Opens the path manager, or reports why not (terminating for this cmdlet: nothing else can work).</summary>
    protected MptcpPathManager OpenPathManager()
    {
        try
        {
            return MptcpPathManager.Open();
        }
        catch (Exception e) when (KernelErrors.IsExpected(e))
        {
            ThrowTerminatingError(KernelErrors.ToErrorRecord(e, MptcpPathManager.FamilyName));
            throw; // not reached: ThrowTerminatingError throws
        }
    }

    /// <summary>A finding of another host, shown with its host as remoting output is (a PSComputerName column).</summary>
    protected static PSObject Tagged(MptcpTools.Diagnosis.MptcpFinding finding, string computerName)
    {
        var o = PSObject.AsPSObject(finding);
        o.Properties.Add(new PSNoteProperty("PSComputerName", computerName));
        o.Properties.Add(new PSNoteProperty("PSShowComputerName", true));
        return o;
    }

    /// <summary>The named parameters that were bound, switches as Booleans: what goes on to the same cmdlet on another host.</summary>
    protected System.Collections.Hashtable BoundSubset(params string[] names)
    {
        var subset = new System.Collections.Hashtable(StringComparer.OrdinalIgnoreCase);
        foreach (string name in names)
        {
            if (MyInvocation.BoundParameters.TryGetValue(name, out object? value))
            {
                subset[name] = value is SwitchParameter s ? s.IsPresent : value;
            }
        }

        return subset;
    }

    protected void WriteNewError(string id, ErrorCategory category, object? target, string message, string? recommendedAction = null)
    {
        var record = new ErrorRecord(new InvalidOperationException(message), id, category, target);
        if (recommendedAction is not null)
        {
            record.ErrorDetails = new ErrorDetails(message) { RecommendedAction = recommendedAction };
        }

        WriteError(record);
    }

    /// <summary>
    /// ShouldProcess for a change the module cannot take back: it counts as ConfirmImpact High, so under the
    /// default $ConfirmPreference (High) it asks even though the cmdlet's other changes do not. -Confirm:$false
    /// and -WhatIf work as usual. Where nobody can answer (a non-interactive session), it changes nothing and
    /// writes a ConfirmationRequired error instead.
    /// </summary>
    protected bool ShouldProcessIrreversible(string target, string action)
    {
        if (!ShouldProcess(target, action))
        {
            return false;
        }

        // ShouldProcess has already asked when -Confirm was given, or when the preference is Medium or lower;
        // -Confirm:$false and a preference of None mean: do not ask.
        // A local assignment ($ConfirmPreference = 'None') holds a string: convert it as PowerShell does.
        ConfirmImpact preference = LanguagePrimitives.TryConvertTo(SessionState.PSVariable.GetValue("ConfirmPreference"), out ConfirmImpact p)
            ? p : ConfirmImpact.High;
        if (MyInvocation.BoundParameters.ContainsKey("Confirm") || preference != ConfirmImpact.High)
        {
            return true;
        }

        try
        {
            return ShouldContinue($"{action}: {target}. This cannot be undone by this module.", "Confirm an irreversible change");
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            // No one to ask: -NonInteractive, a host without a UI, or standard input at its end (the host then
            // fails inside ShouldContinue with an exception of its own).
            WriteError(new ErrorRecord(new InvalidOperationException(
                    $"Not done: '{action}' on {target} cannot be undone, and needs confirmation that this session cannot ask for ({e.Message})", e),
                "ConfirmationRequired", ErrorCategory.PermissionDenied, target)
            {
                ErrorDetails = new ErrorDetails($"Not done: '{action}' on {target} needs confirmation.")
                {
                    RecommendedAction = "Run it again with -Confirm:$false to make the change without a prompt, or interactively to answer the prompt.",
                },
            });
            return false;
        }
    }
}
