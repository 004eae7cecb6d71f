using System;
using System.Collections.Generic;
using System.Linq;
using Tmds.DBus.Protocol;

namespace MptcpTools.Host;

/// <summary>NetworkManager's connection.mptcp-flags (NM 1.40 and later, libnm's NMMptcpFlags).</summary>
[Flags]
public enum NetworkManagerMptcpFlags : uint
{
    /// <summary>0: use the global default (enabled, subflow, when net.mptcp.enabled is 1).</summary>
    Default = 0,
    Disabled = 0x1,
    Enabled = 0x2,
    AlsoWithoutSysctl = 0x4,
    AlsoWithoutDefaultRoute = 0x8,
    Signal = 0x10,
    Subflow = 0x20,
    Backup = 0x40,
    Fullmesh = 0x80,
}

/// <summary>One active NetworkManager connection and its connection.mptcp-flags, as NetworkManager reports them.</summary>
public record NetworkManagerMptcpSetting
{
    public string NetworkManagerVersion { get; init; } = "";
    public string Connection { get; init; } = "";
    public string? Uuid { get; init; }
    public string? Type { get; init; }
    public string[] Devices { get; init; } = Array.Empty<string>();
    public uint RawFlags { get; init; }
    public NetworkManagerMptcpFlags Flags => (NetworkManagerMptcpFlags)RawFlags;
    /// <summary>The flags in words, as nmcli shows them.</summary>
    public string Meaning => Describe(RawFlags);

    public override string ToString() => $"{Connection} ({string.Join(",", Devices)}): {Meaning}";

    /// <summary>The flags in nmcli's words; 0 is the global default.</summary>
    public static string Describe(uint raw)
    {
        if (raw == 0)
        {
            return "default (enabled, subflow when net.mptcp.enabled=1)";
        }

        var flags = (NetworkManagerMptcpFlags)raw;
        return string.Join(", ", Enum.GetValues<NetworkManagerMptcpFlags>()
            .Where(f => f != NetworkManagerMptcpFlags.Default && flags.HasFlag(f))
            .Select(f => f switch
            {
                NetworkManagerMptcpFlags.AlsoWithoutSysctl => "also-without-sysctl",
                NetworkManagerMptcpFlags.AlsoWithoutDefaultRoute => "also-without-default-route",
                _ => f.ToString().ToLowerInvariant(),
            }));
    }
}

/// <summary>Reads NetworkManager over D-Bus: its version, active connections, their devices and mptcp-flags.</summary>
public static class NetworkManager
{
    private const string Service = "org.freedesktop.NetworkManager";

    /// <summary>The settings of every active connection; empty (with a reason) when NetworkManager is not there.</summary>
    public static (List<NetworkManagerMptcpSetting> Settings, string? Reason) Read(string? busAddress)
    {
        var list = new List<NetworkManagerMptcpSetting>();
        try
        {
            using SystemBus bus = SystemBus.Connect(busAddress, TimeSpan.FromSeconds(3));
            if (!bus.HasOwner(Service))
            {
                return (list, $"NetworkManager is not running (no {Service} on the D-Bus at {bus.Address}).");
            }

            Dictionary<string, VariantValue> nm = bus.GetAll(Service, "/org/freedesktop/NetworkManager", Service);
            string version = nm.TryGetValue("Version", out VariantValue v) ? v.GetString() : "";
            string[] active = nm.TryGetValue("ActiveConnections", out VariantValue a)
                ? a.GetArray<ObjectPath>().Select(p => p.ToString()).ToArray()
                : Array.Empty<string>();
            foreach (string path in active)
            {
                Dictionary<string, VariantValue> ac = bus.GetAll(Service, path, "org.freedesktop.NetworkManager.Connection.Active");
                string[] devicePaths = ac.TryGetValue("Devices", out VariantValue d) ? d.GetArray<ObjectPath>().Select(p => p.ToString()).ToArray() : Array.Empty<string>();
                string[] devices = devicePaths.Select(dp => bus.GetAll(Service, dp, "org.freedesktop.NetworkManager.Device").TryGetValue("Interface", out VariantValue i) ? i.GetString() : dp).ToArray();
                uint flags = 0;
                if (ac.TryGetValue("Connection", out VariantValue c))
                {
                    Dictionary<string, Dictionary<string, VariantValue>> settings = bus.CallReturningSettings(Service, c.GetObjectPathAsString(), "org.freedesktop.NetworkManager.Settings.Connection", "GetSettings");
                    if (settings.TryGetValue("connection", out Dictionary<string, VariantValue>? connection) && connection.TryGetValue("mptcp-flags", out VariantValue f))
                    {
                        flags = f.GetUInt32();
                    }
                }

                list.Add(new NetworkManagerMptcpSetting
                {
                    NetworkManagerVersion = version,
                    Connection = ac.TryGetValue("Id", out VariantValue id) ? id.GetString() : path,
                    Uuid = ac.TryGetValue("Uuid", out VariantValue u) ? u.GetString() : null,
                    Type = ac.TryGetValue("Type", out VariantValue t) ? t.GetString() : null,
                    Devices = devices,
                    RawFlags = flags,
                });
            }

            return (list, null);
        }
        catch (BusUnavailableException e)
        {
            return (list, e.Message);
        }
        catch (DBusExceptionBase e)
        {
            return (list, $"NetworkManager answered with an error: {e.Message}");
        }
    }
}
