using System;
using MptcpTools.Host;

namespace MptcpTools.Diagnosis;

/// <summary>A NetworkManager connection's mptcp-flags, and what NetworkManager does with them on this host.</summary>
public sealed record NetworkManagerMptcpAssessment : NetworkManagerMptcpSetting
{
    public NetworkManagerMptcpAssessment(NetworkManagerMptcpSetting setting, bool managesEndpoints, string detail) : base(setting)
    {
        ManagesEndpoints = managesEndpoints;
        Detail = detail;
    }

    /// <summary>Whether NetworkManager adds and removes MPTCP endpoints for these devices' addresses.</summary>
    public bool ManagesEndpoints { get; init; }
    public string Detail { get; init; }

    public override string ToString() => base.ToString();
}

/// <summary>What NetworkManager's mptcp-flags mean, given net.mptcp.enabled (NM 1.40 and later). Pure.</summary>
public static class NetworkManagerJudge
{
    public static NetworkManagerMptcpAssessment Assess(NetworkManagerMptcpSetting setting, bool? sysctlEnabled)
    {
        (bool manages, string detail) = Interpret(setting.RawFlags, sysctlEnabled);
        return new NetworkManagerMptcpAssessment(setting, manages, detail);
    }

    public static (bool ManagesEndpoints, string Detail) Interpret(uint raw, bool? sysctlEnabled)
    {
        var flags = (NetworkManagerMptcpFlags)raw;
        if (raw == 0)
        {
            bool on = sysctlEnabled != false;
            return (on, on
                ? "NetworkManager's default: it configures subflow endpoints for this device's addresses, and replaces endpoints added by hand on them."
                : "NetworkManager's default does nothing while net.mptcp.enabled is 0.");
        }

        if (flags.HasFlag(NetworkManagerMptcpFlags.Disabled))
        {
            return (false, "mptcp-flags=disabled: NetworkManager configures no MPTCP endpoint for this connection.");
        }

        bool enabled = flags.HasFlag(NetworkManagerMptcpFlags.Enabled) || (flags & (NetworkManagerMptcpFlags.Signal | NetworkManagerMptcpFlags.Subflow)) != 0;
        bool sysctlOk = sysctlEnabled != false || flags.HasFlag(NetworkManagerMptcpFlags.AlsoWithoutSysctl);
        bool manages = enabled && sysctlOk;
        return (manages, manages
            ? "NetworkManager configures MPTCP endpoints for this device's addresses; endpoints added by hand on them may be replaced."
            : "NetworkManager configures no endpoint here while net.mptcp.enabled is 0 (also-without-sysctl is not set).");
    }
}
