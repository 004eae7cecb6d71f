using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;

namespace MptcpTools.Kernel;

/// <summary>The kernel has no `mptcp_pm` generic netlink family: no MPTCP, or a kernel older than 5.6.</summary>
public sealed class MptcpPathManagerMissingException : Exception
{
    public MptcpPathManagerMissingException(string familyName, KernelException inner)
        : base($"The kernel has no generic netlink family '{familyName}', so it has no in-kernel MPTCP path manager: " +
               "MPTCP is not built into this kernel (CONFIG_MPTCP), or the kernel is older than 5.6.", inner)
    {
    }
}

/// <summary>
/// The in-kernel path manager over generic netlink (`mptcp_pm`, include/uapi/linux/mptcp_pm.h):
/// endpoints and limits, as `ip mptcp endpoint` and `ip mptcp limits` use them.
/// </summary>
public sealed class MptcpPathManager : IDisposable
{
    public const string FamilyName = "mptcp_pm";

    // Commands.
    public const byte CMD_ADD_ADDR = 1;
    public const byte CMD_DEL_ADDR = 2;
    public const byte CMD_GET_ADDR = 3;
    public const byte CMD_FLUSH_ADDRS = 4;
    public const byte CMD_SET_LIMITS = 5;
    public const byte CMD_GET_LIMITS = 6;
    public const byte CMD_SET_FLAGS = 7;

    // Top-level attributes.
    public const ushort ATTR_ADDR = 1;
    public const ushort ATTR_RCV_ADD_ADDRS = 2;
    public const ushort ATTR_SUBFLOWS = 3;

    // Address attributes (nested in ATTR_ADDR).
    public const ushort ADDR_ATTR_FAMILY = 1;
    public const ushort ADDR_ATTR_ID = 2;
    public const ushort ADDR_ATTR_ADDR4 = 3;
    public const ushort ADDR_ATTR_ADDR6 = 4;
    public const ushort ADDR_ATTR_PORT = 5;
    public const ushort ADDR_ATTR_FLAGS = 6;
    public const ushort ADDR_ATTR_IF_IDX = 7;

    private readonly NetlinkSocket _socket;
    private readonly GenericNetlinkFamily _family;

    private MptcpPathManager(NetlinkSocket socket, GenericNetlinkFamily family)
    {
        _socket = socket;
        _family = family;
    }

    public GenericNetlinkFamily Family => _family;

    /// <summary>Opens a generic netlink socket in this network namespace and resolves `mptcp_pm`.</summary>
    public static MptcpPathManager Open() => Open(FamilyName);

