using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using PacketDotNet;
using PacketDotNet.Utils;
using SharpPcap;
using SharpPcap.LibPcap;

namespace MptcpTools.Packets;

/// <summary>The container a crafted capture is written in.</summary>
public enum CaptureFileFormat
{
    Pcap,
    PcapNg,
}

/// <summary>
/// Builds one real Ethernet / IPv4 or IPv6 / TCP frame with PacketDotNet, IP and TCP checksums included, so
/// a crafted capture (a test's, or a reproduction of a reported one) is what a wire would carry; and writes
/// frames to a pcap (through libpcap) or pcapng file. The capture readers never use it: it builds, not decodes.
/// </summary>
public sealed class TcpFrameBuilder
{
    private const int MaxOptionBytes = 40;

    public TcpFrameBuilder(IPAddress source, ushort sourcePort, IPAddress destination, ushort destinationPort)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        if (source.AddressFamily != destination.AddressFamily)
        {
            throw new ArgumentException($"The source {source} and the destination {destination} are not of one address family.");
        }

        Source = source;
        SourcePort = sourcePort;
        Destination = destination;
        DestinationPort = destinationPort;
    }

    public IPAddress Source { get; }
    public ushort SourcePort { get; }
    public IPAddress Destination { get; }
    public ushort DestinationPort { get; }
    public TcpFlags Flags { get; set; }
    public uint Sequence { get; set; }
    public uint Acknowledgment { get; set; }
    public ushort Window { get; set; } = ushort.MaxValue;
    public byte HopLimit { get; set; } = 64;
    /// <summary>Bytes of TCP payload (zeros) after the header; the IP length counts them.</summary>
    public int PayloadLength { get; set; }
    public PhysicalAddress SourceMac { get; set; } = PhysicalAddress.Parse("00-01-02-03-04-06");
    public PhysicalAddress DestinationMac { get; set; } = PhysicalAddress.Parse("00-01-02-03-04-05");

    /// <summary>Whole TCP options (kind, length, value), in order; padded with NOPs to the 4-byte boundary.</summary>
    public IList<byte[]> Options { get; } = new List<byte[]>();

    /// <summary>The Ethernet frame, with correct lengths and checksums.</summary>
    public byte[] Build()
    {
        if (PayloadLength < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(PayloadLength), PayloadLength, "The payload length cannot be negative.");
        }

        byte[] options = PaddedOptions();
        // PacketDotNet's TcpPacket(ports) constructor makes a 20-byte header, and its Options setter only copies
        // into the header it has; so the header is sized for the options here, from its data offset byte.
        byte[] header = new byte[20 + options.Length];
        header[12] = (byte)((header.Length / 4) << 4);
        var tcp = new TcpPacket(new ByteArraySegment(header))
        {
            SourcePort = SourcePort,
            DestinationPort = DestinationPort,
            SequenceNumber = Sequence,
            AcknowledgmentNumber = Acknowledgment,
            Flags = (ushort)Flags,
            WindowSize = Window,
            Options = options,
            PayloadData = new byte[PayloadLength],
        };

        IPPacket ip;
        EthernetType etherType;
        if (Source.AddressFamily == AddressFamily.InterNetworkV6)
        {
            ip = new IPv6Packet(Source, Destination) { HopLimit = HopLimit };
            etherType = EthernetType.IPv6;
        }
        else
        {
            ip = new IPv4Packet(Source, Destination) { TimeToLive = HopLimit };
            etherType = EthernetType.IPv4;
        }

        ip.PayloadPacket = tcp;
        var ethernet = new EthernetPacket(SourceMac, DestinationMac, etherType) { PayloadPacket = ip };
        // Lengths first (they are in the IPv4 checksum and the TCP pseudo-header), then the checksums.
        ethernet.UpdateCalculatedValues();
        tcp.UpdateTcpChecksum();
        if (ip is IPv4Packet v4)
        {
            v4.UpdateIPChecksum();
        }

        return ethernet.Bytes;
    }

    /// <summary>
    /// Writes frames of one link type with their timestamps: classic pcap through libpcap's own writer
    /// (microsecond timestamps), or pcapng through <see cref="PcapNgWriter"/>.
    /// </summary>
    public static void WriteCapture(string path, CaptureFileFormat format, int linkType, IReadOnlyList<DateTime> timestamps, IReadOnlyList<byte[]> frames)
    {
        ArgumentNullException.ThrowIfNull(timestamps);
        ArgumentNullException.ThrowIfNull(frames);
        if (timestamps.Count != frames.Count)
        {
            throw new ArgumentException($"There are {frames.Count} frames but {timestamps.Count} timestamps.");
        }

        const int snapLength = 262144;
        if (format == CaptureFileFormat.PcapNg)
        {
            using var writer = new PcapNgWriter(path, snapLength);
            for (int i = 0; i < frames.Count; i++)
            {
                writer.Write(linkType, "crafted", frames[i], frames[i].Length, timestamps[i]);
            }

            return;
        }

        var device = new CaptureFileWriterDevice(path, FileMode.Create);
        try
        {
            // libpcap opens a savefile for a DLT and stores its LINKTYPE; the two differ for raw IP
            // (LINKTYPE_RAW 101 is DLT_RAW 12 on Linux), which libpcap refuses under its LINKTYPE.
            int dlt = linkType == FrameParser.LinkRaw ? FrameParser.LinkRawOpenBsd : linkType;
            device.Open(new DeviceConfiguration { LinkLayerType = (LinkLayers)dlt, Snaplen = snapLength });
            for (int i = 0; i < frames.Count; i++)
            {
                TimeSpan sinceEpoch = timestamps[i].ToUniversalTime() - DateTime.UnixEpoch;
                var header = new PcapHeader((uint)(sinceEpoch.Ticks / TimeSpan.TicksPerSecond),
                    (uint)(sinceEpoch.Ticks % TimeSpan.TicksPerSecond / 10), (uint)frames[i].Length, (uint)frames[i].Length);
                device.Write(frames[i], ref header);
            }
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException)
        {
            throw CaptureFileReader.LibpcapMissing(e);
        }
        finally
        {
            device.Close();
        }
    }

    private byte[] PaddedOptions()
    {
        int length = 0;
        foreach (byte[] option in Options)
        {
            length += option.Length;
        }

        if (length > MaxOptionBytes)
        {
            throw new ArgumentException($"The TCP options take {length} bytes; a TCP header has room for {MaxOptionBytes}.");
        }

        byte[] padded = new byte[(length + 3) & ~3];
        padded.AsSpan(length).Fill(1); // NOP
        int offset = 0;
        foreach (byte[] option in Options)
        {
            option.CopyTo(padded, offset);
            offset += option.Length;
        }

        return padded;
    }
}
