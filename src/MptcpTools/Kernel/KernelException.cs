using System;
using System.Collections.Generic;

namespace MptcpTools.Kernel;

/// <summary>
/// The kernel (or libc) refused an operation. Carries the errno and, for netlink, the kernel's own
/// extended-ack text, so the Commands layer can build an ErrorRecord with a stable id from it.
/// </summary>
public sealed class KernelException : Exception
{
    public KernelException(string operation, int errno, string? kernelMessage = null)
        : this(operation, errno, kernelMessage, null)
    {
    }

    private KernelException(string operation, int errno, string? kernelMessage, string? advice)
        : base(Compose(operation, errno, kernelMessage) + (advice is null ? "" : " " + advice))
    {
        Operation = operation;
        Errno = errno;
        KernelMessage = string.IsNullOrWhiteSpace(kernelMessage) ? null : kernelMessage;
    }

    /// <summary>The same failure, its message followed by what it takes (a capability), for whoever reads only the message.</summary>
    public KernelException WithAdvice(string advice) => new(Operation, Errno, KernelMessage, advice);

    /// <summary>What was being done, in words ("add endpoint 198.51.100.9").</summary>
    public string Operation { get; }

    /// <summary>The positive errno value.</summary>
    public int Errno { get; }

    /// <summary>The symbolic name, e.g. EEXIST.</summary>
    public string ErrnoName => Errnos.Name(Errno);

    /// <summary>The kernel's extended-ack message, when it sent one.</summary>
    public string? KernelMessage { get; }

    private static string Compose(string operation, int errno, string? kernelMessage)
    {
        string text = $"Could not {operation}: {Native.StrError(errno)} ({Errnos.Name(errno)})";
        return string.IsNullOrWhiteSpace(kernelMessage) ? text + "." : $"{text}; the kernel says: {kernelMessage}.";
    }
}

/// <summary>Linux errno numbers the module names (x86-64 and arm64 agree on these).</summary>
public static class Errnos
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int ESRCH = 3;
    public const int EINTR = 4;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int EACCES = 13;
    public const int EBUSY = 16;
    public const int EEXIST = 17;
    public const int ENODEV = 19;
    public const int EINVAL = 22;
    public const int ENOSPC = 28;
    public const int ERANGE = 34;
    public const int ENOSYS = 38;
    public const int EMSGSIZE = 90;
    public const int ENOPROTOOPT = 92;
    public const int EPROTONOSUPPORT = 93;
    public const int EOPNOTSUPP = 95;
    public const int EAFNOSUPPORT = 97;
    public const int EADDRINUSE = 98;
    public const int EADDRNOTAVAIL = 99;
    public const int ENETUNREACH = 101;
    public const int ENOBUFS = 105;
    public const int ETIMEDOUT = 110;
    public const int ECONNRESET = 104;
    public const int ECONNREFUSED = 111;
    public const int EHOSTUNREACH = 113;
    public const int ECANCELED = 125;

    private static readonly Dictionary<int, string> Names = new()
    {
        [EPERM] = "EPERM", [ENOENT] = "ENOENT", [ESRCH] = "ESRCH", [EINTR] = "EINTR", [EBADF] = "EBADF",
        [EAGAIN] = "EAGAIN", [ENOMEM] = "ENOMEM", [EACCES] = "EACCES", [EBUSY] = "EBUSY", [EEXIST] = "EEXIST",
        [ENODEV] = "ENODEV", [EINVAL] = "EINVAL", [ENOSPC] = "ENOSPC", [ERANGE] = "ERANGE", [ENOSYS] = "ENOSYS",
        [EMSGSIZE] = "EMSGSIZE", [ENOPROTOOPT] = "ENOPROTOOPT", [EPROTONOSUPPORT] = "EPROTONOSUPPORT",
        [EOPNOTSUPP] = "EOPNOTSUPP", [EAFNOSUPPORT] = "EAFNOSUPPORT", [EADDRINUSE] = "EADDRINUSE",
        [EADDRNOTAVAIL] = "EADDRNOTAVAIL", [ENETUNREACH] = "ENETUNREACH", [ENOBUFS] = "ENOBUFS",
        [ETIMEDOUT] = "ETIMEDOUT", [ECONNREFUSED] = "ECONNREFUSED", [ECONNRESET] = "ECONNRESET", [EHOSTUNREACH] = "EHOSTUNREACH",
        [ECANCELED] = "ECANCELED",
    };

    public static string Name(int errno) => Names.TryGetValue(errno, out string? name) ? name : $"E{errno}";
}
