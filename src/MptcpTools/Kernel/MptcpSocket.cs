using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading;

namespace MptcpTools.Kernel;

/// <summary>
/// A client MPTCP socket: libc socket(family, SOCK_STREAM, IPPROTO_MPTCP), since .NET's Socket
/// constructor rejects protocol 262, wrapped in a SafeSocketHandle once connected. Reads MPTCP_INFO,
/// MPTCP_SUBFLOW_ADDRS and TCP_IS_MPTCP.
/// </summary>
public sealed unsafe class MptcpSocket : IDisposable
{
    private readonly int _fd;
    private Socket? _socket;

    private MptcpSocket(int fd) => _fd = fd;

    /// <summary>Creates the socket. ENOPROTOOPT: MPTCP disabled here; EPROTONOSUPPORT/EINVAL: no MPTCP in the kernel.</summary>
    public static MptcpSocket Create(AddressFamily family)
    {
        int fd = Native.Socket(family == AddressFamily.InterNetworkV6 ? Native.AF_INET6 : Native.AF_INET,
            Native.SOCK_STREAM | Native.SOCK_CLOEXEC, Native.IPPROTO_MPTCP);
        if (fd < 0)
        {
            throw new KernelException("create an MPTCP socket", Marshal.GetLastPInvokeError());
        }

        return new MptcpSocket(fd);
    }

    /// <summary>The connected socket, for sending and receiving through the ordinary API.</summary>
    public Socket Socket => _socket ?? throw new InvalidOperationException("not connected");

    public void Bind(IPAddress address)
    {
        Span<byte> sa = stackalloc byte[28];
        int length = Encode(new IPEndPoint(address, 0), sa);
        fixed (byte* p = sa)
        {
            if (Native.BindRaw(_fd, p, length) != 0)
            {
                throw new KernelException($"bind to {address}", Marshal.GetLastPInvokeError());
            }
        }
    }

    /// <summary>Binds to <paramref name="local"/> (port 0: any) and listens; returns the address it listens on.</summary>
    public IPEndPoint Listen(IPEndPoint local, int backlog = 4)
    {
        Span<byte> sa = stackalloc byte[28];
        int length = Encode(local, sa);
        fixed (byte* p = sa)
        {
            if (Native.BindRaw(_fd, p, length) != 0)
            {
                throw new KernelException($"bind to {local}", Marshal.GetLastPInvokeError());
            }

            if (Native.Listen(_fd, backlog) != 0)
            {
                throw new KernelException($"listen on {local}", Marshal.GetLastPInvokeError());
            }

            length = 28;
            if (Native.GetSockNameRaw(_fd, p, ref length) != 0)
            {
                throw new KernelException($"read the address of the listener on {local}", Marshal.GetLastPInvokeError());
            }
        }

        return Decode(sa) ?? throw new KernelException($"read the address of the listener on {local}", Errnos.EINVAL);
    }

    /// <summary>Connects within the timeout. Returns the errno (0 when connected, ETIMEDOUT after the timeout).</summary>
    public int Connect(IPEndPoint remote, TimeSpan timeout, CancellationToken cancel = default)
    {
        int flags = Native.Fcntl(_fd, Native.F_GETFL, 0);
        Native.Fcntl(_fd, Native.F_SETFL, flags | Native.O_NONBLOCK);
        Span<byte> sa = stackalloc byte[28];
        int length = Encode(remote, sa);
        int result;
        fixed (byte* p = sa)
        {
            result = Native.Connect(_fd, p, length);
        }

        int errno = result == 0 ? 0 : Marshal.GetLastPInvokeError();
        if (errno == Native.EINPROGRESS)
        {
            var pfd = new Native.PollFd { Fd = _fd, Events = Native.POLLOUT };
            var clock = Stopwatch.StartNew();
            int ready;
            do
            {
                // In slices, so that a cancellation (Ctrl+C) ends the wait within a tenth of a second.
                int left = (int)Math.Clamp((timeout - clock.Elapsed).TotalMilliseconds, 0, 100);
                ready = Native.Poll(&pfd, 1, left);
            }
            while ((ready < 0 && Marshal.GetLastPInvokeError() == Errnos.EINTR)
                   || (ready == 0 && clock.Elapsed < timeout && !cancel.IsCancellationRequested));

            if (ready == 0)
            {
                Native.Fcntl(_fd, Native.F_SETFL, flags);
                return cancel.IsCancellationRequested ? Errnos.ECANCELED : Errnos.ETIMEDOUT;
            }

            int soError = 0, len = sizeof(int);
            Native.GetSockOpt(_fd, Native.SOL_SOCKET, Native.SO_ERROR, &soError, ref len);
            errno = soError;
        }

        Native.Fcntl(_fd, Native.F_SETFL, flags);
        if (errno == 0)
        {
            _socket = new Socket(new SafeSocketHandle((IntPtr)_fd, ownsHandle: false));
        }

        return errno;
    }

