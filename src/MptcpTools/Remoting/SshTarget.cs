using System;
using System.Collections;
using System.Globalization;
using System.Management.Automation.Runspaces;
using System.Net;
using System.Reflection;

namespace MptcpTools.Remoting;

/// <summary>A host named as Invoke-Command -HostName takes it: HOST, USER@HOST, HOST:PORT, USER@[IPV6]:PORT.</summary>
public sealed class SshTarget
{
    public string HostName { get; init; } = "";
    public string? UserName { get; init; }
    /// <summary>0: ssh's own (22, or what ssh_config says).</summary>
    public int Port { get; init; }
    /// <summary>The name as it was given: what findings about the host call it.</summary>
    public string Name { get; init; } = "";

    public override string ToString() => Name;

    /// <summary>Parses one name; <paramref name="userName"/> applies where the name has none.</summary>
    public static SshTarget Parse(string name, string? userName)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new ArgumentException("A host name is empty.");
        }

        string rest = name.Trim();
        string? user = string.IsNullOrEmpty(userName) ? null : userName;
        int at = rest.LastIndexOf('@');
        if (at >= 0)
        {
            user = rest[..at];
            rest = rest[(at + 1)..];
        }

        int port = 0;
        if (rest.StartsWith('[') && rest.IndexOf(']') is int close and > 0)
        {
            // [IPv6] or [IPv6]:PORT
            string after = rest[(close + 1)..];
            if (after.StartsWith(':'))
            {
                port = ParsePort(after[1..], name);
            }

            rest = rest[1..close];
        }
        else if (rest.AsSpan().Count(':') == 1)
        {
            int colon = rest.IndexOf(':');
            port = ParsePort(rest[(colon + 1)..], name);
            rest = rest[..colon];
        }

        if (rest.Length == 0 || (user is not null && user.Length == 0))
        {
            throw new ArgumentException($"'{name}' is not a host name (HOST, USER@HOST, HOST:PORT).");
        }

        return new SshTarget { HostName = rest, UserName = user, Port = port, Name = name.Trim() };
    }

    private static int ParsePort(string text, string name) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port is > 0 and <= 65535
            ? port : throw new ArgumentException($"'{name}' has no valid port after the colon.");

    /// <summary>
    /// The connection info of an SSH runspace. The reference assemblies the module compiles against are Windows
    /// PowerShell 5.1's, which has no SSH transport; every pwsh the module runs in (7.4 and later) has
    /// SSHConnectionInfo with this constructor, so it is found by reflection, and its absence said plainly.
    /// </summary>
    public RunspaceConnectionInfo ConnectionInfo(string? keyFilePath, Hashtable? options, TimeSpan connectingTimeout)
    {
        Type? type = typeof(RunspaceConnectionInfo).Assembly.GetType("System.Management.Automation.Runspaces.SSHConnectionInfo");
        ConstructorInfo? constructor = type?.GetConstructor(new[] { typeof(string), typeof(string), typeof(string), typeof(int), typeof(string), typeof(int), typeof(Hashtable) });
        if (constructor is null)
        {
            throw new PlatformNotSupportedException("This PowerShell has no SSH remoting (SSHConnectionInfo with SSH options, PowerShell 7.3 and later).");
        }

        return (RunspaceConnectionInfo)constructor.Invoke(new object?[]
        {
            UserName, HostName, keyFilePath, Port, "powershell", (int)connectingTimeout.TotalMilliseconds, options,
        });
    }
}
