using System.Collections.Generic;
using System.Management.Automation;
using MptcpTools.Diagnosis;
using MptcpTools.Host;
using MptcpTools.Kernel;

namespace MptcpTools.Commands;

/// <summary>Test-MptcpFirewall: nftables, iptables (nft and legacy) and rp_filter, judged for what they do to MPTCP.</summary>
[Cmdlet(VerbsDiagnostic.Test, "MptcpFirewall")]
[OutputType(typeof(FirewallRuleFinding))]
public sealed class TestMptcpFirewallCommand : MptcpCmdlet
{
    /// <summary>A service port whose subflows must be admitted on every path.</summary>
    [Parameter(Position = 0)]
    [ValidateRange(1, 65535)]
    public int? Port { get; set; }

    /// <summary>Interfaces that carry subflows; by default those of the MPTCP endpoints.</summary>
    [Parameter]
    [ArgumentCompleter(typeof(InterfaceNameCompleter))]
    [ValidateInterface]
    public string[]? Interface { get; set; }

    protected override void EndProcessing()
    {
        IReadOnlyCollection<string> interfaces = Interface is not null ? Interface : EndpointInterfaces();
        WriteVerbose($"Interfaces that carry subflows: {(interfaces.Count == 0 ? "none" : string.Join(", ", interfaces))}.");
        FirewallRuleset set = FirewallReader.Read();
        foreach (FirewallReadNote note in set.Notes)
        {
            if (note.Problem is FirewallReadProblem.NotInstalled or FirewallReadProblem.UfwEnabled)
            {
                WriteVerbose($"{note.Source}: {note.Message}");
            }
            else
            {
                WriteWarning($"{note.Source}: {note.Message}{(Capabilities.Has(Capabilities.CAP_NET_ADMIN) == false ? " Reading firewall rules needs CAP_NET_ADMIN." : "")}");
            }
        }

        (PersistentSysctlSetting[] boot, PersistentSysctlSetting[]? ufw) = DiagnosisGatherer.ReversePathOrigins();
        WriteObject(FirewallJudge.Judge(set, Port, interfaces, boot, ufw), enumerateCollection: true);
    }

    // The interfaces of the endpoints: the one they are bound to, or the one their address is on.
    private List<string> EndpointInterfaces()
    {
        var names = new List<string>();
        TryKernel(MptcpPathManager.FamilyName, () =>
        {
            using MptcpPathManager pm = MptcpPathManager.Open();
            names.AddRange(RouteTable.EndpointInterfaces(pm.GetEndpoints(), RouteTable.Addresses()));
        });
        return names;
    }
}
