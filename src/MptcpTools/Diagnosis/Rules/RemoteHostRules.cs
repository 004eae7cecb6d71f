using System.Collections.Generic;

namespace MptcpTools.Diagnosis;

/// <summary>Why a host reached over PowerShell remoting gave no diagnosis.</summary>
public enum RemoteHostProblem
{
    /// <summary>The session could not be opened (ssh failed, refused the key, no powershell subsystem), or it broke.</summary>
    Unreachable,
    /// <summary>The session opened, and Import-Module MptcpTools failed there.</summary>
    ModuleMissing,
}

/// <summary>A host the fan-out could not diagnose, and what it said.</summary>
public sealed class RemoteHostFailure
{
    public string ComputerName { get; init; } = "";
    public RemoteHostProblem Problem { get; init; }
    /// <summary>The error, as the remoting layer or the remote pwsh gave it.</summary>
    public string Reason { get; init; } = "";
    /// <summary>How it was reached: "SSH" (-HostName), or the session's transport (-Session).</summary>
    public string Transport { get; init; } = "";
    public string? UserName { get; init; }
    /// <summary>The remote pwsh's module path, when the session opened.</summary>
    public string? ModulePath { get; init; }

    public override string ToString() => $"{ComputerName}: {Problem}: {Reason}";
}

/// <summary>A host that cannot be reached, or lacks the module, is a finding about that host, never a failure of the run.</summary>
internal sealed class RemoteHostRules : FindingRule
{
    public static RemoteHostRules Instance { get; } = new();

    private RemoteHostRules() : base(FindingComponent.Remoting, FindingIds.HostUnreachable, FindingIds.ModuleMissingOnHost)
    {
    }

    public MptcpFinding Judge(RemoteHostFailure f)
    {
        string who = f.UserName is null ? f.ComputerName : $"{f.UserName}@{f.ComputerName}";
        return f.Problem switch
        {
            RemoteHostProblem.ModuleMissing => Finding(FindingIds.ModuleMissingOnHost, FindingSeverity.Error,
                $"{f.ComputerName} has no MptcpTools module: nothing was diagnosed there.",
                $"Import-Module MptcpTools failed on {f.ComputerName}: {f.Reason}" + (f.ModulePath is null ? "" : $" Its module path: {f.ModulePath}."),
                $"Install the module on {f.ComputerName}: Install-PSResource MptcpTools -Repository NAME (from the package build.ps1 -Task Package writes, registered with Register-PSResourceRepository NAME -Uri DIRECTORY -Trusted), or copy the MptcpTools folder into one of its module path's directories; then run again.",
                new object[] { f }, computerName: f.ComputerName),
            _ => Finding(FindingIds.HostUnreachable, FindingSeverity.Error,
                $"{f.ComputerName} could not be reached over PowerShell remoting ({f.Transport}): nothing was diagnosed there.",
                f.Reason,
                f.Transport == "SSH"
                    ? $"Check that ssh {who} works with the same key, and that its sshd has pwsh as its PowerShell subsystem (sshd_config: Subsystem powershell /usr/bin/pwsh -sshs -NoLogo); then run again."
                    : $"Open the session again (New-PSSession), and check that {f.ComputerName} is up; then run again.",
                new object[] { f }, computerName: f.ComputerName),
        };
    }
}
