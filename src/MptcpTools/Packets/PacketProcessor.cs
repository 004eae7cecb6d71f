using System;
using System.Collections.Generic;

namespace MptcpTools.Packets;

/// <summary>
/// The one path every captured frame takes, from a file or live: find the TCP segment, decode its MPTCP
/// options, account it in the tracker, and make the packet object when one is wanted. Not thread-safe.
/// </summary>
public sealed class PacketProcessor
{
    private readonly List<MptcpOption> _options = new(4);

    public PacketProcessor()
    {
        Tracker = new ConnectionTracker();
    }

    /// <summary>A processor whose tracker also measures the data level, in intervals of <paramref name="measureInterval"/>.</summary>
    public PacketProcessor(TimeSpan measureInterval)
    {
        Tracker = new ConnectionTracker(measureInterval);
    }

    public ConnectionTracker Tracker { get; }
    public long Frames { get; private set; }
    public long TcpSegments { get; private set; }
    public long MptcpSegments { get; private set; }

    /// <summary>
    /// Processes one frame. Returns the packet object when <paramref name="materialize"/> is set and the
    /// segment carries an MPTCP option (or is any TCP segment, with <paramref name="includePlainTcp"/>).
    /// </summary>
    public MptcpPacket? Process(int linkType, ReadOnlySpan<byte> frame, DateTime timestamp, long number, bool materialize, bool includePlainTcp)
    {
        Frames++;
        if (!FrameParser.TryParse(linkType, frame, out TcpSegmentView segment))
        {
            return null;
        }

        TcpSegments++;
        _options.Clear();
        // Without a packet object to fill, a segment whose only MPTCP option is a DSS is decoded without allocating.
        if (!materialize && !segment.Options.IsEmpty && MptcpOptionDecoder.TryDecodeDssOnly(segment.Options, out DssFields dss))
        {
            MptcpSegments++;
            Tracker.Observe(ref segment, _options, dss, true, timestamp, number);
            return null;
        }

        int count = segment.Options.IsEmpty ? 0 : MptcpOptionDecoder.DecodeAll(segment.Options, segment.Flags, _options);
        (int stream, int connection) = Tracker.Observe(ref segment, _options, default, false, timestamp, number);
        if (count > 0)
        {
            MptcpSegments++;
        }

        if (!materialize || (count == 0 && !includePlainTcp))
        {
            return null;
        }

        return new MptcpPacket(number, timestamp, segment.Source.ToIPAddress(), segment.SourcePort,
            segment.Destination.ToIPAddress(), segment.DestinationPort, segment.Flags, segment.Sequence,
            segment.Acknowledgment, segment.PayloadLength, _options, stream, connection);
    }
}
