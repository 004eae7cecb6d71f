using System;
using System.Management.Automation;
using MptcpTools.Kernel;

namespace MptcpTools.Commands;

/// <summary>What every cmdlet of the module shares: turning layer exceptions into ErrorRecords.</summary>
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

    protected void WriteNewError(string id, ErrorCategory category, object? target, string message, string? recommendedAction = null)
    {
        var record = new ErrorRecord(new InvalidOperationException(message), id, category, target);
        if (recommendedAction is not null)
        {
            record.ErrorDetails = new ErrorDetails(message) { RecommendedAction = recommendedAction };
        }

        WriteError(record);
    }
}
