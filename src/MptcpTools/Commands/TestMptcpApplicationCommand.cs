using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Management.Automation;
using MptcpTools.Diagnosis;
using MptcpTools.Kernel;

namespace MptcpTools.Commands;

/// <summary>Test-MptcpApplication: does a program use MPTCP sockets, and how to make it.</summary>
[Cmdlet(VerbsDiagnostic.Test, "MptcpApplication", DefaultParameterSetName = "Name")]
[OutputType(typeof(MptcpApplicationReport))]
public sealed class TestMptcpApplicationCommand : MptcpCmdlet
{
    /// <summary>Process ids; Get-MptcpConnection's objects bind here by property name.</summary>
    [Parameter(Mandatory = true, ParameterSetName = "ProcessId", ValueFromPipelineByPropertyName = true)]
    [Alias("Id", "Pid")]
    [AllowNull]
    public int[]? ProcessId { get; set; }

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Name", ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ProcessNameCompleter))]
    [ValidateWildcard]
    public string[] Name { get; set; } = System.Array.Empty<string>();

    private SocketInodes? _inodes;
    private readonly HashSet<int> _reported = new();

    protected override void ProcessRecord()
    {
        if (_inodes is null && !TryKernel("sock_diag", () => _inodes = SocketInodes.Load()))
        {
            return;
        }

        foreach (int pid in Targets())
        {
            if (!_reported.Add(pid))
            {
                continue; // piped from Get-MptcpConnection: one report per process
            }

            try
            {
                WriteObject(ApplicationJudge.Judge(DiagnosisGatherer.ReadProcess(_inodes!, pid)));
            }
            catch (ProcessGoneException e)
            {
                WriteError(new ErrorRecord(e, "ProcessNotFound", ErrorCategory.ObjectNotFound, pid));
            }
        }
    }

    private IEnumerable<int> Targets()
    {
        if (ParameterSetName == "ProcessId")
        {
            if (ProcessId is null)
            {
                WriteVerbose("A socket without an owning process (closing, or owned by the kernel) was skipped.");
                yield break;
            }

            foreach (int pid in ProcessId)
            {
                yield return pid;
            }

            yield break;
        }

        foreach (string name in Name)
        {
            var pattern = new WildcardPattern(name, WildcardOptions.IgnoreCase);
            List<int> found = ProcessTable.FindByName(pattern.IsMatch);
            foreach (int pid in found)
            {
                yield return pid;
            }

            if (found.Count == 0)
            {
                WriteError(new ErrorRecord(new ItemNotFoundException($"No process named '{name}' runs here."), "ProcessNotFound", ErrorCategory.ObjectNotFound, name));
            }
        }
    }
}
