using System;
using System.Runtime.CompilerServices;
using PacketDotNet;

namespace MptcpTools.Packets;

/// <summary>
/// Finds the IP header in frames of the link types the hand-written fast path (<see cref="FrameParser"/>)
/// does not know, through PacketDotNet's link-layer decoders: PPP, and IEEE 802.11 QoS data frames bare,
/// under radiotap, or under PPI. Per frame it copies and allocates, which is fine for these captures and
/// is why the common link types never come here. The IP and TCP headers are then read by the fast path.
/// </summary>
internal static class LinkLayerFallback
{
    private const int LinkPpp = 9;
    private const int LinkPppHdlc = 50;
    private const int LinkIeee80211 = 105;
    private const int LinkRadiotap = 127;
    private const int LinkPpi = 192;

    public static bool Handles(int linkType) => linkType is LinkPpp or LinkPppHdlc or LinkIeee80211 or LinkRadiotap or LinkPpi;

    /// <summary>Where the IP header starts in the frame, and whether it is IPv4 (0x0800) or IPv6 (0x86dd).</summary>
    // Not inlined, so that FrameParser.TryParse compiles without loading PacketDotNet.
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static bool TryFindNetworkLayer(int linkType, ReadOnlySpan<byte> frame, out int offset, out int etherType)
    {
        offset = 0;
        etherType = 0;
        if (!Handles(linkType))
        {
            return false;
        }

        LinkLayers layer = (LinkLayers)linkType;
        int skip = 0;
        if (linkType is LinkPpp or LinkPppHdlc)
        {
            // RFC 1662 framing puts address and control bytes (ff 03) before the PPP protocol field; DLT_PPP
            // may or may not carry them, DLT_PPP_HDLC always does. PacketDotNet's PppPacket starts at the
            // protocol field, so they are stepped over here.
            bool framed = frame.Length >= 2 && frame[0] == 0xff && frame[1] == 0x03;
            if (linkType == LinkPppHdlc && !framed)
            {
                return false; // Cisco HDLC framing, which PacketDotNet does not decode
            }

            skip = framed ? 2 : 0;
            layer = LinkLayers.Ppp;
        }

        byte[] copy = frame[skip..].ToArray();
        IPPacket? ip;
        try
        {
            ip = Packet.ParsePacket(layer, copy)?.Extract<IPPacket>();
        }
        catch (Exception)
        {
            // PacketDotNet throws assorted exceptions on malformed or cut frames; such a frame holds no
            // readable TCP segment, and FrameParser promises never to throw.
            return false;
        }

        if (ip is null || !ReferenceEquals(ip.HeaderSegment.Bytes, copy))
        {
            return false;
        }

        offset = skip + ip.HeaderSegment.Offset;
        etherType = ip is IPv6Packet ? 0x86dd : 0x0800;
        return true;
    }
}
