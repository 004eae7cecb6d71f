using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MptcpTools.Kernel;

/// <summary>One message's payload during <see cref="NetlinkSocket.Dump"/>; valid only during the call.</summary>
public delegate void NetlinkPayloadHandler(ReadOnlySpan<byte> payload);

/// <summary>
/// A netlink socket in the caller's network namespace: request/response with acks, dumps, and
/// extended-ack error text. One request at a time; not thread-safe.
/// </summary>
public sealed unsafe class NetlinkSocket : IDisposable
{
    private readonly int _fd;
    // The kernel fills a dump datagram to at most 32 KiB; 64 KiB stays below the large-object heap, where an
    // array per socket (dumps open one after another) would bring on full collections.
    private readonly byte[] _buffer = new byte[64 * 1024];
    private uint _sequence = (uint)Environment.TickCount;
    private bool _disposed;

    private NetlinkSocket(int fd) => _fd = fd;

    /// <summary>Opens and binds a netlink socket of the given protocol (NETLINK_GENERIC, NETLINK_SOCK_DIAG, …).</summary>
    public static NetlinkSocket Open(int protocol, TimeSpan? receiveTimeout = null)
    {
        int fd = Native.Socket(Native.AF_NETLINK, Native.SOCK_RAW | Native.SOCK_CLOEXEC, protocol);
        if (fd < 0)
        {
            throw new KernelException("open a netlink socket", Marshal.GetLastPInvokeError());
        }

        var socket = new NetlinkSocket(fd);
        try
        {
            int one = 1;
            // Best effort: older kernels lack these, and then errors simply come without text.
            Native.SetSockOpt(fd, Native.SOL_NETLINK, Native.NETLINK_EXT_ACK, &one, sizeof(int));
            Native.SetSockOpt(fd, Native.SOL_NETLINK, Native.NETLINK_CAP_ACK, &one, sizeof(int));
            TimeSpan timeout = receiveTimeout ?? TimeSpan.FromSeconds(10);
            var tv = new Native.TimeVal { Seconds = (long)timeout.TotalSeconds, Microseconds = timeout.Milliseconds * 1000L };
            Native.SetSockOpt(fd, Native.SOL_SOCKET, Native.SO_RCVTIMEO, &tv, sizeof(Native.TimeVal));

            var address = new Native.SockAddrNetlink { Family = Native.AF_NETLINK };
            if (Native.Bind(fd, ref address, sizeof(Native.SockAddrNetlink)) != 0)
            {
                throw new KernelException("bind a netlink socket", Marshal.GetLastPInvokeError());
            }

            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Joins a multicast group (for event streams).</summary>
    public void JoinGroup(uint groupId)
    {
        uint group = groupId;
        if (Native.SetSockOpt(_fd, Native.SOL_NETLINK, Native.NETLINK_ADD_MEMBERSHIP, &group, sizeof(uint)) != 0)
        {
            throw new KernelException($"join netlink multicast group {groupId}", Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>
    /// Sends a request built by <paramref name="builder"/> and collects the reply messages of the
    /// same sequence number until the ack, the error, or (for a dump) NLMSG_DONE.
    /// </summary>
    public IReadOnlyList<NetlinkMessage> Request(NetlinkRequestBuilder builder, string operation)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        uint sequence = unchecked(++_sequence);
        byte[] request = builder.Build(sequence);
        ushort flags = (ushort)(request[6] | (request[7] << 8));
        bool dump = (flags & Netlink.NLM_F_DUMP) == Netlink.NLM_F_DUMP;

        var destination = new Native.SockAddrNetlink { Family = Native.AF_NETLINK };
        fixed (byte* p = request)
        {
            if (Native.SendTo(_fd, p, request.Length, 0, ref destination, sizeof(Native.SockAddrNetlink)) < 0)
            {
                throw new KernelException(operation, Marshal.GetLastPInvokeError());
            }
        }

        var replies = new List<NetlinkMessage>();
        while (true)
        {
            foreach (NetlinkMessage message in Receive(operation))
            {
                if (message.Sequence != sequence)
                {
                    continue; // a late answer to an earlier request, or a multicast message
                }

                switch (message.Type)
                {
                    case Netlink.NLMSG_ERROR:
                        (int errno, string? text) = message.ReadError();
                        if (errno != 0)
                        {
                            throw new KernelException(operation, errno, text);
                        }

                        return replies;
                    case Netlink.NLMSG_DONE:
                        // A dump that failed part-way reports the error in DONE's payload.
                        if (message.Payload.Length >= 4)
                        {
                            int status = BitConverter.ToInt32(message.Payload.Span);
                            if (status < 0)
                            {
                                throw new KernelException(operation, -status);
                            }
                        }

                        return replies;
                    case Netlink.NLMSG_NOOP:
                        break;
                    default:
                        replies.Add(message);
                        // A non-dump request without NLM_F_ACK ends with its single answer.
                        if (!dump && (flags & Netlink.NLM_F_ACK) == 0 && (message.Flags & Netlink.NLM_F_MULTI) == 0)
                        {
                            return replies;
                        }

                        break;
                }
            }
        }
    }

    /// <summary>
    /// Sends a dump request and hands each reply of <paramref name="messageType"/> to <paramref name="handler"/>
    /// as it arrives, straight from the receive buffer: no copy and no object per message, for dumps of tens of
    /// thousands of sockets. The span is valid only during the call.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Dump(NetlinkRequestBuilder builder, string operation, ushort messageType, NetlinkPayloadHandler handler)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        uint sequence = unchecked(++_sequence);
        byte[] request = builder.Build(sequence);
        var destination = new Native.SockAddrNetlink { Family = Native.AF_NETLINK };
        fixed (byte* p = request)
        {
            if (Native.SendTo(_fd, p, request.Length, 0, ref destination, sizeof(Native.SockAddrNetlink)) < 0)
            {
                throw new KernelException(operation, Marshal.GetLastPInvokeError());
            }
        }

        while (true)
        {
            int received = ReceiveInto(operation);
            ReadOnlySpan<byte> datagram = _buffer.AsSpan(0, received);
            int offset = 0;
            while (offset + Netlink.HeaderLength <= datagram.Length)
            {
                int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(datagram[offset..]);
                if (length < Netlink.HeaderLength || offset + length > datagram.Length)
                {
                    throw new FormatException($"netlink message at offset {offset} claims {length} bytes, {datagram.Length - offset} remain");
                }

                ushort type = BinaryPrimitives.ReadUInt16LittleEndian(datagram[(offset + 4)..]);
                ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(datagram[(offset + 6)..]);
                uint messageSequence = BinaryPrimitives.ReadUInt32LittleEndian(datagram[(offset + 8)..]);
                ReadOnlySpan<byte> payload = datagram.Slice(offset + Netlink.HeaderLength, length - Netlink.HeaderLength);
                offset += Netlink.Align(length);
                if (messageSequence != sequence)
                {
                    continue; // a late answer to an earlier request
                }

                if (type == messageType)
                {
                    handler(payload);
                }
                else if (type == Netlink.NLMSG_DONE)
                {
                    // A dump that failed part-way reports the error in DONE's payload.
                    if (payload.Length >= 4 && BinaryPrimitives.ReadInt32LittleEndian(payload) is < 0 and var status)
                    {
                        throw new KernelException(operation, -status);
                    }

                    return;
                }
                else if (type == Netlink.NLMSG_ERROR)
                {
                    (int errno, string? text) = new NetlinkMessage(type, flags, messageSequence, 0, payload.ToArray()).ReadError();
                    if (errno != 0)
                    {
                        throw new KernelException(operation, errno, text);
                    }

                    return;
                }
            }
        }
    }

    private int ReceiveInto(string operation)
    {
        nint received;
        fixed (byte* p = _buffer)
        {
            do
            {
                received = Native.Recv(_fd, p, _buffer.Length, 0);
            }
            while (received < 0 && Marshal.GetLastPInvokeError() == Errnos.EINTR);
        }

        if (received < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new KernelException(operation, errno == Errnos.EAGAIN ? Errnos.ETIMEDOUT : errno);
        }

        return (int)received;
    }

    /// <summary>Receives one datagram and splits it into messages (also used for event streams).</summary>
    public IReadOnlyList<NetlinkMessage> Receive(string operation)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int received = ReceiveInto(operation);

        // Copy out: the receive buffer is reused, the messages may be kept by the caller.
        byte[] datagram = _buffer.AsSpan(0, received).ToArray();
        return NetlinkMessage.ParseDatagram(datagram);
    }

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            Native.Close(_fd);
        }
    }
}
