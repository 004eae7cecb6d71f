using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Net;
using MptcpTools.Kernel;

namespace MptcpTools.Commands;

/// <summary>Get-MptcpConnection: MPTCP sockets with mptcp_info, their subflows and owners (`ss -Mni`, `ss -tni`).</summary>
[Cmdlet(VerbsCommon.Get, "MptcpConnection")]
[OutputType(typeof(MptcpConnection))]
public sealed class GetMptcpConnectionCommand : MptcpCmdlet
{
    [Parameter]
    public SwitchParameter Listening { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public ushort[]? LocalPort { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public ushort[]? RemotePort { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public IPAddress[]? RemoteAddress { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("Id", "Pid")]
    public int[]? ProcessId { get; set; }

    private MptcpConnection[]? _all;

    protected override void ProcessRecord()
    {
        if (_all is null && !TryKernel("sock_diag", () => _all = MptcpConnections.Read(Listening, subflows: true, owners: true)))
        {
            return;
        }

        IEnumerable<MptcpConnection> selected = _all!.Where(c =>
            (LocalPort is null || LocalPort.Contains(c.LocalPort))
            && (RemotePort is null || RemotePort.Contains(c.RemotePort))
            && (RemoteAddress is null || RemoteAddress.Any(a => Same(a, c.RemoteAddress)))
            && (ProcessId is null || (c.ProcessId is { } pid && ProcessId.Contains(pid))));
        foreach (MptcpConnection connection in selected)
        {
            if (connection.Note is not null)
            {
                WriteVerbose(connection.Note);
            }

            WriteObject(connection);
        }

        // Once: owners left empty for a reason the user can change, rather than silently.
        if (!_saidOwners && _all!.Any(c => c.ProcessId is null && c.State != TcpState.Listen) && Capabilities.Has(Capabilities.CAP_SYS_PTRACE) == false)
        {
            _saidOwners = true;
            int ownerless = _all!.Count(c => c.ProcessId is null && c.State != TcpState.Listen);
            WriteWarning($"{ownerless} connection(s) have no owner: the descriptors of other users' processes can be read only with CAP_SYS_PTRACE. Run as root to see every owner.");
        }
    }

    private bool _saidOwners;

    // An IPv4 address matches its IPv4-mapped IPv6 form, as dual-stack sockets report it.
    private static bool Same(IPAddress a, IPAddress b) =>
        a.Equals(b) || (a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a).Equals(b.IsIPv4MappedToIPv6 ? b.MapToIPv4() : b);
}
