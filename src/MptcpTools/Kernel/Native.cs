using System;
using System.Runtime.InteropServices;

namespace MptcpTools.Kernel;

/// <summary>libc entry points. The only place in the module that declares P/Invoke.</summary>
internal static unsafe class Native
{
    internal const int AF_INET = 2;
    internal const int AF_INET6 = 10;
    internal const int AF_NETLINK = 16;
    internal const int SOCK_STREAM = 1;
    internal const int SOCK_RAW = 3;
    internal const int SOCK_CLOEXEC = 0x80000;
    internal const int NETLINK_GENERIC = 16;
    internal const int NETLINK_SOCK_DIAG = 4;
    internal const int SOL_NETLINK = 270;
    internal const int NETLINK_ADD_MEMBERSHIP = 1;
    internal const int NETLINK_CAP_ACK = 10;
    internal const int NETLINK_EXT_ACK = 11;
    internal const int SOL_SOCKET = 1;
    internal const int SO_RCVBUF = 8;
    internal const int SO_RCVTIMEO = 20;

    [StructLayout(LayoutKind.Sequential)]
    internal struct SockAddrNetlink
    {
        public ushort Family;
        public ushort Pad;
        public uint Pid;
        public uint Groups;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct TimeVal
    {
        public long Seconds;
        public long Microseconds;
    }

    [DllImport("libc", SetLastError = true, EntryPoint = "socket")]
    internal static extern int Socket(int domain, int type, int protocol);

    [DllImport("libc", SetLastError = true, EntryPoint = "bind")]
    internal static extern int Bind(int fd, ref SockAddrNetlink addr, int addrLen);

    [DllImport("libc", SetLastError = true, EntryPoint = "getsockname")]
    internal static extern int GetSockName(int fd, ref SockAddrNetlink addr, ref int addrLen);

    [DllImport("libc", SetLastError = true, EntryPoint = "sendto")]
    internal static extern nint SendTo(int fd, byte* buf, nint len, int flags, ref SockAddrNetlink dest, int destLen);

    [DllImport("libc", SetLastError = true, EntryPoint = "recv")]
    internal static extern nint Recv(int fd, byte* buf, nint len, int flags);

    [DllImport("libc", SetLastError = true, EntryPoint = "setsockopt")]
    internal static extern int SetSockOpt(int fd, int level, int name, void* value, int len);

    [DllImport("libc", SetLastError = true, EntryPoint = "close")]
    internal static extern int Close(int fd);

    /// <summary>unshare(2); CLONE_NEWNET gives the calling thread alone a new, empty network namespace.</summary>
    [DllImport("libc", SetLastError = true, EntryPoint = "unshare")]
    internal static extern int Unshare(int flags);

    internal const int CLONE_NEWNET = 0x40000000;

    [DllImport("libc", SetLastError = true, EntryPoint = "if_nametoindex")]
    internal static extern uint IfNameToIndex(string name);

    [DllImport("libc", SetLastError = true, EntryPoint = "if_indextoname")]
    internal static extern nint IfIndexToName(uint index, byte* buffer);

    [DllImport("libc", SetLastError = true, EntryPoint = "getsockopt")]
    internal static extern int GetSockOpt(int fd, int level, int name, void* value, ref int len);

    [DllImport("libc", SetLastError = true, EntryPoint = "connect")]
    internal static extern int Connect(int fd, byte* addr, int addrLen);

    [DllImport("libc", SetLastError = true, EntryPoint = "bind")]
    internal static extern int BindRaw(int fd, byte* addr, int addrLen);

    [DllImport("libc", SetLastError = true, EntryPoint = "poll")]
    internal static extern int Poll(PollFd* fds, nuint count, int timeoutMs);

    [DllImport("libc", SetLastError = true, EntryPoint = "fcntl")]
    internal static extern int Fcntl(int fd, int cmd, int arg);

    [DllImport("libc", SetLastError = true, EntryPoint = "send")]
    internal static extern nint Send(int fd, byte* buf, nint len, int flags);

