using System;
using System.Collections.Generic;
using System.Net;

namespace MptcpTools.Kernel;

/// <summary>Path-manager events (MPTCP_EVENT_*).</summary>
public enum MptcpEventType
{
    Unknown = 0,
    Created = 1,
    Established = 2,
    Closed = 3,
    Announced = 6,
    Removed = 7,
    SubflowEstablished = 10,
    SubflowClosed = 11,
    SubflowPriority = 13,
    ListenerCreated = 15,
    ListenerClosed = 16,
}

/// <summary>One event from the mptcp_pm_events multicast group, as `ip mptcp monitor` shows it.</summary>
public sealed class MptcpEvent
{
    public DateTime Timestamp { get; init; }
    public MptcpEventType Type { get; init; }
    public int TypeValue { get; init; }
    public uint? Token { get; init; }
    public string? Family { get; init; }
    public byte? LocalId { get; init; }
    public byte? RemoteId { get; init; }
    public IPAddress? SourceAddress { get; init; }
    public ushort? SourcePort { get; init; }
    public IPAddress? DestinationAddress { get; init; }
    public ushort? DestinationPort { get; init; }
    public bool? Backup { get; init; }
    public byte? Error { get; init; }
    public ushort? Flags { get; init; }
    public uint? Timeout { get; init; }
    public string? Interface { get; init; }
    public uint? ResetReason { get; init; }
    public uint? ResetFlags { get; init; }
    public bool? ServerSide { get; init; }

    public override string ToString() =>
        $"{Type} token {Token:x8} {SourceAddress}:{SourcePort} > {DestinationAddress}:{DestinationPort}" +
        (LocalId is null ? "" : $" ids {LocalId}/{RemoteId}");

    /// <summary>Reads one event message (generic header, then MPTCP_ATTR_* attributes).</summary>
    public static MptcpEvent Parse(ReadOnlyMemory<byte> payload, DateTime timestamp, Func<int, string?> interfaceName)
    {
        int type = payload.Span[0];
        IReadOnlyList<NetlinkAttribute> a = NetlinkAttributes.Parse(payload[Netlink.GenlHeaderLength..]);
        NetlinkAttribute? Get(ushort t) => NetlinkAttributes.Find(a, t);
        ushort? family = Get(2)?.AsUInt16();
        int? ifIndex = Get(15)?.AsInt32();
        return new MptcpEvent
        {
            Timestamp = timestamp,
            TypeValue = type,
            Type = Enum.IsDefined(typeof(MptcpEventType), type) ? (MptcpEventType)type : MptcpEventType.Unknown,
            Token = Get(1)?.AsUInt32(),
            Family = family switch { Native.AF_INET => "IPv4", Native.AF_INET6 => "IPv6", null => null, _ => family.ToString() },
            LocalId = Get(3)?.AsByte(),
            RemoteId = Get(4)?.AsByte(),
            SourceAddress = Get(5) is { } s4 ? new IPAddress(s4.Data.Span[..4]) : Get(6) is { } s6 ? new IPAddress(s6.Data.Span[..16]) : null,
            DestinationAddress = Get(7) is { } d4 ? new IPAddress(d4.Data.Span[..4]) : Get(8) is { } d6 ? new IPAddress(d6.Data.Span[..16]) : null,
            SourcePort = Get(9)?.AsUInt16BigEndian(),
            DestinationPort = Get(10)?.AsUInt16BigEndian(),
            Backup = Get(11) is { } b ? b.AsByte() != 0 : null,
            Error = Get(12)?.AsByte(),
            Flags = Get(13)?.AsUInt16(),
            Timeout = Get(14)?.AsUInt32(),
            Interface = ifIndex is { } i && i != 0 ? interfaceName(i) ?? i.ToString(System.Globalization.CultureInfo.InvariantCulture) : null,
            ResetReason = Get(16)?.AsUInt32(),
            ResetFlags = Get(17)?.AsUInt32(),
            ServerSide = Get(18) is { } ss ? ss.AsByte() != 0 : null,
        };
    }
}

/// <summary>A subscription to the mptcp_pm_events group (needs CAP_NET_ADMIN).</summary>
public sealed class MptcpEventStream : IDisposable
{
    private readonly NetlinkSocket _socket;
    private readonly ushort _familyId;

    private MptcpEventStream(NetlinkSocket socket, ushort familyId)
    {
        _socket = socket;
        _familyId = familyId;
    }

    /// <summary>Event messages that could not be read.</summary>
    public int Malformed { get; private set; }

    /// <summary>How often the kernel reported that events were lost (ENOBUFS).</summary>
    public int Overruns { get; private set; }

    public static MptcpEventStream Open(TimeSpan pollInterval)
    {
        NetlinkSocket socket = NetlinkSocket.Open(Native.NETLINK_GENERIC, pollInterval);
        try
        {
            GenericNetlinkFamily family;
            try
            {
                family = GenericNetlinkFamily.Resolve(socket, MptcpPathManager.FamilyName);
            }
            catch (KernelException e) when (e.Errno is Errnos.ENOENT or Errnos.EINVAL)
            {
                throw new MptcpPathManagerMissingException(MptcpPathManager.FamilyName, e);
            }

            if (!family.MulticastGroups.TryGetValue("mptcp_pm_events", out uint group))
            {
                throw new KernelException("find the mptcp_pm_events multicast group", Errnos.ENOENT);
            }

            socket.JoinGroup(group);
            return new MptcpEventStream(socket, family.Id);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Waits up to the poll interval; returns the events that arrived (none on timeout).</summary>
    public IReadOnlyList<MptcpEvent> Next()
    {
        var events = new List<MptcpEvent>();
        try
        {
            foreach (NetlinkMessage message in _socket.Receive("receive MPTCP events"))
            {
                if (message.Type == _familyId && message.Payload.Length >= Netlink.GenlHeaderLength)
                {
                    try
                    {
                        events.Add(MptcpEvent.Parse(message.Payload, DateTime.UtcNow, InterfaceNames.NameOf));
                    }
                    catch (FormatException)
                    {
                        Malformed++;
                    }
                }
            }
        }
        catch (KernelException e) when (e.Errno == Errnos.ETIMEDOUT)
        {
        }
        catch (KernelException e) when (e.Errno == Errnos.ENOBUFS)
        {
            Overruns++; // the kernel dropped events while we were busy; the stream goes on
        }

        return events;
    }

    public void Dispose() => _socket.Dispose();
}
