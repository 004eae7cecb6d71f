// Traffic to put in captures: a whole MPTCP connection (handshake, a join, data with DSS, address signalling,
// MP_PRIO, DATA_FIN, close), and its variants with random option fields.
using System.Security.Cryptography;

namespace CaptureFuzzer;

/// <summary>A segment and when it was seen, in microseconds since the epoch.</summary>
public readonly record struct Timed(long Microseconds, Segment Segment);

public static class Scenario
{
    public const long Start = 1_700_000_000L * 1_000_000; // 2023-11-14, microseconds

    /// <summary>RFC 8684 3.2: the token is the top 32 bits of SHA-256 over the key (SHA-1 for version 0).</summary>
    public static uint Token(ulong key, int version = 1)
    {
        byte[] k = Mptcp.U64(key);
        byte[] h = version == 0 ? SHA1.HashData(k) : SHA256.HashData(k);
        return (uint)(h[0] << 24 | h[1] << 16 | h[2] << 8 | h[3]);
    }

    /// <summary>One MPTCP v1 connection with a join and everything the tracker follows; IPv6 when asked.</summary>
    public static List<Timed> Connection(Random r, bool v6 = false, long start = Start, ushort clientPort = 40000, int maxPayload = 300)
    {
        byte[] client = v6 ? Ip6(0x2001_0db8_0001_0000UL, 2) : new byte[] { 192, 0, 2, 2 };
        byte[] client2 = v6 ? Ip6(0x2001_0db8_0002_0000UL, 2) : new byte[] { 198, 51, 100, 2 };
        byte[] server = v6 ? Ip6(0x2001_0db8_0003_0000UL, 2) : new byte[] { 203, 0, 113, 2 };
        ulong ck = (ulong)r.NextInt64(), sk = (ulong)r.NextInt64();
        uint cisn = (uint)r.Next(), sisn = (uint)r.Next();
        var list = new List<Timed>();
        long t = start;
        void Add(Segment s, int gapMicros = 100) { t += gapMicros; list.Add(new Timed(t, s)); }

        var syn = new Segment { Source = client, Destination = server, SourcePort = clientPort, Flags = Tcp.Syn, Sequence = cisn, Options = Mptcp.Capable(1) };
        Add(syn);
        Add(new Segment { Source = server, Destination = client, DestinationPort = clientPort, SourcePort = 5201, Flags = Tcp.Syn | Tcp.Ack, Sequence = sisn, Acknowledgment = cisn + 1, Options = Mptcp.Capable(1, sk) });
        Add(new Segment { Source = client, Destination = server, SourcePort = clientPort, Flags = Tcp.Ack, Sequence = cisn + 1, Acknowledgment = sisn + 1, Options = Mptcp.Capable(1, ck, sk) });
        ulong cdsn = Idsn(ck) + 1, sdsn = Idsn(sk) + 1;
        uint cseq = cisn + 1, sseq = sisn + 1;
        // A join from the second address, with the server's token.
        ushort joinPort = (ushort)(clientPort + 1);
        uint jisn = (uint)r.Next(), jsisn = (uint)r.Next();
        Add(new Segment { Source = client2, Destination = server, SourcePort = joinPort, Flags = Tcp.Syn, Sequence = jisn, Options = Mptcp.JoinSyn(Token(sk), (uint)r.Next(), 1, r.Next(2) == 0) });
        Add(new Segment { Source = server, Destination = client2, SourcePort = 5201, DestinationPort = joinPort, Flags = Tcp.Syn | Tcp.Ack, Sequence = jsisn, Acknowledgment = jisn + 1, Options = Mptcp.JoinSynAck((ulong)r.NextInt64(), (uint)r.Next(), 0) });
        Add(new Segment { Source = client2, Destination = server, SourcePort = joinPort, Flags = Tcp.Ack, Sequence = jisn + 1, Acknowledgment = jsisn + 1, Options = Mptcp.JoinAck(RandomBytes(r, 20)) });
        uint jseq = jisn + 1;
        int segments = r.Next(2, 12);
        for (int i = 0; i < segments; i++)
        {
            bool onJoin = r.Next(3) == 0;
            ushort length = (ushort)r.Next(1, maxPayload);
            var data = onJoin
                ? new Segment { Source = client2, Destination = server, SourcePort = joinPort, Sequence = jseq, Acknowledgment = jsisn + 1, Flags = Tcp.Ack | Tcp.Psh, Payload = length }
                : new Segment { Source = client, Destination = server, SourcePort = clientPort, Sequence = cseq, Acknowledgment = sseq, Flags = Tcp.Ack | Tcp.Psh, Payload = length };
            uint relSeq = onJoin ? jseq - jisn : cseq - cisn;
            data.Options = Mptcp.Dss(sdsn, r.Next(2) == 0, cdsn, r.Next(2) == 0, relSeq, length);
            Add(data);
            if (onJoin) jseq += length; else cseq += length;
            cdsn += length;
            if (r.Next(4) == 0)
            {
                // A reinjection: the same data again on the other subflow.
                ushort again = (ushort)Math.Min((int)length, 500);
                var copy = new Segment { Source = client, Destination = server, SourcePort = clientPort, Sequence = cseq, Acknowledgment = sseq, Flags = Tcp.Ack, Payload = again,
                    Options = Mptcp.Dss(null, false, cdsn - length, false, cseq - cisn, again) };
                Add(copy);
                cseq += again;
            }

            Add(new Segment { Source = server, Destination = client, SourcePort = 5201, DestinationPort = clientPort, Sequence = sseq, Acknowledgment = cseq, Flags = Tcp.Ack,
                Options = Mptcp.Dss(cdsn, r.Next(2) == 0) });
        }

        Add(new Segment { Source = server, Destination = client, SourcePort = 5201, DestinationPort = clientPort, Sequence = sseq, Acknowledgment = cseq, Flags = Tcp.Ack,
            Options = Mptcp.AddAddr((byte)r.Next(256), v6 ? Ip6(0x2001_0db8_0009_0000UL, (ulong)r.Next()) : new byte[] { 203, 0, 113, (byte)r.Next(256) }, r.Next(2) == 0 ? (ushort)r.Next(65536) : null) });
        Add(new Segment { Source = client, Destination = server, SourcePort = clientPort, Sequence = cseq, Acknowledgment = sseq, Flags = Tcp.Ack, Options = Mptcp.Prio(true) });
        Add(new Segment { Source = server, Destination = client, SourcePort = 5201, DestinationPort = clientPort, Sequence = sseq, Acknowledgment = cseq, Flags = Tcp.Ack, Options = Mptcp.RemoveAddr((byte)r.Next(256)) });
        Add(new Segment { Source = client, Destination = server, SourcePort = clientPort, Sequence = cseq, Acknowledgment = sseq, Flags = Tcp.Ack | Tcp.Fin, Options = Mptcp.Dss(sdsn, false, cdsn, false, 0, 1, null, true) });
        Add(new Segment { Source = server, Destination = client, SourcePort = 5201, DestinationPort = clientPort, Sequence = sseq, Acknowledgment = cseq + 1, Flags = Tcp.Ack | Tcp.Fin, Options = Mptcp.Dss(cdsn + 1, false, sdsn, false, 0, 1, null, true) });
        Add(new Segment { Source = client, Destination = server, SourcePort = clientPort, Sequence = cseq + 1, Acknowledgment = sseq + 1, Flags = Tcp.Ack, Options = Mptcp.Dss(sdsn + 1) });
        // The join closes too.
        Add(new Segment { Source = client2, Destination = server, SourcePort = joinPort, Sequence = jseq, Acknowledgment = jsisn + 1, Flags = Tcp.Ack | Tcp.Fin, Options = Mptcp.Dss(sdsn + 1) });
        Add(new Segment { Source = server, Destination = client2, SourcePort = 5201, DestinationPort = joinPort, Sequence = jsisn + 1, Acknowledgment = jseq + 1, Flags = Tcp.Ack | Tcp.Fin, Options = Mptcp.Dss(cdsn + 1) });
        Add(new Segment { Source = client2, Destination = server, SourcePort = joinPort, Sequence = jseq + 1, Acknowledgment = jsisn + 2, Flags = Tcp.Ack, Options = Mptcp.Dss(sdsn + 1) });
        switch (r.Next(4))
        {
            case 0: Add(new Segment { Source = client2, Destination = server, SourcePort = joinPort, Sequence = jseq, Flags = Tcp.Rst | Tcp.Ack, Options = Mptcp.TcpRst((byte)r.Next(16), (byte)r.Next(8)) }); break;
            case 1: Add(new Segment { Source = client, Destination = server, SourcePort = clientPort, Sequence = cseq, Flags = Tcp.Ack, Options = Mptcp.FastClose(sk) }); break;
            case 2: Add(new Segment { Source = server, Destination = client, SourcePort = 5201, DestinationPort = clientPort, Sequence = sseq, Flags = Tcp.Ack, Options = Mptcp.Fail(cdsn) }); break;
        }

        return list;
    }

