// mptcp-peer: the lab's MPTCP (or plain TCP) sink and source.
//
//   serve --port P [--plain] [--bind ADDR]            accept connections, read and discard; prints "listening"
//   send  --to ADDR --port P [--plain] [--bytes N] [--hold SECONDS] [--from ADDR] [--delay SECONDS] [--connections C]
//                                                    connect (C times), send N bytes on each, keep the connections
//                                                    open HOLD seconds; prints one JSON line about the first one
//        [--then-netns NAME]                         after connecting, move to network namespace NAME (setns on
//                                                    the main thread, so /proc/PID/ns/net shows it) and hold
//                                                    the connections there: a socket owned from elsewhere
//
// .NET's Socket constructor rejects protocol 262 (IPPROTO_MPTCP), so the descriptor comes from libc
// socket() and is wrapped in a SafeSocketHandle; everything after that is the ordinary Socket API.
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json;

static class Program
{
    const int IPPROTO_MPTCP = 262;
    const int SOL_TCP = 6;
    const int TCP_IS_MPTCP = 43;

    [DllImport("libc", SetLastError = true)]
    static extern int socket(int domain, int type, int protocol);

    [DllImport("libc", SetLastError = true)]
    static extern unsafe int getsockopt(int fd, int level, int name, void* value, int* len);

    [DllImport("libc", SetLastError = true)]
    static extern unsafe int getrlimit(int resource, ulong* limits);

    [DllImport("libc", SetLastError = true)]
    static extern int setns(int fd, int nstype);

    const int CLONE_NEWNET = 0x40000000;

    [DllImport("libc", SetLastError = true)]
    static extern unsafe int setrlimit(int resource, ulong* limits);

    // Thousands of connections need thousands of descriptors: raise the soft limit to the hard one.
    static unsafe void RaiseFileLimit()
    {
        ulong* limits = stackalloc ulong[2];
        if (getrlimit(7, limits) == 0)
        {
            limits[0] = limits[1];
            setrlimit(7, limits);
        }
    }

    static int Main(string[] args)
    {
        try
        {
            RaiseFileLimit();
            var options = Parse(args);
            return args[0] switch
            {
                "serve" => Serve(options),
                "send" => Send(options),
                _ => Usage(),
            };
        }
        catch (Exception e) when (e is SocketException or ArgumentException or IndexOutOfRangeException or KeyNotFoundException)
        {
            Console.Error.WriteLine($"mptcp-peer: {e.Message}");
            return 2;
        }
    }

    static int Usage()
    {
        Console.Error.WriteLine("usage: mptcp-peer serve --port P [--plain] [--bind ADDR] | send --to ADDR --port P [--plain] [--bytes N] [--hold S] [--from ADDR]");
        return 2;
    }

    static Dictionary<string, string> Parse(string[] args)
    {
        var options = new Dictionary<string, string>();
        for (int i = 1; i < args.Length; i++)
        {
            string key = args[i].TrimStart('-');
            options[key] = i + 1 < args.Length && !args[i + 1].StartsWith("--") ? args[++i] : "true";
        }

        return options;
    }

    static Socket NewSocket(AddressFamily family, bool plain)
    {
        if (plain)
        {
            return new Socket(family, SocketType.Stream, ProtocolType.Tcp);
        }

        int fd = socket(family == AddressFamily.InterNetworkV6 ? 10 : 2, 1, IPPROTO_MPTCP);
        if (fd < 0)
        {
            throw new SocketException(Marshal.GetLastPInvokeError());
        }

        return new Socket(new SafeSocketHandle((IntPtr)fd, ownsHandle: true));
    }

    static unsafe bool IsMptcp(Socket socket)
    {
        int value = 0, length = sizeof(int);
        int fd = (int)socket.SafeHandle.DangerousGetHandle();
        return getsockopt(fd, SOL_TCP, TCP_IS_MPTCP, &value, &length) == 0 && value != 0;
    }

    static int Serve(Dictionary<string, string> o)
    {
        bool plain = o.ContainsKey("plain");
        IPAddress bind = o.TryGetValue("bind", out string? b) ? IPAddress.Parse(b) : IPAddress.IPv6Any;
        using Socket listener = NewSocket(bind.AddressFamily, plain);
        if (bind.AddressFamily == AddressFamily.InterNetworkV6)
        {
            listener.DualMode = true;
        }

        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Bind(new IPEndPoint(bind, int.Parse(o["port"])));
        listener.Listen(4096);
        Console.WriteLine("listening");
        Console.Out.Flush();
        // Accept and drain asynchronously: thousands of connections must not cost thousands of threads.
        while (true)
        {
            Socket client = listener.Accept();
            _ = Drain(client);
        }
    }

    static async Task Drain(Socket client)
    {
        using (client)
        {
            byte[] buffer = new byte[65536];
            try
            {
                while (await client.ReceiveAsync(buffer, SocketFlags.None) > 0) { }
            }
            catch (SocketException)
            {
            }
        }
    }

    static int Send(Dictionary<string, string> o)
    {
        IPAddress to = IPAddress.Parse(o["to"]);
        if (o.TryGetValue("delay", out string? delay))
        {
            Thread.Sleep(TimeSpan.FromSeconds(double.Parse(delay, System.Globalization.CultureInfo.InvariantCulture)));
        }

        int count = o.TryGetValue("connections", out string? c) ? int.Parse(c) : 1;
        long bytes = o.TryGetValue("bytes", out string? n) ? long.Parse(n) : 0;
        var sockets = new List<Socket>(count);
        byte[] chunk = new byte[65536];
        long sent = 0;
        for (int i = 0; i < count; i++)
        {
            Socket each = NewSocket(to.AddressFamily, o.ContainsKey("plain"));
            sockets.Add(each);
            if (o.TryGetValue("from", out string? from))
            {
                each.Bind(new IPEndPoint(IPAddress.Parse(from), 0));
            }

            each.Connect(new IPEndPoint(to, int.Parse(o["port"])));
            long done = 0;
            while (done < bytes)
            {
                done += each.Send(chunk, 0, (int)Math.Min(chunk.Length, bytes - done), SocketFlags.None);
            }

            sent += done;
        }

        Socket socket = sockets[0];
        var local = (IPEndPoint)socket.LocalEndPoint!;
        if (o.TryGetValue("then-netns", out string? netns))
        {
            using var handle = File.OpenHandle($"/run/netns/{netns}");
            if (setns((int)handle.DangerousGetHandle(), CLONE_NEWNET) != 0)
            {
                throw new ArgumentException($"setns {netns}: errno {Marshal.GetLastPInvokeError()}");
            }
        }

        Console.WriteLine(JsonSerializer.Serialize(new
        {
            mptcp = IsMptcp(socket),
            sent,
            connections = sockets.Count,
            local = local.Address.ToString(),
            localPort = local.Port,
        }));
        Console.Out.Flush();
        if (o.TryGetValue("hold", out string? hold))
        {
            Thread.Sleep(TimeSpan.FromSeconds(double.Parse(hold, System.Globalization.CultureInfo.InvariantCulture)));
        }

        foreach (Socket each in sockets)
        {
            each.Shutdown(SocketShutdown.Both);
            each.Dispose();
        }

        return 0;
    }
}
