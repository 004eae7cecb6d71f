using System.Collections.Generic;
using System.Management.Automation;
using MptcpTools.Host;
using MptcpTools.Kernel;

namespace MptcpTools.Commands;

/// <summary>Get-MptcpNetworkManagerSetting: each active NetworkManager connection's mptcp-flags, over D-Bus.</summary>
[Cmdlet(VerbsCommon.Get, "MptcpNetworkManagerSetting")]
[OutputType(typeof(NetworkManagerMptcpSetting))]
public sealed class GetMptcpNetworkManagerSettingCommand : MptcpCmdlet
{
    /// <summary>The D-Bus to ask NetworkManager on (default: the system bus).</summary>
    [Parameter]
    public string? BusAddress { get; set; }

    /// <summary>Only connections on these devices.</summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(InterfaceNameCompleter))]
    public string[]? Interface { get; set; }

    protected override void EndProcessing()
    {
        SortedDictionary<string, string> sysctls = ProcFiles.ReadMptcpSysctls();
        bool? enabled = sysctls.TryGetValue("net.mptcp.enabled", out string? e) ? e == "1" : null;
        (List<NetworkManagerMptcpSetting> settings, string? reason) = NetworkManager.Read(BusAddress, enabled);
        if (reason is not null)
        {
            WriteVerbose(reason);
        }

        foreach (NetworkManagerMptcpSetting setting in settings)
        {
            if (Interface is null || System.Array.Exists(setting.Devices, d => System.Array.Exists(Interface, p => new WildcardPattern(p).IsMatch(d))))
            {
                WriteObject(setting);
            }
        }
    }
}