    /// <summary>RFC 8684 3.1: the initial data sequence number is the low 64 bits of SHA-256 over the key.</summary>
    public static ulong Idsn(ulong key)
    {
        byte[] h = SHA256.HashData(Mptcp.U64(key));
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(h.AsSpan(h.Length - 8));
    }

    public static byte[] Ip6(ulong high, ulong low)
    {
        var b = new byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(b, high);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(8), low);
        return b;
    }

    public static byte[] RandomBytes(Random r, int count)
    {
        var b = new byte[count];
        r.NextBytes(b);
        return b;
    }

    /// <summary>An option list of random MPTCP options: well-formed with random fields, or random bytes after kind 30.</summary>
    public static byte[] RandomOptions(Random r)
    {
        var parts = new List<byte[]>();
        int count = r.Next(1, 4);
        for (int i = 0; i < count; i++)
        {
            parts.Add(r.Next(9) switch
            {
                0 => Mptcp.Capable(r.Next(3), r.Next(2) == 0 ? (ulong)r.NextInt64() : null, r.Next(2) == 0 ? (ulong)r.NextInt64() : null,
                    r.Next(3) == 0 ? (ushort)r.Next(65536) : null, r.Next(4) == 0 ? (ushort)r.Next(65536) : null, r.Next(2) == 0),
                1 => Mptcp.JoinSyn((uint)r.Next(), (uint)r.Next(), (byte)r.Next(256), r.Next(2) == 0),
                2 => Mptcp.Dss(r.Next(2) == 0 ? (ulong)r.NextInt64() : null, r.Next(2) == 0, r.Next(2) == 0 ? (ulong)r.NextInt64() : null, r.Next(2) == 0,
                    (uint)r.Next(), (ushort)r.Next(65536), r.Next(3) == 0 ? (ushort)r.Next(65536) : null, r.Next(5) == 0),
                3 => Mptcp.AddAddr((byte)r.Next(256), r.Next(2) == 0 ? RandomBytes(r, 4) : RandomBytes(r, 16), r.Next(2) == 0 ? (ushort)r.Next(65536) : null, r.Next(2) == 0),
                4 => Mptcp.RemoveAddr(RandomBytes(r, r.Next(0, 8))),
                5 => Mptcp.Prio(r.Next(2) == 0, r.Next(2) == 0 ? (byte)r.Next(256) : null),
                6 => Mptcp.Fail((ulong)r.NextInt64()),
                7 => Mptcp.TcpRst((byte)r.Next(256), (byte)r.Next(256)),
                _ => Link.Cat(new byte[] { 30, (byte)r.Next(256) }, RandomBytes(r, r.Next(0, 20))),
            });
        }

        return Mptcp.Concat(parts.ToArray());
    }
}
