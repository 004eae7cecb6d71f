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
    public string[] Name { get; set; } = System.Array.Empty<string>();

    private (HashSet<uint> Tcp, HashSet<uint> TcpListen, HashSet<uint> Mptcp, HashSet<uint> MptcpListen)? _inodes;
    private readonly HashSet<int> _reported = new();

    protected override void ProcessRecord()
    {
        if (_inodes is null && !TryKernel("sock_diag", LoadInodes))
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
                var i = _inodes!.Value;
                WriteObject(ApplicationJudge.Judge(ProcessFacts.Read(pid, i.Tcp, i.TcpListen, i.Mptcp, i.MptcpListen)));
            }
            catch (ProcessGoneException e)
            {
                WriteError(new ErrorRecord(e, "ProcessNotFound", ErrorCategory.ObjectNotFound, pid));
            }
        }
    }

    private void LoadInodes()
    {
        var tcp = new HashSet<uint>(); var tcpListen = new HashSet<uint>(); var mptcp = new HashSet<uint>(); var mptcpListen = new HashSet<uint>();
        uint all = SockDiag.ConnectedStates | SockDiag.ListenState;
        // A subflow (ULP "mptcp") can carry its MPTCP socket's inode: it is not a TCP socket of the program.
        foreach (DiagSocket s in SockDiag.DumpTcp(all).Where(s => s.Inode != 0 && s.UlpName != "mptcp"))
        {
            tcp.Add(s.Inode);
            if (s.State == TcpState.Listen) tcpListen.Add(s.Inode);
        }

        foreach (DiagSocket s in SockDiag.DumpMptcp(all).Where(s => s.Inode != 0))
        {
            mptcp.Add(s.Inode);
            if (s.State == TcpState.Listen) mptcpListen.Add(s.Inode);
        }

        _inodes = (tcp, tcpListen, mptcp, mptcpListen);
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
            bool any = false;
            foreach (string dir in Directory.EnumerateDirectories("/proc"))
            {
                if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
                    && ProcessTable.CommandName(pid) is { } comm && pattern.IsMatch(comm))
                {
                    any = true;
                    yield return pid;
                }
            }

            if (!any)
            {
                WriteError(new ErrorRecord(new ItemNotFoundException($"No process named '{name}' runs here."), "ProcessNotFound", ErrorCategory.ObjectNotFound, name));
            }
        }
    }
}
