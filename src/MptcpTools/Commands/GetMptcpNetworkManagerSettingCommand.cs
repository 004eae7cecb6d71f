using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using MptcpTools.Diagnosis;
using MptcpTools.Host;
using MptcpTools.Kernel;

namespace MptcpTools.Commands;

/// <summary>Get-MptcpNetworkManagerSetting: each active NetworkManager connection's mptcp-flags, over D-Bus.</summary>
[Cmdlet(VerbsCommon.Get, "MptcpNetworkManagerSetting")]
[OutputType(typeof(NetworkManagerMptcpAssessment))]
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
        bool? enabled = ProcFiles.ReadMptcpSysctls().TryGetValue("net.mptcp.enabled", out string? e) ? e == "1" : null;
        (List<NetworkManagerMptcpSetting> settings, string? reason) = NetworkManager.Read(BusAddress);
        if (reason is not null)
        {
            WriteVerbose(reason);
        }

        WildcardPattern[]? patterns = Interface?.Select(p => new WildcardPattern(p)).ToArray();
        foreach (NetworkManagerMptcpSetting setting in settings)
        {
            if (patterns is null || setting.Devices.Any(d => patterns.Any(p => p.IsMatch(d))))
            {
                WriteObject(NetworkManagerJudge.Assess(setting, enabled));
            }
        }
    }
}
