using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using MptcpTools.Host;
using MptcpTools.Kernel;

namespace MptcpTools.Diagnosis;

/// <summary>One address of a NetworkManager device: the MPTCP endpoint it has, who made it, or why it has none.</summary>
public sealed record NetworkManagerEndpoint
{
    public string Device { get; init; } = "";
    public IPAddress Address { get; init; } = IPAddress.None;
    /// <summary>The kernel's endpoint for the address; null when it has none.</summary>
    public int? EndpointId { get; init; }
    public string? EndpointFlags { get; init; }
    /// <summary>Whether the endpoint is NetworkManager's: on its device, with the flags its mptcp-flags give.</summary>
    public bool ByNetworkManager { get; init; }
    /// <summary>Why the address has no endpoint, or whose the endpoint is.</summary>
    public string Reason { get; init; } = "";
    /// <summary>Whether NetworkManager leaves the address out for want of a default route of its family (the one cause a person fixes in the profile).</summary>
    public bool NoDefaultRoute { get; init; }

    public override string ToString() => EndpointId is { } id ? $"{Address} dev {Device}: endpoint {id} ({EndpointFlags})" : $"{Address} dev {Device}: none ({Reason})";
}

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
    /// <summary>Each address NetworkManager configured: its endpoint, or why it has none (empty when the endpoints were not read).</summary>
    public NetworkManagerEndpoint[] Endpoints { get; init; } = Array.Empty<NetworkManagerEndpoint>();

    public override string ToString() => base.ToString();
}

/// <summary>What NetworkManager's mptcp-flags mean, given net.mptcp.enabled (NM 1.40 and later). Pure.</summary>
public static class NetworkManagerJudge
{
    private const MptcpEndpointFlags EndpointKinds = MptcpEndpointFlags.Signal | MptcpEndpointFlags.Subflow | MptcpEndpointFlags.Backup | MptcpEndpointFlags.Fullmesh;

    public static NetworkManagerMptcpAssessment Assess(NetworkManagerMptcpSetting setting, bool? sysctlEnabled) => Assess(setting, sysctlEnabled, null);

    /// <summary>With the kernel's endpoints: which of the connection's addresses have one, whose, and why the others have none.</summary>
    public static NetworkManagerMptcpAssessment Assess(NetworkManagerMptcpSetting setting, bool? sysctlEnabled, IReadOnlyList<MptcpEndpoint>? endpoints)
    {
        if (setting is NetworkManagerMptcpAssessment done && endpoints is null)
        {
            return done;
        }

        bool manages;
        string detail;
        if (setting.External)
        {
            (manages, detail) = (false, "NetworkManager does not configure this device (an external connection it only describes): it sets no endpoint here.");
        }
        else if (setting.RawFlags == 0 && setting.GlobalDefaultFlags is { } global and not 0)
        {
            (manages, detail) = Interpret(global, sysctlEnabled);
            detail = $"The global default ({setting.GlobalDefaultSource}: mptcp-flags {NetworkManagerMptcpSetting.NmcliValue(global)}): {detail}";
        }
        else
        {
            (manages, detail) = Interpret(setting.RawFlags, sysctlEnabled);
        }

        return new NetworkManagerMptcpAssessment(setting, manages, detail)
        {
            Endpoints = endpoints is null ? Array.Empty<NetworkManagerEndpoint>() : setting.Addresses.Select(a => Endpoint(setting, a, manages, sysctlEnabled, endpoints)).ToArray(),
        };
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

    /// <summary>The endpoint flags NetworkManager gives an address under these mptcp-flags: signal, subflow, backup, fullmesh, each one bit of the kernel's.</summary>
    public static MptcpEndpointFlags EndpointFlagsOf(uint effectiveFlags) => (MptcpEndpointFlags)((effectiveFlags >> 4) & 0xF);

    private static NetworkManagerEndpoint Endpoint(NetworkManagerMptcpSetting s, NetworkManagerAddress a, bool manages, bool? sysctlEnabled, IReadOnlyList<MptcpEndpoint> endpoints)
    {
        var flags = (NetworkManagerMptcpFlags)s.EffectiveFlags;
        string family = a.Address.AddressFamily == AddressFamily.InterNetworkV6 ? "IPv6" : "IPv4";
        MptcpEndpoint? e = endpoints.FirstOrDefault(x => a.Address.Equals(x.Address));
        if (e is not null)
        {
            bool ours = manages && e.Interface == a.Device && (e.Flags & EndpointKinds) == EndpointFlagsOf(s.EffectiveFlags);
            return new NetworkManagerEndpoint
            {
                Device = a.Device, Address = a.Address, EndpointId = e.Id, EndpointFlags = e.Flags.ToString(), ByNetworkManager = ours,
                Reason = ours ? $"NetworkManager's, from mptcp-flags {NetworkManagerMptcpSetting.NmcliValue(s.EffectiveFlags)}."
                    : manages ? "Not the one NetworkManager would make (another device or other flags): another tool made it, and NetworkManager may replace it."
                    : "Not NetworkManager's: it does not manage endpoints for this connection.",
            };
        }

        bool linkLocal = IPAddress.IsLoopback(a.Address) || a.Address.IsIPv6LinkLocal || IsIPv4LinkLocal(a.Address);
        bool sysctlOff = sysctlEnabled == false && !flags.HasFlag(NetworkManagerMptcpFlags.AlsoWithoutSysctl);
        bool noDefaultRoute = !s.External && !linkLocal && !flags.HasFlag(NetworkManagerMptcpFlags.Disabled) && !sysctlOff && manages
                              && !a.DefaultRoute && !flags.HasFlag(NetworkManagerMptcpFlags.AlsoWithoutDefaultRoute);
        string reason = s.External ? "NetworkManager does not configure this device (an external connection)."
            : linkLocal ? "NetworkManager makes no endpoint for a loopback or link-local address."
            : flags.HasFlag(NetworkManagerMptcpFlags.Disabled) ? "mptcp-flags=disabled."
            : sysctlOff ? "net.mptcp.enabled is 0, and mptcp-flags lack also-without-sysctl."
            : !manages ? "NetworkManager does not manage endpoints for this connection."
            : noDefaultRoute ? $"{a.Device} has no {family} default route in NetworkManager's configuration, and mptcp-flags lack also-without-default-route."
            : "NetworkManager should have made one and has not (yet): its journal may say why.";
        return new NetworkManagerEndpoint { Device = a.Device, Address = a.Address, Reason = reason, NoDefaultRoute = noDefaultRoute };
    }

    private static bool IsIPv4LinkLocal(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetwork && address.GetAddressBytes() is [169, 254, ..];
}
