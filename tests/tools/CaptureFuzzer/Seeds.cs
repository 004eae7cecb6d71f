// The seed corpus the fuzz cases start from: small, valid captures of one MPTCP connection for every link type, in
// both formats and byte orders, with the timestamp patterns that broke readers (2038, the largest fields, pcapng
// resolutions and offsets). Deterministic: the same files on every run.
namespace CaptureFuzzer;

public static class Seeds
{
    public static void Write(string dir)
    {
        Directory.CreateDirectory(dir);
        int seed = 0;
        foreach (int linkType in Link.Types)
        {
            Write(dir, $"link-{linkType}.pcap", linkType, false, "normal", seed++);
            Write(dir, $"link-{linkType}.pcapng", linkType, true, "normal", seed++);
        }

        foreach (string stamps in Fuzz.TimestampPatterns.Distinct())
        {
            Write(dir, $"time-{stamps}.pcap", 1, false, stamps, seed++);
            Write(dir, $"time-{stamps}.pcapng", 1, true, stamps, seed++);
        }

        Write(dir, "ipv6-sll2.pcapng", 276, true, "normal", seed++, v6: true);
        Write(dir, "bigendian-nano.pcap", 113, false, "normal", seed++, bigEndian: true, nano: true);
    }

    private static void Write(string dir, string name, int linkType, bool pcapng, string stamps, int seed, bool v6 = false, bool bigEndian = false, bool nano = false)
    {
        var r = new Random(seed);
        List<Timed> segments = Scenario.Connection(r, v6, maxPayload: 64);
        using FileStream stream = File.Create(Path.Combine(dir, name));
        if (pcapng)
        {
            using var file = new PcapNgFile(stream, bigEndian);
            var options = new List<(ushort, byte[])>();
            if (stamps == "tsresol") options.Add((9, file.TsResol(0x80 | 40)));
            if (stamps == "tsoffset") options.Add((14, file.TsOffset(long.MaxValue)));
            file.Interface(linkType, 262144, options.ToArray());
            for (int i = 0; i < segments.Count; i++)
            {
                ulong ts = stamps switch
                {
                    "max" when i == segments.Count / 2 => ulong.MaxValue,
                    "2038" => (ulong)(0x7fffffffL * 1_000_000 - 500 + i * 200),
                    "backwards" => (ulong)(segments[i].Microseconds - i * 2_000_000L),
                    "zero" => 0,
                    _ => (ulong)segments[i].Microseconds,
                };
                file.Packet(0, ts, Link.Wrap(linkType, segments[i].Segment.ToIp()));
            }
        }
        else
        {
            using var file = new PcapFile(stream, linkType, nano, bigEndian);
            for (int i = 0; i < segments.Count; i++)
            {
                long us = segments[i].Microseconds;
                (uint sec, uint frac) = stamps switch
                {
                    "max" when i == segments.Count / 2 => (uint.MaxValue, uint.MaxValue),
                    "fraction" when i % 3 == 1 => ((uint)(us / 1_000_000), uint.MaxValue),
                    "2038" => ((uint)(0x7fffffffL - 1 + i / 4), (uint)(i * 250_000 % 1_000_000)),
                    "backwards" => ((uint)(us / 1_000_000 - i * 2), 0u),
                    "zero" => (0u, 0u),
                    _ => ((uint)(us / 1_000_000), (uint)(us % 1_000_000 * (nano ? 1000 : 1))),
                };
                file.Write(sec, frac, Link.Wrap(linkType, segments[i].Segment.ToIp()));
            }
        }
    }
}
