using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using MptcpTools.Diagnosis;
using MptcpTools.Host;
using MptcpTools.Kernel;

namespace MptcpTools.Commands;

/// <summary>
/// Get-MptcpNetworkManagerSetting: every NetworkManager connection's mptcp-flags (over D-Bus), the global
/// default, and for the active ones which endpoints NetworkManager made for which address, or why none.
/// </summary>
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
    [ValidateWildcard]
    public string[]? Interface { get; set; }

    protected override void EndProcessing()
    {
        bool? enabled = ProcFiles.ReadMptcpSysctls().TryGetValue("net.mptcp.enabled", out string? e) ? e == "1" : null;
        (List<NetworkManagerMptcpSetting> settings, string? reason) = NetworkManager.Read(BusAddress);
        if (reason is not null)
        {
            WriteVerbose(reason);
        }

        IReadOnlyList<MptcpEndpoint>? endpoints = null;
        if (settings.Count > 0)
        {
            try
            {
                using MptcpPathManager pm = MptcpPathManager.Open();
                endpoints = pm.GetEndpoints();
            }
            catch (Exception failure) when (KernelErrors.IsExpected(failure))
            {
                WriteVerbose($"The kernel's endpoints could not be read, so which addresses have one is not said: {failure.Message}");
            }
        }

        WildcardPattern[]? patterns = Interface?.Select(p => new WildcardPattern(p)).ToArray();
        foreach (NetworkManagerMptcpSetting setting in settings)
        {
            if (patterns is null || setting.Devices.Any(d => patterns.Any(p => p.IsMatch(d))))
            {
                WriteObject(NetworkManagerJudge.Assess(setting, enabled, endpoints));
            }
        }
    }
}