    /// <summary>
    /// Resolves the path manager under a given family name. Tests ask for a name no kernel has to see
    /// exactly what a kernel without MPTCP gives.
    /// </summary>
    public static MptcpPathManager Open(string familyName)
    {
        NetlinkSocket socket = NetlinkSocket.Open(Native.NETLINK_GENERIC);
        try
        {
            GenericNetlinkFamily family;
            try
            {
                family = GenericNetlinkFamily.Resolve(socket, familyName);
            }
            catch (KernelException e) when (e.Errno is Errnos.ENOENT or Errnos.EINVAL)
            {
                // nlctrl answers EINVAL (older kernels: ENOENT) for a family it does not know.
                throw new MptcpPathManagerMissingException(familyName, e);
            }

            return new MptcpPathManager(socket, family);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public IReadOnlyList<MptcpEndpoint> GetEndpoints()
    {
        NetlinkRequestBuilder request = NewRequest(CMD_GET_ADDR, Netlink.NLM_F_REQUEST | Netlink.NLM_F_DUMP);
        var endpoints = new List<MptcpEndpoint>();
        foreach (NetlinkMessage reply in _socket.Request(request, "list MPTCP endpoints"))
        {
            endpoints.Add(ParseEndpoint(reply.Payload, InterfaceNames.NameOf));
        }

        endpoints.Sort((a, b) => a.Id.CompareTo(b.Id));
        return endpoints;
    }

    public void AddEndpoint(IPAddress address, byte id, ushort port, MptcpEndpointFlags flags, int interfaceIndex)
    {
        NetlinkRequestBuilder request = BuildAddEndpoint(_family.Id, _family.Version, address, id, port, flags, interfaceIndex);
        _socket.Request(request, $"add MPTCP endpoint {address}");
    }

    public void RemoveEndpoint(byte id)
    {
        NetlinkRequestBuilder request = NewRequest(CMD_DEL_ADDR, Netlink.NLM_F_REQUEST | Netlink.NLM_F_ACK)
            .BeginNested(ATTR_ADDR).UInt8(ADDR_ATTR_ID, id).EndNested();
        _socket.Request(request, $"remove MPTCP endpoint {id}");
    }

    /// <summary>Changes an endpoint's flags; the kernel changes only backup and fullmesh this way.</summary>
    public void SetEndpointFlags(byte id, MptcpEndpointFlags flags)
    {
        NetlinkRequestBuilder request = NewRequest(CMD_SET_FLAGS, Netlink.NLM_F_REQUEST | Netlink.NLM_F_ACK)
            .BeginNested(ATTR_ADDR).UInt8(ADDR_ATTR_ID, id).UInt32(ADDR_ATTR_FLAGS, (uint)flags).EndNested();
        _socket.Request(request, $"change the flags of MPTCP endpoint {id}");
    }

    public void FlushEndpoints()
    {
        _socket.Request(NewRequest(CMD_FLUSH_ADDRS, Netlink.NLM_F_REQUEST | Netlink.NLM_F_ACK), "remove all MPTCP endpoints");
    }

    public MptcpLimit GetLimits()
    {
        IReadOnlyList<NetlinkMessage> replies = _socket.Request(
            NewRequest(CMD_GET_LIMITS, Netlink.NLM_F_REQUEST), "read the MPTCP limits");
        if (replies.Count == 0)
        {
            throw new KernelException("read the MPTCP limits", Errnos.ENOENT);
        }

        return ParseLimits(replies[0].Payload);
    }

    /// <summary>Sets either limit or both; a null one is left as the kernel has it.</summary>
    public void SetLimits(uint? subflows, uint? addAddrAccepted)
    {
        NetlinkRequestBuilder request = NewRequest(CMD_SET_LIMITS, Netlink.NLM_F_REQUEST | Netlink.NLM_F_ACK);
        if (addAddrAccepted is { } accepted)
        {
            request.UInt32(ATTR_RCV_ADD_ADDRS, accepted);
        }

        if (subflows is { } count)
        {
            request.UInt32(ATTR_SUBFLOWS, count);
        }

        _socket.Request(request, "set the MPTCP limits");
    }

    /// <summary>The ADD_ADDR request, exposed for tests of its encoding.</summary>
    public static NetlinkRequestBuilder BuildAddEndpoint(
        ushort familyId, uint version, IPAddress address, byte id, ushort port, MptcpEndpointFlags flags, int interfaceIndex)
    {
        NetlinkRequestBuilder request = NetlinkRequestBuilder
            .Generic(familyId, CMD_ADD_ADDR, (byte)Math.Max(version, 1), Netlink.NLM_F_REQUEST | Netlink.NLM_F_ACK)
            .BeginNested(ATTR_ADDR);
        bool v4 = address.AddressFamily == AddressFamily.InterNetwork;
        request.UInt16(ADDR_ATTR_FAMILY, (ushort)(v4 ? Native.AF_INET : Native.AF_INET6));
        request.Attribute(v4 ? ADDR_ATTR_ADDR4 : ADDR_ATTR_ADDR6, address.GetAddressBytes());
        if (id != 0)
        {
            request.UInt8(ADDR_ATTR_ID, id);
        }

        if (port != 0)
        {
            request.UInt16(ADDR_ATTR_PORT, port); // host byte order, as the kernel's parser expects
        }

        request.UInt32(ADDR_ATTR_FLAGS, (uint)flags);
        if (interfaceIndex != 0)
        {
            request.Int32(ADDR_ATTR_IF_IDX, interfaceIndex);
        }

        return request.EndNested();
    }

    /// <summary>Reads one GET_ADDR answer (generic header, then ATTR_ADDR).</summary>
    public static MptcpEndpoint ParseEndpoint(ReadOnlyMemory<byte> payload, Func<int, string?> interfaceName)
    {
        IReadOnlyList<NetlinkAttribute> top = NetlinkAttributes.Parse(payload[Netlink.GenlHeaderLength..]);
        NetlinkAttribute addr = NetlinkAttributes.Find(top, ATTR_ADDR)
            ?? throw new FormatException("mptcp_pm endpoint message without an address attribute");
        IReadOnlyList<NetlinkAttribute> fields = addr.AsNested();
        IPAddress? address = null;
        if (NetlinkAttributes.Find(fields, ADDR_ATTR_ADDR4) is { } a4)
        {
            address = new IPAddress(a4.Data.Span[..4]);
        }
        else if (NetlinkAttributes.Find(fields, ADDR_ATTR_ADDR6) is { } a6)
        {
            address = new IPAddress(a6.Data.Span[..16]);
        }

        byte id = NetlinkAttributes.Find(fields, ADDR_ATTR_ID)?.AsByte() ?? 0;
        ushort port = NetlinkAttributes.Find(fields, ADDR_ATTR_PORT)?.AsUInt16() ?? 0;
        uint flags = NetlinkAttributes.Find(fields, ADDR_ATTR_FLAGS)?.AsUInt32() ?? 0;
        int ifIndex = NetlinkAttributes.Find(fields, ADDR_ATTR_IF_IDX)?.AsInt32() ?? 0;
        return new MptcpEndpoint(id, address, port, flags, ifIndex, ifIndex != 0 ? interfaceName(ifIndex) : null);
    }

    public static MptcpLimit ParseLimits(ReadOnlyMemory<byte> payload)
    {
        IReadOnlyList<NetlinkAttribute> top = NetlinkAttributes.Parse(payload[Netlink.GenlHeaderLength..]);
        uint accepted = NetlinkAttributes.Find(top, ATTR_RCV_ADD_ADDRS)?.AsUInt32() ?? 0;
        uint subflows = NetlinkAttributes.Find(top, ATTR_SUBFLOWS)?.AsUInt32() ?? 0;
        return new MptcpLimit(subflows, accepted);
    }

    public void Dispose() => _socket.Dispose();

    private NetlinkRequestBuilder NewRequest(byte command, ushort flags) =>
        NetlinkRequestBuilder.Generic(_family.Id, command, (byte)Math.Max(_family.Version, 1), flags);
}
