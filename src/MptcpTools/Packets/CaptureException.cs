using System;

namespace MptcpTools.Packets;

/// <summary>Why a capture could not be read or taken.</summary>
public enum CaptureProblem
{
    FileNotFound,
    NotAFile,
    Unreadable,
    NotACaptureFile,
    UnsupportedLinkType,
    Truncated,
    LibpcapMissing,
    MissingCapability,
    InterfaceNotFound,
    InvalidFilter,
    CaptureFailed,
    /// <summary>Not fatal: frames whose timestamp is not a time were read with the time of the frame before.</summary>
    InvalidTimestamp,
}

/// <summary>A capture file or device problem, with what went wrong in words.</summary>
public sealed class CaptureException : Exception
{
    public CaptureException(CaptureProblem problem, string message, Exception? inner = null) : base(message, inner) => Problem = problem;

    public CaptureProblem Problem { get; }
}

/// <summary>Receives one captured frame; returns false to stop reading.</summary>
public delegate bool FrameHandler(int linkType, ReadOnlySpan<byte> frame, DateTime timestamp, long number);
