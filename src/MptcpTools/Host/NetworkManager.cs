using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
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

/// <summary>An address NetworkManager configured on a device, and whether its family has a default route there.</summary>
public sealed record NetworkManagerAddress
{
    public string Device { get; init; } = "";
    public IPAddress Address { get; init; } = IPAddress.None;
    public int PrefixLength { get; init; }
    /// <summary>Whether NetworkManager's configuration of the device has a default route (or a gateway) in the address's family.</summary>
    public bool DefaultRoute { get; init; }

    public override string ToString() => $"{Address}/{PrefixLength} on {Device}";
}

/// <summary>One NetworkManager connection profile and its connection.mptcp-flags, as NetworkManager reports them.</summary>
public record NetworkManagerMptcpSetting
{
    public string NetworkManagerVersion { get; init; } = "";
    public string Connection { get; init; } = "";
    public string? Uuid { get; init; }
    public string? Type { get; init; }
    /// <summary>Whether the connection is active (on the devices in <see cref="Devices"/>).</summary>
    public bool Active { get; init; } = true;
    /// <summary>
    /// A connection NetworkManager made to describe a device it does not configure (an external or generated
    /// one: lo, a veth peer another tool made); it sets no endpoint for it.
    /// </summary>
    public bool External { get; init; }
    public string[] Devices { get; init; } = Array.Empty<string>();
    public uint RawFlags { get; init; }
    public NetworkManagerMptcpFlags Flags => (NetworkManagerMptcpFlags)RawFlags;
    /// <summary>The flags in words, as nmcli shows them.</summary>
    public string Meaning => Describe(RawFlags);
    /// <summary>connection.mptcp-flags in NetworkManager's configuration files ([connection] sections): what 0 means; null when unset.</summary>
    public uint? GlobalDefaultFlags { get; init; }
    /// <summary>The file and line of <see cref="GlobalDefaultFlags"/>.</summary>
    public string? GlobalDefaultSource { get; init; }
    /// <summary>The addresses NetworkManager configured on the connection's devices (empty when inactive).</summary>
    public NetworkManagerAddress[] Addresses { get; init; } = Array.Empty<NetworkManagerAddress>();

    /// <summary>The flags NetworkManager works with: the connection's, else the global default, else enabled,subflow.</summary>
    public uint EffectiveFlags => RawFlags != 0 ? RawFlags : GlobalDefaultFlags is { } g and not 0 ? g : NetworkManager.FallbackFlags;

    public override string ToString() => $"{Connection} ({string.Join(",", Devices)}): {Meaning}";

    /// <summary>The flags in nmcli's words; 0 is the global default.</summary>
    public static string Describe(uint raw)
    {
        if (raw == 0)
        {
            return "default (enabled, subflow when net.mptcp.enabled=1)";
        }

        return string.Join(", ", Names(raw));
    }

    /// <summary>The flags as nmcli takes them (connection.mptcp-flags enabled,subflow,...); 0 is "0" (the default).</summary>
    public static string NmcliValue(uint raw) => raw == 0 ? "0" : string.Join(",", Names(raw));

    private static IEnumerable<string> Names(uint raw)
    {
        var flags = (NetworkManagerMptcpFlags)raw;
        return Enum.GetValues<NetworkManagerMptcpFlags>()
            .Where(f => f != NetworkManagerMptcpFlags.Default && flags.HasFlag(f))
            .Select(f => f switch
            {
                NetworkManagerMptcpFlags.AlsoWithoutSysctl => "also-without-sysctl",
                NetworkManagerMptcpFlags.AlsoWithoutDefaultRoute => "also-without-default-route",
                _ => f.ToString().ToLowerInvariant(),
            });
    }
}

/// <summary>NetworkManager could not do what was asked of it over D-Bus.</summary>
public sealed class NetworkManagerException : Exception
{
    public NetworkManagerException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>
/// Reads NetworkManager over D-Bus: its version, every connection profile with its mptcp-flags, the active
/// ones' devices and the addresses it configured there; and changes a connection's mptcp-flags. The global
/// default of mptcp-flags lives only in NetworkManager's configuration files (no D-Bus property carries
/// it), so those are read as NetworkManager reads them.
/// </summary>
public static class NetworkManager
{
    private const string Service = "org.freedesktop.NetworkManager";
    private const string Root = "/org/freedesktop/NetworkManager";
    /// <summary>What NetworkManager uses when neither the connection nor the configuration sets mptcp-flags: enabled,subflow.</summary>
    public const uint FallbackFlags = (uint)(NetworkManagerMptcpFlags.Enabled | NetworkManagerMptcpFlags.Subflow);
    // NMSettingsConnectionFlags: NM_GENERATED and EXTERNAL.
    private const uint GeneratedFlag = 0x2, ExternalFlag = 0x8;

