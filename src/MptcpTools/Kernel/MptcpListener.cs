using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading;

namespace MptcpTools.Kernel;

/// <summary>
/// An MPTCP listener of the module's own (socket(AF_INET6, SOCK_STREAM, IPPROTO_MPTCP), dual-stack, on every address):
/// it accepts connections and reads and discards what they send until it is disposed. What Test-MptcpPath listens
/// with on the server when it is not given the real service's port.
/// </summary>
public sealed class MptcpListener : IDisposable
{
    private readonly Socket _socket;
    private readonly Thread _accepting;
    private readonly List<Socket> _connections = new();
    private long _accepted;
    private volatile bool _closed;

    private MptcpListener(Socket socket, int port)
    {
        _socket = socket;
        Port = port;
        _accepting = new Thread(Accept) { IsBackground = true, Name = $"MPTCP listener {port}" };
        _accepting.Start();
    }

    public int Port { get; }
    public long Accepted => Interlocked.Read(ref _accepted);

    /// <summary>Listens on <paramref name="port"/> (0: a free one the kernel picks). KernelException when it cannot.</summary>
    public static MptcpListener Start(int port)
    {
        int fd = Native.Socket(Native.AF_INET6, Native.SOCK_STREAM | Native.SOCK_CLOEXEC, Native.IPPROTO_MPTCP);
        if (fd < 0)
        {
            throw new KernelException("create an MPTCP socket", Marshal.GetLastPInvokeError());
        }

        var socket = new Socket(new SafeSocketHandle((IntPtr)fd, ownsHandle: true));
        try
        {
            socket.DualMode = true;
            socket.Bind(new IPEndPoint(IPAddress.IPv6Any, port));
            socket.Listen(64);
            return new MptcpListener(socket, ((IPEndPoint)socket.LocalEndPoint!).Port);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new KernelException($"listen on port {port}", e.SocketErrorCode switch
            {
                SocketError.AddressAlreadyInUse => Errnos.EADDRINUSE,
                SocketError.AccessDenied => Errnos.EACCES,
                _ => Errnos.EINVAL,
            });
        }
    }

    private void Accept()
    {
        while (!_closed)
        {
            Socket connection;
            try
            {
                connection = _socket.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            Interlocked.Increment(ref _accepted);
            lock (_connections)
            {
                _connections.Add(connection);
            }

            new Thread(() => Drain(connection)) { IsBackground = true, Name = "MPTCP listener connection" }.Start();
        }
    }

    private static void Drain(Socket connection)
    {
        byte[] buffer = new byte[16384];
        try
        {
            while (connection.Receive(buffer) > 0)
            {
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    public void Dispose()
    {
        _closed = true;
        try
        {
            // Wakes the accepting thread: accept() returns EINVAL on a socket shut down for reading.
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }

        _socket.Dispose();
        lock (_connections)
        {
            foreach (Socket c in _connections)
            {
                c.Dispose();
            }

            _connections.Clear();
        }

        _accepting.Join(TimeSpan.FromSeconds(2));
    }
}
