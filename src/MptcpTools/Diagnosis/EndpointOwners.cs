using System.Collections.Generic;
using System.Linq;
using System.Net.Sockets;
using MptcpTools.Host;

namespace MptcpTools.Diagnosis;

/// <summary>
/// Who owns the endpoints of an interface. NetworkManager makes (and removes) the endpoints of the devices
/// it configures, so an endpoint added there by hand does not last: the fix goes through the connection's
/// mptcp-flags instead. Pure.
/// </summary>
internal static class EndpointOwners
{
    private const uint Kept = (uint)(NetworkManagerMptcpFlags.Signal | NetworkManagerMptcpFlags.Backup | NetworkManagerMptcpFlags.AlsoWithoutSysctl
                                     | NetworkManagerMptcpFlags.AlsoWithoutDefaultRoute);

    /// <summary>
    /// mptcpd adds an endpoint for every address, with the flags of addr-flags: when it runs under systemd with
    /// the in-kernel path manager and addr-flags lacks subflow, its configuration is what to change (an
    /// endpoint added by hand would be the only one with the flag, and gone at the next boot).
    /// </summary>
    public static MptcpdAddressFlagsRepair? MptcpdRepair(HostFacts f, string findingId)
    {
        if (f.Daemon is not { Running: true, Source: "systemd", UnitName: { } unit } d || f.Kernel?.PathManager == "userspace"
            || d.PathManagerPlugin is not (null or "addr_adv") || d.AddressFlags.Contains("subflow"))
        {
            return null;
        }

        // Keep the valid flags it had; fullmesh and signal exclude each other, and subflow comes with neither conflict.
        var flags = d.AddressFlags.Where(MptcpdConfig.AddrFlags.Contains).Append("subflow").Distinct().ToList();
        if (flags.Contains("signal") && flags.Contains("fullmesh"))
        {
            flags.Remove("fullmesh");
        }

        var notify = d.NotifyFlags.Where(MptcpdConfig.NotifyFlags.Contains).Concat(new[] { "existing", "skip_link_local", "skip_loopback" }).Distinct();
        return new MptcpdAddressFlagsRepair
        {
            FindingId = findingId, File = d.ConfigPath, Unit = unit, AddressFlags = string.Join(",", flags), NotifyFlags = string.Join(",", notify),
            BeforeAddressFlags = d.AddressFlags.Length > 0 ? string.Join(",", d.AddressFlags) : null,
            BeforeNotifyFlags = d.NotifyFlags.Length > 0 ? string.Join(",", d.NotifyFlags) : null,
        };
    }

    /// <summary>The active NetworkManager connection that configures this interface, if one does.</summary>
    public static NetworkManagerMptcpSetting? NetworkManagerConnection(HostFacts f, string? device) =>
        device is null ? null : f.NetworkManager?.FirstOrDefault(s => s.Active && !s.External && s.Devices.Contains(device));

    /// <summary>
    /// For the candidates on NetworkManager's devices, one change per connection: mptcp-flags that make it
    /// add subflow endpoints there (also without a default route, where the device's family has none).
    /// </summary>
    public static IEnumerable<NetworkManagerFlagsRepair> NetworkManagerRepairs(HostFacts f, string findingId, IEnumerable<EndpointCandidate> candidates)
    {
        foreach (IGrouping<NetworkManagerMptcpSetting, EndpointCandidate> group in candidates
                     .Select(c => (Connection: NetworkManagerConnection(f, c.Interface), Candidate: c))
                     // A connection someone disabled MPTCP on is left alone: NetworkManagerMptcpDisabled is about it.
                     .Where(x => x.Connection is { Uuid: not null } s && (s.EffectiveFlags & (uint)NetworkManagerMptcpFlags.Disabled) == 0)
                     .GroupBy(x => x.Connection!, x => x.Candidate))
        {
            NetworkManagerMptcpSetting s = group.Key;
            bool noDefaultRoute = group.Any(c => !s.Addresses.Any(a => a.Device == c.Interface && a.DefaultRoute && a.Address.AddressFamily == c.Address.AddressFamily));
            uint wanted = (s.EffectiveFlags & Kept) | (uint)(NetworkManagerMptcpFlags.Enabled | NetworkManagerMptcpFlags.Subflow)
                          | (noDefaultRoute ? (uint)NetworkManagerMptcpFlags.AlsoWithoutDefaultRoute : 0);
            yield return new NetworkManagerFlagsRepair { FindingId = findingId, Uuid = s.Uuid!, Connection = s.Connection, Flags = wanted, Before = s.RawFlags };
        }
    }
}
