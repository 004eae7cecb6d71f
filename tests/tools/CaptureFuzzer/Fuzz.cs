// Deterministic fuzz cases: case N is the same bytes on every machine and every run (System.Random with a seed
// is stable across .NET versions for the seeded constructor), so a failure names its seed and reproduces.
namespace CaptureFuzzer;

public sealed record FuzzCase(int Seed, string Name, string Extension, byte[] Bytes, string Recipe);

public static class Fuzz
{
    private static readonly uint[] InterestingWords =
    {
        0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x3ffff, 0x40000, 0x40001, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
    };

    /// <summary>Case <paramref name="seed"/>: a corpus file or a synthesized capture, then up to five mutations.</summary>
    public static FuzzCase Case(int seed, IReadOnlyList<(string Name, byte[] Bytes)> corpus)
    {
        var r = new Random(seed);
        string recipe;
        byte[] bytes;
        string extension;
        if (corpus.Count > 0 && r.Next(3) == 0)
        {
            (string name, byte[] b) = corpus[r.Next(corpus.Count)];
            bytes = (byte[])b.Clone();
            extension = name.EndsWith(".pcapng", StringComparison.Ordinal) ? ".pcapng" : ".pcap";
            recipe = "corpus " + name;
        }
        else
        {
            (bytes, extension, recipe) = Synthesize(r);
        }

        int mutations = r.Next(4) == 0 ? 0 : r.Next(1, 6);
        for (int i = 0; i < mutations; i++)
        {
            (bytes, string what) = Mutate(r, bytes, corpus);
            recipe += "; " + what;
        }

        return new FuzzCase(seed, $"case-{seed}", extension, bytes, recipe);
    }

    /// <summary>A capture of one scenario, of a random link type and format, with a random timestamp pattern.</summary>
    public static (byte[] Bytes, string Extension, string Recipe) Synthesize(Random r)
    {
        int linkType = Link.Types[r.Next(Link.Types.Length)];
        bool v6 = r.Next(3) == 0;
        List<Timed> segments = Scenario.Connection(r, v6, Scenario.Start, (ushort)r.Next(1024, 65000));
        if (r.Next(3) == 0)
        {
            // Random MPTCP options on some of the segments.
            foreach (Timed t in segments.Where(_ => r.Next(3) == 0))
            {
                t.Segment.Options = Scenario.RandomOptions(r);
            }
        }

        string stamps = TimestampPatterns[r.Next(TimestampPatterns.Length)];
        bool pcapng = r.Next(2) == 0;
        var stream = new MemoryStream();
        string recipe = $"{(pcapng ? "pcapng" : "pcap")} link {linkType} {(v6 ? "IPv6" : "IPv4")} timestamps {stamps}";
        if (pcapng)
        {
            using var file = new PcapNgFile(stream, bigEndian: r.Next(4) == 0);
            var options = new List<(ushort, byte[])>();
            if (stamps == "tsresol") options.Add((9, file.TsResol(new byte[] { 0, 1, 3, 6, 9, 12, 19, 20, 0x80, 0x8a, 0xbf, 0xff }[r.Next(12)])));
            if (stamps == "tsoffset") options.Add((14, file.TsOffset(new[] { long.MaxValue, long.MinValue, -1_700_000_000L, 1L << 40, -(1L << 40) }[r.Next(5)])));
            file.Interface(linkType, 262144, options.ToArray());
            int i = 0;
            foreach (Timed t in segments)
            {
                ulong ts = stamps switch
                {
                    "max" when i == segments.Count / 2 => ulong.MaxValue,
                    "2038" => (ulong)(0x7fffffffL * 1_000_000 - 500 + i * 200),
                    "backwards" => (ulong)(t.Microseconds - i * 2_000_000L),
                    "zero" => 0,
                    _ => (ulong)t.Microseconds,
                };
                file.Packet(0, ts, Link.Wrap(linkType, t.Segment.ToIp()));
                i++;
            }
        }
        else
        {
            bool nano = r.Next(3) == 0;
            using var file = new PcapFile(stream, linkType, nano, bigEndian: r.Next(4) == 0);
            int i = 0;
            foreach (Timed t in segments)
            {
                (uint sec, uint frac) = stamps switch
                {
                    "max" when i == segments.Count / 2 => (uint.MaxValue, uint.MaxValue),
                    "fraction" when i % 3 == 1 => ((uint)(t.Microseconds / 1_000_000), uint.MaxValue),
                    "2038" => ((uint)(0x7fffffffL - 1 + i / 4), (uint)(i * 250_000 % 1_000_000)),
                    "backwards" => ((uint)(t.Microseconds / 1_000_000 - i * 2), 0u),
                    "zero" => (0u, 0u),
                    _ => ((uint)(t.Microseconds / 1_000_000), (uint)(t.Microseconds % 1_000_000 * (nano ? 1000 : 1))),
                };
                file.Write(sec, frac, Link.Wrap(linkType, t.Segment.ToIp()));
                i++;
            }
        }

        return (stream.ToArray(), pcapng ? ".pcapng" : ".pcap", recipe);
    }

