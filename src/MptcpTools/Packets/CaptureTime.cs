using System;

namespace MptcpTools.Packets;

/// <summary>
/// Capture timestamps (seconds since the epoch and a fraction) as DateTime, without exceptions: a record can hold
/// seconds past year 9999, a fraction of a second of a second or more, or a pcapng offset that overflows.
/// </summary>
public static class CaptureTime
{
    private static readonly long MinSeconds = (DateTime.MinValue.Ticks - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerSecond;
    private static readonly long MaxSeconds = (DateTime.MaxValue.Ticks - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerSecond - 1;

    /// <summary>
    /// The time <paramref name="seconds"/> after the epoch plus <paramref name="fraction"/> of <paramref name="unitsPerSecond"/>;
    /// false when the fraction is a second or more, or the time is outside what DateTime holds (years 1 to 9999).
    /// </summary>
    public static bool TryFromUnix(long seconds, ulong fraction, ulong unitsPerSecond, out DateTime time)
    {
        time = default;
        if (fraction >= unitsPerSecond || seconds < MinSeconds || seconds > MaxSeconds)
        {
            return false;
        }

        // The two resolutions files use, with constant divisors (the frame loop's hot path); any other exactly.
        long ticks = unitsPerSecond switch
        {
            1_000_000 => (long)fraction * 10,
            1_000_000_000 => (long)(fraction / 100),
            _ => (long)((UInt128)fraction * (ulong)TimeSpan.TicksPerSecond / unitsPerSecond),
        };
        time = new DateTime(DateTime.UnixEpoch.Ticks + seconds * TimeSpan.TicksPerSecond + ticks, DateTimeKind.Utc);
        return true;
    }
}
