// Large crafted captures that cost a careless tracker quadratic time or unbounded memory: made at run time by the
// tests and benchmarks (never committed), streamed to the file.
namespace CaptureFuzzer;

public static class Floods
{
    public static readonly string[] Kinds = { "addaddr", "removeaddr", "connections", "synflood", "joins", "prio", "coverage", "longcapture" };

    /// <summary>Writes a classic pcap (Ethernet) of the kind with <paramref name="count"/> flooding segments; returns the segments written.</summary>
    public static long Write(string kind, long count, string path)
    {
        using PcapFile file = PcapFile.Create(path, 1);
        var r = new Random(1);
        long t = Scenario.Start;
        void Put(Segment s, long gap = 10) { t += gap; file.Write(t, Link.Wrap(1, s.ToIp())); }

        // The handshake of one MPTCP v1 connection, client 192.0.2.2:40000, server 203.0.113.2:5201.
        const ulong ck = 0x1fdb5df328bc3defUL, sk = 0x29a6c86981ad933cUL;
        var syn = new Segment { Flags = Tcp.Syn, Sequence = 1000, Options = Mptcp.Capable(1) };
        Segment fromServer(byte flags, byte[] options) => new() { Source = syn.Destination, Destination = syn.Source, SourcePort = 5201, DestinationPort = 40000, Flags = flags, Sequence = 5000, Acknowledgment = 1001, Options = options };
        Segment fromClient(byte flags, byte[] options, int payload = 0, uint seq = 1001) => new() { Flags = flags, Sequence = seq, Acknowledgment = 5001, Options = options, Payload = payload };
        if (kind is not ("connections" or "synflood"))
        {
            Put(syn);
            Put(fromServer(Tcp.Syn | Tcp.Ack, Mptcp.Capable(1, sk)));
            Put(fromClient(Tcp.Ack, Mptcp.Capable(1, ck, sk)));
        }

        ulong idsn = Scenario.Idsn(ck) + 1;
        for (long i = 0; i < count; i++)
        {
            switch (kind)
            {
                case "addaddr":
                    // Every announcement a new address (2001:db8::/32), so nothing repeats.
                    Put(fromServer(Tcp.Ack, Mptcp.AddAddr((byte)i, Scenario.Ip6(0x2001_0db8_0000_0000UL, (ulong)i))));
                    break;
                case "removeaddr":
                    Put(fromServer(Tcp.Ack, Mptcp.RemoveAddr((byte)i)));
                    break;
                case "prio":
                    Put(fromClient(Tcp.Ack, Mptcp.Prio((i & 1) == 0)));
                    break;
                case "coverage":
                    // Mappings every other 100 bytes, lowest last: every one a hole, every one inserted out of order.
                    ulong dsn = idsn + (ulong)((count - i) * 200);
                    Put(fromClient(Tcp.Ack, Mptcp.Dss(null, false, dsn, true, (uint)((count - i) * 200 + 1), 100), 100, (uint)(1001 + (count - i) * 200)));
                    break;
                case "longcapture":
                    // One data segment every 100 ms for a long time: a throughput interval each.
                    Put(fromClient(Tcp.Ack, Mptcp.Dss(null, false, idsn + (ulong)(i * 100), true, (uint)(i * 100 + 1), 100), 100, (uint)(1001 + i * 100)), 100_000);
                    break;
                case "joins":
                    // MP_JOIN SYNs with the server's token from ever new ports and addresses.
                    Put(new Segment { Source = new byte[] { 198, 51, 100, (byte)(i / 60000) }, SourcePort = (ushort)(1024 + i % 60000), Flags = Tcp.Syn, Sequence = (uint)i,
                        Options = Mptcp.JoinSyn(Scenario.Token(sk), (uint)i, (byte)i) });
                    break;
                case "synflood":
                    // SYNs with MP_CAPABLE from ever new 4-tuples, never answered.
                    Put(new Segment { Source = new byte[] { 192, 0, 2, (byte)(i / 60000) }, SourcePort = (ushort)(1024 + i % 60000), Flags = Tcp.Syn, Sequence = (uint)i, Options = Mptcp.Capable(1) });
                    break;
                case "connections":
                    // Whole short MPTCP connections, one after another (60 us apart, as a 60 s flood of a million would be).
                    var c = new Segment { Source = new byte[] { 192, 0, 2, (byte)(2 + i / 60000) }, SourcePort = (ushort)(1024 + i % 60000), Flags = Tcp.Syn, Sequence = 1, Options = Mptcp.Capable(1) };
                    Put(c, 60);
                    Segment reply = c.Reply(Tcp.Syn | Tcp.Ack, Mptcp.Capable(1, (ulong)i + 1));
                    reply.Sequence = 100; reply.Acknowledgment = 2;
                    Put(reply, 0);
                    Put(new Segment { Source = c.Source, SourcePort = c.SourcePort, Flags = Tcp.Ack, Sequence = 2, Acknowledgment = 101, Options = Mptcp.Capable(1, (ulong)i + 2, (ulong)i + 1) }, 0);
                    Put(new Segment { Source = c.Source, SourcePort = c.SourcePort, Flags = Tcp.Ack | Tcp.Fin, Sequence = 2, Acknowledgment = 101 }, 0);
                    Segment fin = c.Reply(Tcp.Ack | Tcp.Fin);
                    fin.Sequence = 101; fin.Acknowledgment = 3;
                    Put(fin, 0);
                    Put(new Segment { Source = c.Source, SourcePort = c.SourcePort, Flags = Tcp.Ack, Sequence = 3, Acknowledgment = 102 }, 0);
                    break;
                default:
                    throw new ArgumentException($"No flood '{kind}'; there are: {string.Join(", ", Kinds)}.");
            }
        }

        return file.Records;
    }
}
