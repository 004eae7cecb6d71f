using System;
using System.Globalization;
using System.IO;

namespace MptcpTools.Kernel;

/// <summary>
/// Which host this is, and which of its network namespaces: the machine id (/etc/machine-id, one per installation
/// and per container) with the namespace's inode (the initial namespace's is the same at every boot). Everything
/// MPTCP is per namespace, so two namespaces of one machine are two hosts here.
/// </summary>
public sealed class HostIdentity
{
    public const string MachineIdFile = "/etc/machine-id";

    public string HostName { get; init; } = "";
    public string? MachineId { get; init; }
    public ulong? NetworkNamespace { get; init; }

    /// <summary>What a repair record made on this host carries: equal on the same host and namespace, different elsewhere.</summary>
    public string Id => $"{MachineId ?? "host:" + HostName}/{NetworkNamespace?.ToString(CultureInfo.InvariantCulture) ?? "?"}";

    public override string ToString() => $"{HostName} ({Id})";

    /// <summary>This process's host and network namespace.</summary>
    public static HostIdentity Read()
    {
        string? machineId = null;
        try
        {
            string text = RegularFile.ReadText(MachineIdFile, 4096).Trim();
            machineId = text.Length > 0 ? text : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            // No machine id (a minimal container): the host name stands in.
        }

        return new HostIdentity
        {
            HostName = Environment.MachineName,
            MachineId = machineId,
            NetworkNamespace = ProcessTable.NetworkNamespaceInode("self"),
        };
    }
}
