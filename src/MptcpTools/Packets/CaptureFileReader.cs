using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using SharpPcap;
using SharpPcap.LibPcap;

namespace MptcpTools.Packets;

/// <summary>Reads pcap and pcapng files through libpcap (SharpPcap).</summary>
public sealed class CaptureFileReader
{
    public CaptureFileReader(string path) => Path = path;

    public string Path { get; }
    public long FileSize { get; private set; }
    /// <summary>An estimate of how far the reading got, in bytes of the file (for progress).</summary>
    public long Position { get; private set; }
    public long Frames { get; private set; }
    public int LinkType { get; private set; }

    /// <summary>
    /// Reads every frame into <paramref name="handler"/>. A file that ends mid-record (or is damaged
    /// part-way) delivers the frames before the damage, then throws Truncated.
    /// </summary>
    public void Read(FrameHandler handler, CancellationToken cancel = default)
    {
        if (Directory.Exists(Path))
        {
            throw new CaptureException(CaptureProblem.NotAFile, $"'{Path}' is a directory, not a capture file.");
        }

        if (!File.Exists(Path))
        {
            throw new CaptureException(CaptureProblem.FileNotFound, $"There is no capture file '{Path}'.");
        }

        try
        {
            using (File.OpenRead(Path))
            {
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CaptureException(CaptureProblem.Unreadable, $"'{Path}' cannot be read: {e.Message}", e);
        }

        FileSize = new FileInfo(Path).Length;
        CaptureFileReaderDevice device;
        try
        {
            device = new CaptureFileReaderDevice(Path);
            device.Open(new DeviceConfiguration());
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException)
        {
            throw LibpcapMissing(e);
        }
        catch (PcapException e)
        {
            throw new CaptureException(CaptureProblem.NotACaptureFile, $"'{Path}' is not a pcap or pcapng file libpcap can read: {e.Message}", e);
        }

        using (device)
        {
            LinkType = (int)device.LinkType;
            if (!FrameParser.CanParseLinkType(LinkType))
            {
                throw new CaptureException(CaptureProblem.UnsupportedLinkType,
                    $"'{Path}' has link-layer type {LinkType} ({device.LinkType}); supported are Ethernet, Linux cooked v1 and v2, raw IP, loopback, PPP and IEEE 802.11 (bare, radiotap or PPI).");
            }

            Position = 24;
            while (!cancel.IsCancellationRequested)
            {
                GetPacketStatus status = device.GetNextPacket(out PacketCapture capture);
                if (status == GetPacketStatus.PacketRead)
                {
                    Frames++;
                    ReadOnlySpan<byte> data = capture.Data;
                    Position += 16 + data.Length;
                    if (!handler(LinkType, data, capture.Header.Timeval.Date, Frames))
                    {
                        return;
                    }
                }
                else if (status == GetPacketStatus.NoRemainingPackets)
                {
                    Position = FileSize;
                    return;
                }
                else if (status == GetPacketStatus.Error)
                {
                    throw new CaptureException(CaptureProblem.Truncated,
                        $"'{Path}' is damaged after frame {Frames}: {device.LastError}. The {Frames} frames before it were read.");
                }
            }
        }
    }

    internal static CaptureException LibpcapMissing(Exception e) => new(CaptureProblem.LibpcapMissing,
        "libpcap is not installed. Install it: apt-get install libpcap0.8 (libpcap0.8t64 on Ubuntu 24.04).", e);
}
