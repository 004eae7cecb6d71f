using System;
using System.Collections.Generic;

namespace MptcpTools.Kernel;

/// <summary>A generic netlink family as the nlctrl controller describes it.</summary>
public sealed class GenericNetlinkFamily
{
    private const ushort GENL_ID_CTRL = 0x10;
    private const byte CTRL_CMD_GETFAMILY = 3;
    private const ushort CTRL_ATTR_FAMILY_ID = 1;
    private const ushort CTRL_ATTR_FAMILY_NAME = 2;
    private const ushort CTRL_ATTR_VERSION = 3;
    private const ushort CTRL_ATTR_MCAST_GROUPS = 7;
    private const ushort CTRL_ATTR_MCAST_GRP_NAME = 1;
    private const ushort CTRL_ATTR_MCAST_GRP_ID = 2;

    public GenericNetlinkFamily(string name, ushort id, uint version, IReadOnlyDictionary<string, uint> multicastGroups)
    {
        Name = name;
        Id = id;
        Version = version;
        MulticastGroups = multicastGroups;
    }

    public string Name { get; }
    public ushort Id { get; }
    public uint Version { get; }
    public IReadOnlyDictionary<string, uint> MulticastGroups { get; }

    /// <summary>Asks nlctrl for a family by name. ENOENT from the kernel means it has no such family.</summary>
    public static GenericNetlinkFamily Resolve(NetlinkSocket socket, string name)
    {
        NetlinkRequestBuilder request = NetlinkRequestBuilder
            .Generic(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, Netlink.NLM_F_REQUEST | Netlink.NLM_F_ACK)
            .String(CTRL_ATTR_FAMILY_NAME, name);
        IReadOnlyList<NetlinkMessage> replies = socket.Request(request, $"find the generic netlink family '{name}'");
        if (replies.Count == 0)
        {
            throw new KernelException($"find the generic netlink family '{name}'", Errnos.ENOENT);
        }

        return Parse(replies[0].Payload);
    }

    /// <summary>Reads a CTRL_CMD_NEWFAMILY payload (generic header then attributes).</summary>
    public static GenericNetlinkFamily Parse(ReadOnlyMemory<byte> payload)
    {
        IReadOnlyList<NetlinkAttribute> attributes = NetlinkAttributes.Parse(payload[Netlink.GenlHeaderLength..]);
        string name = NetlinkAttributes.Find(attributes, CTRL_ATTR_FAMILY_NAME)?.AsString()
            ?? throw new FormatException("nlctrl reply without a family name");
        ushort id = NetlinkAttributes.Find(attributes, CTRL_ATTR_FAMILY_ID)?.AsUInt16()
            ?? throw new FormatException("nlctrl reply without a family id");
        uint version = NetlinkAttributes.Find(attributes, CTRL_ATTR_VERSION)?.AsUInt32() ?? 0;
        var groups = new Dictionary<string, uint>(StringComparer.Ordinal);
        NetlinkAttribute? groupList = NetlinkAttributes.Find(attributes, CTRL_ATTR_MCAST_GROUPS);
        if (groupList is { } list)
        {
            foreach (NetlinkAttribute group in list.AsNested())
            {
                IReadOnlyList<NetlinkAttribute> fields = group.AsNested();
                string? groupName = NetlinkAttributes.Find(fields, CTRL_ATTR_MCAST_GRP_NAME)?.AsString();
                uint? groupId = NetlinkAttributes.Find(fields, CTRL_ATTR_MCAST_GRP_ID)?.AsUInt32();
                if (groupName is not null && groupId is not null)
                {
                    groups[groupName] = groupId.Value;
                }
            }
        }

        return new GenericNetlinkFamily(name, id, version, groups);
    }
}