    /// <summary>TCP_IS_MPTCP: whether the connection is (still) MPTCP, not fallen back to TCP.</summary>
    public bool IsMptcp()
    {
        int value = 0, length = sizeof(int);
        return Native.GetSockOpt(_fd, Native.SOL_TCP, Native.TCP_IS_MPTCP, &value, ref length) == 0 && value != 0;
    }

    /// <summary>
    /// TCP_INFO. After a fallback the kernel passes socket options through to the one TCP subflow, so this is
    /// that subflow's tcp_info (its SYN retransmissions among them); null when the kernel refuses it.
    /// </summary>
    public TcpInfo? TcpInfo()
    {
        byte* buffer = stackalloc byte[512];
        int length = 512;
        if (Native.GetSockOpt(_fd, Native.SOL_TCP, Native.TCP_INFO, buffer, ref length) != 0 || length < 104)
        {
            return null;
        }

        return Kernel.TcpInfo.Parse(new ReadOnlySpan<byte>(buffer, length));
    }

    /// <summary>MPTCP_INFO, or null when the kernel refuses it (EOPNOTSUPP after a fallback).</summary>
    public MptcpInfo? Info()
    {
        byte* buffer = stackalloc byte[256];
        int length = 256;
        if (Native.GetSockOpt(_fd, Native.SOL_MPTCP, Native.MPTCP_INFO, buffer, ref length) != 0)
        {
            return null;
        }

        return MptcpInfo.Parse(new ReadOnlySpan<byte>(buffer, length));
    }

    /// <summary>MPTCP_SUBFLOW_ADDRS: the local and remote address of every subflow.</summary>
    public List<(IPEndPoint Local, IPEndPoint Remote)> SubflowAddresses()
    {
        const int header = 16, element = 256, max = 16;
        byte[] buffer = new byte[header + element * max];
        BinaryPrimitives.WriteUInt32LittleEndian(buffer, header);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(12), element);
        int length = buffer.Length;
        var list = new List<(IPEndPoint, IPEndPoint)>();
        fixed (byte* p = buffer)
        {
            if (Native.GetSockOpt(_fd, Native.SOL_MPTCP, Native.MPTCP_SUBFLOW_ADDRS, p, ref length) != 0)
            {
                return list;
            }
        }

        int count = (int)BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(4));
        int size = (int)BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(12));
        for (int i = 0; i < Math.Min(count, max) && size >= 256; i++)
        {
            ReadOnlySpan<byte> e = buffer.AsSpan(header + i * size, 256);
            if (Decode(e[..128]) is { } local && Decode(e[128..]) is { } remote)
            {
                list.Add((local, remote));
            }
        }

        return list;
    }

    public void Dispose()
    {
        _socket?.Dispose();
        Native.Close(_fd);
    }

    private static int Encode(IPEndPoint ep, Span<byte> sa)
    {
        sa.Clear();
        if (ep.AddressFamily == AddressFamily.InterNetwork)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(sa, Native.AF_INET);
            BinaryPrimitives.WriteUInt16BigEndian(sa[2..], (ushort)ep.Port);
            ep.Address.TryWriteBytes(sa[4..], out _);
            return 16;
        }

        BinaryPrimitives.WriteUInt16LittleEndian(sa, Native.AF_INET6);
        BinaryPrimitives.WriteUInt16BigEndian(sa[2..], (ushort)ep.Port);
        ep.Address.TryWriteBytes(sa[8..], out _);
        BinaryPrimitives.WriteUInt32LittleEndian(sa[24..], (uint)ep.Address.ScopeId);
        return 28;
    }

    private static IPEndPoint? Decode(ReadOnlySpan<byte> sa)
    {
        ushort family = BinaryPrimitives.ReadUInt16LittleEndian(sa);
        int port = BinaryPrimitives.ReadUInt16BigEndian(sa[2..]);
        return family switch
        {
            Native.AF_INET => new IPEndPoint(new IPAddress(sa.Slice(4, 4)), port),
            Native.AF_INET6 => new IPEndPoint(new IPAddress(sa.Slice(8, 16)), port),
            _ => null,
        };
    }
}
