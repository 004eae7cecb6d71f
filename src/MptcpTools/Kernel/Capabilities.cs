using System;
using System.Globalization;
using System.IO;

namespace MptcpTools.Kernel;

/// <summary>The effective capabilities of this process (/proc/self/status CapEff).</summary>
public static class Capabilities
{
    public const int CAP_NET_ADMIN = 12;
    public const int CAP_NET_RAW = 13;
    public const int CAP_SYS_PTRACE = 19;

    /// <summary>Whether the effective set has the capability; null when /proc does not say.</summary>
    public static bool? Has(int capability, string statusPath = "/proc/self/status")
    {
        try
        {
            foreach (string line in File.ReadLines(statusPath))
            {
                if (line.StartsWith("CapEff:", StringComparison.Ordinal)
                    && ulong.TryParse(line[7..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong mask))
                {
                    return (mask & (1UL << capability)) != 0;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return null;
    }
}