    [StructLayout(LayoutKind.Sequential)]
    internal struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    internal const int SOL_TCP = 6;
    internal const int SOL_MPTCP = 284;
    internal const int IPPROTO_MPTCP = 262;
    internal const int TCP_IS_MPTCP = 43;
    internal const int MPTCP_INFO = 1;
    internal const int TCP_INFO = 11;
    internal const int MPTCP_SUBFLOW_ADDRS = 3;
    internal const int SO_ERROR = 4;
    internal const int F_GETFL = 3;
    internal const int F_SETFL = 4;
    internal const int O_NONBLOCK = 0x800;
    internal const short POLLOUT = 4;
    internal const int MSG_NOSIGNAL = 0x4000;
    internal const int EINPROGRESS = 115;

    internal const int AT_FDCWD = -100;
    internal const uint STATX_TYPE = 0x1, STATX_UID = 0x8, STATX_GID = 0x10, STATX_INO = 0x100, STATX_SIZE = 0x200;
    internal const int S_IFMT = 0xF000, S_IFREG = 0x8000, S_IFIFO = 0x1000, S_IFSOCK = 0xC000;

    /// <summary>The start of struct statx, whose layout (unlike struct stat's) is the same on every architecture.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    internal struct Statx
    {
        [FieldOffset(0)] public uint Mask;
        [FieldOffset(20)] public uint Uid;
        [FieldOffset(24)] public uint Gid;
        [FieldOffset(28)] public ushort Mode;
        [FieldOffset(32)] public ulong Inode;
        [FieldOffset(40)] public ulong Size;
    }

    [DllImport("libc", SetLastError = true, EntryPoint = "statx")]
    internal static extern int StatX(int dirfd, string path, int flags, uint mask, out Statx buffer);

    [DllImport("libc", SetLastError = true, EntryPoint = "open")]
    internal static extern int Open(string path, int flags);

    internal const int O_RDONLY = 0, O_NOCTTY = 0x100, O_CLOEXEC = 0x80000, O_PATH = 0x200000;
    internal const int AT_EMPTY_PATH = 0x1000;
    internal const int ENOENT = 2, ENOTDIR = 20;

    [DllImport("libc", SetLastError = true, EntryPoint = "listen")]
    internal static extern int Listen(int fd, int backlog);

    [DllImport("libc", SetLastError = true, EntryPoint = "getsockname")]
    internal static extern int GetSockNameRaw(int fd, byte* addr, ref int addrLen);

    [DllImport("libc", SetLastError = true, EntryPoint = "chown")]
    internal static extern int Chown(string path, uint uid, uint gid);

    [DllImport("libc", SetLastError = true, EntryPoint = "readlink")]
    internal static extern nint ReadLink(byte* path, byte* buffer, nint size);

    internal const int O_DIRECTORY = 0x10000;

    [DllImport("libc", SetLastError = true, EntryPoint = "openat")]
    internal static extern int OpenAt(int dirfd, byte* path, int flags);

    /// <summary>getdents64(2): struct linux_dirent64 records (d_ino, d_off, d_reclen at 16, d_type at 18, d_name at 19).</summary>
    [DllImport("libc", SetLastError = true, EntryPoint = "getdents64")]
    internal static extern nint GetDents64(int fd, byte* buffer, nint size);

    [DllImport("libc", SetLastError = true, EntryPoint = "readlinkat")]
    internal static extern nint ReadLinkAt(int dirfd, byte* path, byte* buffer, nint size);

    [DllImport("libc", EntryPoint = "strerror_r")]
    private static extern nint StrErrorR(int errnum, byte* buf, nint buflen);

    /// <summary>The C library's text for an errno value (GNU strerror_r returns the pointer to use).</summary>
    internal static string StrError(int errno)
    {
        byte* buffer = stackalloc byte[256];
        nint text = StrErrorR(errno, buffer, 256);
        return text == 0 ? $"errno {errno}" : Marshal.PtrToStringUTF8(text) ?? $"errno {errno}";
    }
}
