using System;
using System.Net;

namespace MptcpTools.Kernel;

/// <summary>
/// Endpoint flags of the in-kernel path manager (MPTCP_PM_ADDR_FLAG_*). Bits a newer kernel adds are
/// kept by value: the enum then prints them as numbers, and <see cref="MptcpEndpoint.RawFlags"/> holds them.
/// </summary>
[Flags]
public enum MptcpEndpointFlags : uint
{
    None = 0,
    /// <summary>Announce this address to peers (ADD_ADDR).</summary>
    Signal = 1,
    /// <summary>Open additional subflows from this address.</summary>
    Subflow = 2,
    /// <summary>Subflows from this address are backups (MP_PRIO / MP_JOIN backup bit).</summary>
    Backup = 4,
    /// <summary>Open a subflow from this address to every address the peer announced.</summary>
    Fullmesh = 8,
    /// <summary>Created by the kernel for an address a subflow used, not configured.</summary>
    Implicit = 16,
    /// <summary>Use this address for subflows to announced addresses too (6.18 and later).</summary>
    Laminar = 32,
}

/// <summary>An in-kernel path manager endpoint, as `ip mptcp endpoint show` lists it.</summary>
public sealed class MptcpEndpoint
{
    public MptcpEndpoint(byte id, IPAddress? address, ushort port, uint rawFlags, int interfaceIndex, string? interfaceName)
    {
        Id = id;
        Address = address;
        Port = port;
        RawFlags = rawFlags;
        InterfaceIndex = interfaceIndex;
        Interface = interfaceName;
    }

    public byte Id { get; }
    public IPAddress? Address { get; }
    /// <summary>0 when the endpoint has no port of its own.</summary>
    public ushort Port { get; }
    public MptcpEndpointFlags Flags => (MptcpEndpointFlags)RawFlags;
    public uint RawFlags { get; }
    /// <summary>The interface name, or null when the endpoint is not bound to one.</summary>
    public string? Interface { get; }
    public int InterfaceIndex { get; }
    public string? Family => Address?.AddressFamily switch
    {
        System.Net.Sockets.AddressFamily.InterNetwork => "IPv4",
        System.Net.Sockets.AddressFamily.InterNetworkV6 => "IPv6",
        _ => null,
    };

    public override string ToString()
    {
        string text = $"id {Id} {Address}";
        if (Port != 0)
        {
            text += $" port {Port}";
        }

        text += $" {Flags}";
        if (Interface is not null)
        {
            text += $" dev {Interface}";
        }

        return text;
    }
}

/// <summary>The in-kernel path manager's limits (`ip mptcp limits`).</summary>
public sealed class MptcpLimit
{
    public MptcpLimit(uint subflows, uint addAddrAccepted)
    {
        Subflows = subflows;
        AddAddrAccepted = addAddrAccepted;
    }

    /// <summary>How many additional subflows a connection may have.</summary>
    public uint Subflows { get; }

    /// <summary>How many addresses announced by a peer (ADD_ADDR) are used for new subflows.</summary>
    public uint AddAddrAccepted { get; }

    public override string ToString() => $"subflows {Subflows} add_addr_accepted {AddAddrAccepted}";
}