    public static readonly string[] TimestampPatterns = { "normal", "normal", "max", "fraction", "2038", "backwards", "zero", "tsresol", "tsoffset" };

    /// <summary>One mutation of the file's bytes, and what it was.</summary>
    public static (byte[] Bytes, string What) Mutate(Random r, byte[] bytes, IReadOnlyList<(string Name, byte[] Bytes)> corpus)
    {
        if (bytes.Length == 0)
        {
            return (Scenario.RandomBytes(r, r.Next(1, 64)), "random bytes");
        }

        // Headers are where parsers break: half the offsets fall in the first 128 bytes.
        int At(int span = 1) => Math.Max(0, (r.Next(2) == 0 ? r.Next(Math.Min(128, bytes.Length)) : r.Next(bytes.Length)) - span + 1);
        switch (r.Next(9))
        {
            case 0:
            {
                int at = At();
                bytes[at] ^= (byte)(1 << r.Next(8));
                return (bytes, $"flip bit at {at}");
            }
            case 1:
            {
                int at = At();
                byte value = new byte[] { 0, 1, 2, 0x7f, 0x80, 0xfe, 0xff, 30, 40 }[r.Next(9)];
                bytes[at] = value;
                return (bytes, $"byte {value} at {at}");
            }
            case 2 when bytes.Length >= 4:
            {
                int at = Math.Min(At(4), bytes.Length - 4);
                uint value = r.Next(5) == 0 ? (uint)bytes.Length : InterestingWords[r.Next(InterestingWords.Length)];
                if (r.Next(2) == 0) System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), value);
                else System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(at), value);
                return (bytes, $"word 0x{value:x} at {at}");
            }
            case 3:
            {
                int length = r.Next(bytes.Length);
                return (bytes[..length], $"truncate to {length}");
            }
            case 4:
            {
                int at = r.Next(bytes.Length), length = Math.Min(bytes.Length - at, r.Next(1, 256));
                return (Link.Cat(bytes[..(at + length)], bytes[at..(at + length)], bytes[(at + length)..]), $"duplicate {length} at {at}");
            }
            case 5:
            {
                int at = r.Next(bytes.Length), length = Math.Min(bytes.Length - at, r.Next(1, 64));
                return (Link.Cat(bytes[..at], bytes[(at + length)..]), $"delete {length} at {at}");
            }
            case 6:
            {
                int at = r.Next(bytes.Length);
                byte[] inserted = Scenario.RandomBytes(r, r.Next(1, 32));
                return (Link.Cat(bytes[..at], inserted, bytes[at..]), $"insert {inserted.Length} at {at}");
            }
            case 7 when corpus.Count > 0:
            {
                (string name, byte[] other) = corpus[r.Next(corpus.Count)];
                int at = r.Next(bytes.Length), from = r.Next(other.Length);
                return (Link.Cat(bytes[..at], other[from..]), $"splice {name} from {from} at {at}");
            }
            default:
            {
                int at = At(), length = Math.Min(bytes.Length - at, r.Next(1, 16));
                r.NextBytes(bytes.AsSpan(at, length));
                return (bytes, $"randomize {length} at {at}");
            }
        }
    }
}
