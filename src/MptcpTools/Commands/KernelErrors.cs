using System;
using System.IO;
using System.Management.Automation;
using MptcpTools.Kernel;

namespace MptcpTools.Commands;

/// <summary>
/// Turns what the lower layers throw into ErrorRecords with stable ids. The ids are part of the
/// module's interface: scripts match on them, so never rename one.
/// </summary>
public static class KernelErrors
{
    public const string PermissionDenied = "PermissionDenied";
    public const string AlreadyExists = "AlreadyExists";
    public const string NotFound = "NotFound";
    public const string InvalidArgument = "InvalidArgument";
    public const string NotSupported = "NotSupported";
    public const string KernelError = "KernelError";
    public const string PathManagerMissing = "MptcpPathManagerMissing";
    public const string MalformedKernelReply = "MalformedKernelReply";
    public const string ReadFailed = "ReadFailed";

    /// <summary>The ErrorRecord for an exception from the Kernel, Host or Packets layers.</summary>
    public static ErrorRecord ToErrorRecord(Exception exception, object? target)
    {
        switch (exception)
        {
            case KernelException k:
                (string id, ErrorCategory category) = k.Errno switch
                {
                    Errnos.EPERM or Errnos.EACCES => (PermissionDenied, ErrorCategory.PermissionDenied),
                    Errnos.EEXIST => (AlreadyExists, ErrorCategory.ResourceExists),
                    Errnos.ENOENT or Errnos.ENODEV or Errnos.ESRCH => (NotFound, ErrorCategory.ObjectNotFound),
                    Errnos.EINVAL or Errnos.ERANGE => (InvalidArgument, ErrorCategory.InvalidArgument),
                    Errnos.EOPNOTSUPP or Errnos.ENOSYS or Errnos.EPROTONOSUPPORT or Errnos.ENOPROTOOPT
                        => (NotSupported, ErrorCategory.NotImplemented),
                    Errnos.ENOSPC or Errnos.ENOMEM or Errnos.ENOBUFS => (KernelError, ErrorCategory.LimitsExceeded),
                    Errnos.ETIMEDOUT => (KernelError, ErrorCategory.OperationTimeout),
                    _ => (KernelError, ErrorCategory.NotSpecified),
                };
                if (id == PermissionDenied)
                {
                    // The exception's own message names the capability too: scripts log $_.Exception.Message.
                    k = k.WithAdvice("This needs CAP_NET_ADMIN in the network namespace's user namespace; " +
                        (Capabilities.Has(Capabilities.CAP_NET_ADMIN) == false
                            ? "this process does not have it. Run as root (sudo) or grant the capability."
                            : "check that the namespace belongs to this process's user namespace."));
                }

                var record = new ErrorRecord(k, id, category, target);
                if (id == PermissionDenied)
                {
                    record.ErrorDetails = new ErrorDetails(k.Message) { RecommendedAction = "Run the command as root, or with CAP_NET_ADMIN." };
                }

                return record;
            case MptcpPathManagerMissingException:
                return new ErrorRecord(exception, PathManagerMissing, ErrorCategory.NotInstalled, target)
                {
                    ErrorDetails = new ErrorDetails(exception.Message)
                    {
                        RecommendedAction = "Boot a kernel with CONFIG_MPTCP=y (every Debian and Ubuntu kernel since 5.6 has it); Get-MptcpKernelState shows what this one has.",
                    },
                };
            case FormatException:
                return new ErrorRecord(exception, MalformedKernelReply, ErrorCategory.InvalidData, target);
            case FileNotFoundException or DirectoryNotFoundException:
                return new ErrorRecord(exception, NotFound, ErrorCategory.ObjectNotFound, target);
            case UnauthorizedAccessException:
                return new ErrorRecord(exception, PermissionDenied, ErrorCategory.PermissionDenied, target);
            case IOException:
                return new ErrorRecord(exception, ReadFailed, ErrorCategory.ReadError, target);
            default:
                return new ErrorRecord(exception, KernelError, ErrorCategory.NotSpecified, target);
        }
    }

    /// <summary>Whether an exception is one the layers throw by design (and so becomes an ErrorRecord).</summary>
    public static bool IsExpected(Exception e) =>
        e is KernelException or MptcpPathManagerMissingException or FormatException or IOException or UnauthorizedAccessException;
}
