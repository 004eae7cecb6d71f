using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;

namespace MptcpTools.Kernel;

/// <summary>An address configured on an interface (RTM_GETADDR), with its IFA_F_* flags and scope.</summary>
public sealed record InterfaceAddress(IPAddress Address, int PrefixLength, int InterfaceIndex, string? Interface, uint Flags = 0, byte Scope = 0)
{
    private const uint IFA_F_TEMPORARY = 0x01, IFA_F_DADFAILED = 0x08, IFA_F_TENTATIVE = 0x40;

    /// <summary>An IPv6 privacy (temporary) address.</summary>
    public bool Temporary => (Flags & IFA_F_TEMPORARY) != 0;
    /// <summary>Duplicate address detection still runs (or failed): the address cannot be used yet.</summary>
    public bool Tentative => (Flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)) != 0;
    /// <summary>fc00::/7, a unique local IPv6 address.</summary>
    public bool UniqueLocal => Address.AddressFamily == AddressFamily.InterNetworkV6 && (Address.GetAddressBytes()[0] & 0xfe) == 0xfc;
}

/// <summary>What the kernel answers to `ip route get DST from SRC` (RTM_GETROUTE).</summary>
public sealed record RouteLookup(IPAddress Destination, IPAddress? Source, int OutputInterfaceIndex, string? OutputInterface,
    IPAddress? Gateway, IPAddress? PreferredSource, uint Table);

/// <summary>A policy-routing rule (RTM_GETRULE), as `ip rule` lists it.</summary>
public sealed record RoutingRule(int Family, uint Priority, IPAddress? Source, int SourceLength, IPAddress? Destination, int DestinationLength, uint Table, byte Action);

/// <summary>rtnetlink (NETLINK_ROUTE) reads: addresses, route lookups, rules, the default route.</summary>
public static class RouteTable
{
    private const int NETLINK_ROUTE = 0;
    private const ushort RTM_NEWADDR = 20, RTM_GETADDR = 22, RTM_NEWROUTE = 24, RTM_GETROUTE = 26, RTM_NEWRULE = 32, RTM_GETRULE = 34;
    private const ushort IFA_ADDRESS = 1, IFA_LOCAL = 2, IFA_FLAGS = 8;
    private const ushort RTA_DST = 1, RTA_SRC = 2, RTA_OIF = 4, RTA_GATEWAY = 5, RTA_PREFSRC = 7, RTA_TABLE = 15;
    private const ushort FRA_DST = 1, FRA_SRC = 2, FRA_PRIORITY = 6, FRA_TABLE = 15;
    private const uint RTM_F_LOOKUP_TABLE = 0x1000;

    /// <summary>The interfaces endpoints use: the one each is bound to, else the one its address is on.</summary>
    public static List<string> EndpointInterfaces(IEnumerable<MptcpEndpoint> endpoints, IEnumerable<InterfaceAddress>? addresses)
    {
        var names = new List<string>();
        foreach (MptcpEndpoint e in endpoints)
        {
            string? name = e.Interface;
            if (name is null && addresses is not null)
            {
                foreach (InterfaceAddress a in addresses)
                {
                    if (a.Address.Equals(e.Address))
                    {
                        name = a.Interface;
                        break;
                    }
                }
            }

            if (name is not null && !names.Contains(name))
            {
                names.Add(name);
            }
        }

        return names;
    }

    public static List<InterfaceAddress> Addresses()
    {
        var list = new List<InterfaceAddress>();
        using NetlinkSocket socket = NetlinkSocket.Open(NETLINK_ROUTE);
        var request = new NetlinkRequestBuilder(RTM_GETADDR, Netlink.NLM_F_REQUEST | Netlink.NLM_F_DUMP).Raw(stackalloc byte[8]);
        foreach (NetlinkMessage m in socket.Request(request, "list the interface addresses"))
        {
            if (m.Type != RTM_NEWADDR || m.Payload.Length < 8)
            {
                continue;
            }

            ReadOnlySpan<byte> h = m.Payload.Span;
            int index = (int)BinaryPrimitives.ReadUInt32LittleEndian(h[4..]);
            IReadOnlyList<NetlinkAttribute> a = NetlinkAttributes.Parse(m.Payload[8..]);
            // IFA_LOCAL is the address itself on point-to-point links; IFA_ADDRESS otherwise.
            NetlinkAttribute? value = NetlinkAttributes.Find(a, IFA_LOCAL) ?? NetlinkAttributes.Find(a, IFA_ADDRESS);
            if (value is { } v)
            {
                // IFA_FLAGS carries all 32 bits; the header's byte only the first eight.
                uint flags = NetlinkAttributes.Find(a, IFA_FLAGS)?.AsUInt32() ?? h[2];
                list.Add(new InterfaceAddress(new IPAddress(v.Data.Span), h[1], index, InterfaceNames.NameOf(index), flags, h[3]));
            }
        }

        return list;
    }

