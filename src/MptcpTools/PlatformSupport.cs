namespace MptcpTools;

/// <summary>
/// The module reads the Linux kernel (netlink, sock_diag, /proc, /sys). Elsewhere, importing it fails once with
/// this explanation, instead of every cmdlet failing in its own obscure way.
/// </summary>
public static class PlatformSupport
{
    /// <summary>Why the module cannot work on this system; null on Linux.</summary>
    public static string? Problem(bool isLinux, string systemDescription) => isLinux
        ? null
        : $"MptcpTools works on Linux only: it reads Multipath TCP from the Linux kernel (generic netlink, sock_diag, /proc and /sys), " +
          $"and this system is {systemDescription.Trim()}. Import it on the Linux host, or reach that host through PowerShell remoting: " +
          "Invoke-Command -HostName HOST { Import-Module MptcpTools; Invoke-MptcpDiagnosis }.";
}
