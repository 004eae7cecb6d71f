using System.Management.Automation;
using MptcpTools.Packets;

namespace MptcpTools.Commands;

/// <summary>ErrorRecords for capture problems. The ids are stable: scripts match on them.</summary>
public static class CaptureErrors
{
    public static ErrorRecord ToErrorRecord(CaptureException e, object? target)
    {
        (string id, ErrorCategory category) = e.Problem switch
        {
            CaptureProblem.FileNotFound => ("CaptureFileNotFound", ErrorCategory.ObjectNotFound),
            CaptureProblem.NotAFile => ("NotACaptureFile", ErrorCategory.InvalidArgument),
            CaptureProblem.Unreadable => ("CaptureFileUnreadable", ErrorCategory.ReadError),
            CaptureProblem.NotACaptureFile => ("NotACaptureFile", ErrorCategory.InvalidData),
            CaptureProblem.UnsupportedLinkType => ("UnsupportedLinkType", ErrorCategory.NotImplemented),
            CaptureProblem.Truncated => ("CaptureTruncated", ErrorCategory.InvalidData),
            CaptureProblem.LibpcapMissing => ("LibpcapMissing", ErrorCategory.NotInstalled),
            CaptureProblem.MissingCapability => ("MissingCapability", ErrorCategory.PermissionDenied),
            CaptureProblem.InterfaceNotFound => ("InterfaceNotFound", ErrorCategory.ObjectNotFound),
            CaptureProblem.InvalidFilter => ("InvalidFilter", ErrorCategory.InvalidArgument),
            CaptureProblem.InvalidTimestamp => ("CaptureTimestampInvalid", ErrorCategory.InvalidData),
            _ => ("CaptureFailed", ErrorCategory.ReadError),
        };
        return new ErrorRecord(e, id, category, target);
    }
}