    /// <summary>The route the kernel picks for traffic from <paramref name="source"/> to <paramref name="destination"/>; null: no route.</summary>
    public static RouteLookup? Get(IPAddress destination, IPAddress? source)
    {
        bool v6 = destination.AddressFamily == AddressFamily.InterNetworkV6;
        int bits = v6 ? 128 : 32;
        Span<byte> rtmsg = stackalloc byte[12];
        rtmsg.Clear();
        rtmsg[0] = (byte)(v6 ? Native.AF_INET6 : Native.AF_INET);
        rtmsg[1] = (byte)bits;
        rtmsg[2] = (byte)(source is null ? 0 : bits);
        BinaryPrimitives.WriteUInt32LittleEndian(rtmsg[8..], RTM_F_LOOKUP_TABLE);
        var request = new NetlinkRequestBuilder(RTM_GETROUTE, Netlink.NLM_F_REQUEST).Raw(rtmsg).Attribute(RTA_DST, destination.GetAddressBytes());
        if (source is not null)
        {
            request.Attribute(RTA_SRC, source.GetAddressBytes());
        }

        using NetlinkSocket socket = NetlinkSocket.Open(NETLINK_ROUTE);
        IReadOnlyList<NetlinkMessage> replies;
        try
        {
            replies = socket.Request(request, $"look up the route to {destination}");
        }
        catch (KernelException e) when (e.Errno is Errnos.ENETUNREACH or Errnos.EHOSTUNREACH or Errnos.EINVAL or Errnos.ESRCH)
        {
            return null;
        }

        foreach (NetlinkMessage m in replies)
        {
            if (m.Type == RTM_NEWROUTE && m.Payload.Length >= 12)
            {
                return ParseRoute(m.Payload, destination, source);
            }
        }

        return null;
    }

    /// <summary>The gateway of the main table's default route for a family; null when there is none.</summary>
    public static IPAddress? DefaultGateway(AddressFamily family) => DefaultRoute(family).Gateway;

    /// <summary>
    /// The main table's default route for a family: whether there is one, and its gateway (null for a route
    /// straight out of a device, or none).
    /// </summary>
    public static (bool Exists, IPAddress? Gateway) DefaultRoute(AddressFamily family)
    {
        using NetlinkSocket socket = NetlinkSocket.Open(NETLINK_ROUTE);
        Span<byte> rtmsg = stackalloc byte[12];
        rtmsg.Clear();
        rtmsg[0] = (byte)(family == AddressFamily.InterNetworkV6 ? Native.AF_INET6 : Native.AF_INET);
        var request = new NetlinkRequestBuilder(RTM_GETROUTE, Netlink.NLM_F_REQUEST | Netlink.NLM_F_DUMP).Raw(rtmsg);
        bool exists = false;
        foreach (NetlinkMessage m in socket.Request(request, "list the routes"))
        {
            ReadOnlySpan<byte> h = m.Payload.Span;
            if (m.Type != RTM_NEWROUTE || h.Length < 12 || h[1] != 0 || h[4] != 254 || h[7] != 1)
            {
                continue; // not a unicast (type 1) default route (dst_len 0) of the main table (254)
            }

            exists = true;
            if (NetlinkAttributes.Find(NetlinkAttributes.Parse(m.Payload[12..]), RTA_GATEWAY) is { } gw)
            {
                return (true, new IPAddress(gw.Data.Span));
            }
        }

        return (exists, null);
    }

    public static List<RoutingRule> Rules(AddressFamily family)
    {
        var list = new List<RoutingRule>();
        using NetlinkSocket socket = NetlinkSocket.Open(NETLINK_ROUTE);
        Span<byte> hdr = stackalloc byte[12];
        hdr.Clear();
        hdr[0] = (byte)(family == AddressFamily.InterNetworkV6 ? Native.AF_INET6 : Native.AF_INET);
        var request = new NetlinkRequestBuilder(RTM_GETRULE, Netlink.NLM_F_REQUEST | Netlink.NLM_F_DUMP).Raw(hdr);
        foreach (NetlinkMessage m in socket.Request(request, "list the routing rules"))
        {
            ReadOnlySpan<byte> h = m.Payload.Span;
            if (m.Type != RTM_NEWRULE || h.Length < 12)
            {
                continue;
            }

            IReadOnlyList<NetlinkAttribute> a = NetlinkAttributes.Parse(m.Payload[12..]);
            uint table = NetlinkAttributes.Find(a, FRA_TABLE)?.AsUInt32() ?? h[4];
            list.Add(new RoutingRule(h[0], NetlinkAttributes.Find(a, FRA_PRIORITY)?.AsUInt32() ?? 0,
                NetlinkAttributes.Find(a, FRA_SRC) is { } s ? new IPAddress(s.Data.Span) : null, h[2],
                NetlinkAttributes.Find(a, FRA_DST) is { } d ? new IPAddress(d.Data.Span) : null, h[1], table, h[7]));
        }

        return list;
    }

    private static RouteLookup ParseRoute(ReadOnlyMemory<byte> payload, IPAddress destination, IPAddress? source)
    {
        ReadOnlySpan<byte> h = payload.Span;
        IReadOnlyList<NetlinkAttribute> a = NetlinkAttributes.Parse(payload[12..]);
        int oif = NetlinkAttributes.Find(a, RTA_OIF)?.AsInt32() ?? 0;
        return new RouteLookup(destination, source, oif, oif == 0 ? null : InterfaceNames.NameOf(oif),
            NetlinkAttributes.Find(a, RTA_GATEWAY) is { } g ? new IPAddress(g.Data.Span) : null,
            NetlinkAttributes.Find(a, RTA_PREFSRC) is { } p ? new IPAddress(p.Data.Span) : null,
            NetlinkAttributes.Find(a, RTA_TABLE)?.AsUInt32() ?? h[4]);
    }
}
