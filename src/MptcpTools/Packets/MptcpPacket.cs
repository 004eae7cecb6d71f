using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;

namespace MptcpTools.Packets;

/// <summary>One captured TCP segment and the MPTCP options it carried.</summary>
public sealed class MptcpPacket
{
    public MptcpPacket(long number, DateTime timestamp, IPAddress source, ushort sourcePort, IPAddress destination, ushort destinationPort,
        TcpFlags flags, uint sequence, uint acknowledgment, int payloadLength, IReadOnlyList<MptcpOption> options, int stream, int connection)
    {
        Number = number;
        Timestamp = timestamp;
        Source = source;
        SourcePort = sourcePort;
        Destination = destination;
        DestinationPort = destinationPort;
        TcpFlags = flags;
        Sequence = sequence;
        Acknowledgment = acknowledgment;
        PayloadLength = payloadLength;
        Options = options.ToArray();
        Stream = stream;
        Connection = connection;
    }

    /// <summary>The frame's position in the capture, from 1 (as tcpdump and Wireshark number them).</summary>
    public long Number { get; }
    public DateTime Timestamp { get; }
    public IPAddress Source { get; }
    public ushort SourcePort { get; }
    public IPAddress Destination { get; }
    public ushort DestinationPort { get; }
    public TcpFlags TcpFlags { get; }
    public uint Sequence { get; }
    public uint Acknowledgment { get; }
    public int PayloadLength { get; }
    public MptcpOption[] Options { get; }
    /// <summary>The TCP connection (subflow) index, from 0 in order of appearance, like tshark's tcp.stream.</summary>
    public int Stream { get; }
    /// <summary>The MPTCP connection (or plain TCP connection) this segment belongs to, from 0.</summary>
    public int Connection { get; }

    public override string ToString() =>
        $"{Number} {Source}:{SourcePort} > {Destination}:{DestinationPort} [{TcpFlags}] len {PayloadLength}" +
        (Options.Length == 0 ? "" : " " + string.Join("; ", Options.Select(o => o.ToString())));
}