    /// <summary>Every connection profile; empty (with a reason) when NetworkManager is not there.</summary>
    public static (List<NetworkManagerMptcpSetting> Settings, string? Reason) Read(string? busAddress) => Read(busAddress, "/");

    /// <summary>As <see cref="Read(string?)"/>, with NetworkManager's configuration files under <paramref name="root"/>.</summary>
    public static (List<NetworkManagerMptcpSetting> Settings, string? Reason) Read(string? busAddress, string root)
    {
        var list = new List<NetworkManagerMptcpSetting>();
        try
        {
            using SystemBus bus = SystemBus.Connect(busAddress, TimeSpan.FromSeconds(3));
            if (!bus.HasOwner(Service))
            {
                return (list, $"NetworkManager is not running (no {Service} on the D-Bus at {bus.Address}).");
            }

            (uint? globalFlags, string? globalSource) = NetworkManagerConfig.ReadMptcpFlags(root);
            Dictionary<string, VariantValue> nm = bus.GetAll(Service, Root, Service);
            string version = nm.TryGetValue("Version", out VariantValue v) ? v.GetString() : "";
            // Active connections by their profile's path: the devices they are on.
            var activeDevices = new Dictionary<string, List<string>>(StringComparer.Ordinal);
            foreach (string path in Paths(nm, "ActiveConnections"))
            {
                Dictionary<string, VariantValue> ac = bus.GetAll(Service, path, "org.freedesktop.NetworkManager.Connection.Active");
                if (ac.TryGetValue("Connection", out VariantValue c))
                {
                    activeDevices[c.GetObjectPathAsString()] = Paths(ac, "Devices").ToList();
                }
            }

            foreach (string path in bus.CallReturningPaths(Service, $"{Root}/Settings", "org.freedesktop.NetworkManager.Settings", "ListConnections"))
            {
                Dictionary<string, Dictionary<string, VariantValue>> settings = bus.CallReturningSettings(Service, path, "org.freedesktop.NetworkManager.Settings.Connection", "GetSettings");
                Dictionary<string, VariantValue> connection = settings.GetValueOrDefault("connection") ?? new Dictionary<string, VariantValue>();
                uint profileFlags = bus.GetAll(Service, path, "org.freedesktop.NetworkManager.Settings.Connection").TryGetValue("Flags", out VariantValue pf) ? pf.GetUInt32() : 0;
                var devices = new List<string>();
                var addresses = new List<NetworkManagerAddress>();
                bool active = activeDevices.TryGetValue(path, out List<string>? devicePaths);
                foreach (string devicePath in devicePaths ?? new List<string>())
                {
                    Dictionary<string, VariantValue> device = bus.GetAll(Service, devicePath, "org.freedesktop.NetworkManager.Device");
                    string name = device.TryGetValue("Interface", out VariantValue i) ? i.GetString() : devicePath;
                    devices.Add(name);
                    foreach ((string property, string iface) in new[] { ("Ip4Config", "org.freedesktop.NetworkManager.IP4Config"), ("Ip6Config", "org.freedesktop.NetworkManager.IP6Config") })
                    {
                        if (device.TryGetValue(property, out VariantValue cp) && cp.GetObjectPathAsString() is { } configPath && configPath != "/")
                        {
                            addresses.AddRange(ReadAddresses(bus.GetAll(Service, configPath, iface), name));
                        }
                    }
                }

                list.Add(new NetworkManagerMptcpSetting
                {
                    NetworkManagerVersion = version,
                    Connection = Text(connection, "id") ?? path,
                    Uuid = Text(connection, "uuid"),
                    Type = Text(connection, "type"),
                    Active = active,
                    External = (profileFlags & (GeneratedFlag | ExternalFlag)) != 0,
                    Devices = devices.ToArray(),
                    RawFlags = connection.TryGetValue("mptcp-flags", out VariantValue f) && f.Type == VariantValueType.UInt32 ? f.GetUInt32() : 0,
                    GlobalDefaultFlags = globalFlags,
                    GlobalDefaultSource = globalSource,
                    Addresses = addresses.ToArray(),
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

    /// <summary>A connection's mptcp-flags now, by its UUID. Throws NetworkManagerException when there is no such connection.</summary>
    public static uint ReadFlags(string? busAddress, string uuid)
    {
        using SystemBus bus = Connect(busAddress);
        return ReadFlags(bus, ConnectionPath(bus, uuid));
    }

    /// <summary>
    /// Sets a connection's mptcp-flags in its profile (saved to disk, so it holds after a reboot) and, when the
    /// connection is active, activates it again so NetworkManager configures the endpoints anew. Returns the
    /// flags before.
    /// </summary>
    public static uint SetFlags(string? busAddress, string uuid, uint flags)
    {
        using SystemBus bus = Connect(busAddress);
        string path = ConnectionPath(bus, uuid);
        try
        {
            Dictionary<string, Dictionary<string, VariantValue>> settings = bus.CallReturningSettings(Service, path, "org.freedesktop.NetworkManager.Settings.Connection", "GetSettings");
            uint before = settings.TryGetValue("connection", out Dictionary<string, VariantValue>? c) && c.TryGetValue("mptcp-flags", out VariantValue f) && f.Type == VariantValueType.UInt32 ? f.GetUInt32() : 0;
            if (c is null)
            {
                throw new NetworkManagerException($"Connection {uuid} has no [connection] settings.");
            }

            c["mptcp-flags"] = VariantValue.UInt32(flags);
            // Update keeps the secrets it is not given: GetSettings never returns them.
            bus.CallIgnoringReply(Service, path, "org.freedesktop.NetworkManager.Settings.Connection", "Update", "a{sa{sv}}", settings);
            bool active = Paths(bus.GetAll(Service, Root, Service), "ActiveConnections")
                .Any(a => bus.GetAll(Service, a, "org.freedesktop.NetworkManager.Connection.Active").TryGetValue("Connection", out VariantValue ac) && ac.GetObjectPathAsString() == path);
            if (active)
            {
                bus.CallIgnoringReply(Service, Root, Service, "ActivateConnection", "ooo", new ObjectPath(path), new ObjectPath("/"), new ObjectPath("/"));
            }

            return before;
        }
        catch (DBusExceptionBase e)
        {
            throw new NetworkManagerException($"NetworkManager refused to change connection {uuid}: {e.Message}", e);
        }
    }

    private static SystemBus Connect(string? busAddress)
    {
        SystemBus bus = SystemBus.Connect(busAddress, TimeSpan.FromSeconds(3));
        if (!bus.HasOwner(Service))
        {
            bus.Dispose();
            throw new NetworkManagerException($"NetworkManager is not running (no {Service} on the D-Bus at {bus.Address}).");
        }

        return bus;
    }

    private static string ConnectionPath(SystemBus bus, string uuid)
    {
        try
        {
            return bus.CallReturningPath(Service, $"{Root}/Settings", "org.freedesktop.NetworkManager.Settings", "GetConnectionByUuid", uuid);
        }
        catch (DBusExceptionBase e)
        {
            throw new NetworkManagerException($"NetworkManager has no connection {uuid}: {e.Message}", e);
        }
    }

    private static uint ReadFlags(SystemBus bus, string path)
    {
        try
        {
            Dictionary<string, Dictionary<string, VariantValue>> settings = bus.CallReturningSettings(Service, path, "org.freedesktop.NetworkManager.Settings.Connection", "GetSettings");
            return settings.TryGetValue("connection", out Dictionary<string, VariantValue>? c) && c.TryGetValue("mptcp-flags", out VariantValue f) && f.Type == VariantValueType.UInt32 ? f.GetUInt32() : 0;
        }
        catch (DBusExceptionBase e)
        {
            throw new NetworkManagerException($"NetworkManager did not give the settings of {path}: {e.Message}", e);
        }
    }

    private const uint MainTable = 254;

    // IP4Config/IP6Config: AddressData (aa{sv}: address, prefix), Gateway, RouteData (aa{sv}: dest, prefix, table).
    // A default route counts in the main table only: one in a table of its own (source routing) is not the device's default.
    private static IEnumerable<NetworkManagerAddress> ReadAddresses(Dictionary<string, VariantValue> config, string device)
    {
        bool defaultRoute = (config.TryGetValue("Gateway", out VariantValue g) && g.Type == VariantValueType.String && g.GetString().Length > 0)
                            || Dictionaries(config, "RouteData").Any(r => r.TryGetValue("prefix", out VariantValue p) && p.Type == VariantValueType.UInt32 && p.GetUInt32() == 0
                                                                          && (!r.TryGetValue("table", out VariantValue t) || t.Type != VariantValueType.UInt32 || t.GetUInt32() is 0 or MainTable));
        foreach (Dictionary<string, VariantValue> a in Dictionaries(config, "AddressData"))
        {
            if (Text(a, "address") is { } text && IPAddress.TryParse(text, out IPAddress? address))
            {
                yield return new NetworkManagerAddress
                {
                    Device = device, Address = address,
                    PrefixLength = a.TryGetValue("prefix", out VariantValue p) && p.Type == VariantValueType.UInt32 ? (int)p.GetUInt32() : 0,
                    DefaultRoute = defaultRoute,
                };
            }
        }
    }

    private static IEnumerable<Dictionary<string, VariantValue>> Dictionaries(Dictionary<string, VariantValue> props, string key)
    {
        if (!props.TryGetValue(key, out VariantValue v) || v.Type != VariantValueType.Array)
        {
            yield break;
        }

        for (int i = 0; i < v.Count; i++)
        {
            VariantValue item = v.GetItem(i);
            if (item.Type == VariantValueType.Dictionary)
            {
                yield return item.GetDictionary<string, VariantValue>();
            }
        }
    }

    private static IEnumerable<string> Paths(Dictionary<string, VariantValue> props, string key) =>
        props.TryGetValue(key, out VariantValue v) && v.Type == VariantValueType.Array ? v.GetArray<ObjectPath>().Select(p => p.ToString()) : Array.Empty<string>();

    private static string? Text(Dictionary<string, VariantValue> props, string key) =>
        props.TryGetValue(key, out VariantValue v) && v.Type == VariantValueType.String ? v.GetString() : null;
}

/// <summary>
/// The global default of connection.mptcp-flags in NetworkManager's configuration: NetworkManager.conf, then
/// the conf.d files of /usr/lib, /run and /etc (a name in /etc hides the same name in /run and /usr/lib), in
/// file name order; the last [connection] section that sets it without match-device wins.
/// </summary>
public static class NetworkManagerConfig
{
    private const string Key = "connection.mptcp-flags";
    private const long MaxFileBytes = 1 << 20;

    public static (uint? Flags, string? Source) ReadMptcpFlags(string root)
    {
        string Under(string path) => Path.Combine(root, path.TrimStart('/'));
        var files = new List<string>();
        string main = Under("/etc/NetworkManager/NetworkManager.conf");
        if (File.Exists(main))
        {
            files.Add(main);
        }

        var byName = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (string dir in new[] { "/usr/lib/NetworkManager/conf.d", "/run/NetworkManager/conf.d", "/etc/NetworkManager/conf.d" })
        {
            if (Directory.Exists(Under(dir)))
            {
                foreach (string f in Directory.EnumerateFiles(Under(dir), "*.conf"))
                {
                    byName[Path.GetFileName(f)] = f; // later directories hide earlier ones
                }
            }
        }

        files.AddRange(byName.Values);
        (uint? flags, string? source) = (null, null);
        foreach (string file in files)
        {
            string[] lines;
            try
            {
                if (new FileInfo(file).Length > MaxFileBytes)
                {
                    continue;
                }

                lines = File.ReadAllLines(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            bool inConnection = false, matched = false;
            (uint? Flags, string Source)? found = null;
            for (int i = 0; i <= lines.Length; i++)
            {
                string line = i < lines.Length ? lines[i].Trim() : "[";
                if (line.StartsWith('['))
                {
                    // A section ends: what it set counts only when it applies to every device.
                    if (inConnection && !matched && found is { } hit)
                    {
                        (flags, source) = hit;
                    }

                    inConnection = line.StartsWith("[connection", StringComparison.Ordinal);
                    matched = false;
                    found = null;
                    continue;
                }

                if (!inConnection || line.Length == 0 || line[0] is '#' or ';' || line.IndexOf('=') is not (> 0 and var eq))
                {
                    continue;
                }

                string key = line[..eq].Trim(), value = line[(eq + 1)..].Trim();
                if (key.StartsWith("match-device", StringComparison.Ordinal))
                {
                    matched = true;
                }
                else if (key == Key)
                {
                    found = (ParseFlags(value), $"{file}:{i + 1}");
                }
            }
        }

        return (flags, source);
    }

    /// <summary>A flags value as NetworkManager's configuration takes it: a number, decimal or 0x hexadecimal.</summary>
    public static uint? ParseFlags(string value) =>
        value.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? uint.TryParse(value[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out uint h) ? h : null
            : uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out uint d) ? d : null;
}
