using System;
using System.Linq;
using System.Net;
using System.Net.Sockets;

namespace MptcpTools.Host;

/// <summary>A host name that did not resolve, with the name and the resolver's reason.</summary>
public sealed class NameResolutionException : Exception
{
    public NameResolutionException(string name, string reason, Exception? inner = null)
        : base($"'{name}' does not resolve: {reason}", inner) => Name = name;

    public string Name { get; }
}

/// <summary>Turns a host name or address literal into an address: the one resolver the module uses.</summary>
public static class NameResolution
{
    /// <summary>What a failed lookup means, in words, with the resolver's own text ("Resource temporarily unavailable" alone says little).</summary>
    public static string Explain(SocketException e) => e.SocketErrorCode switch
    {
        SocketError.HostNotFound => $"no such name: the DNS servers (or /etc/hosts) do not know it ({e.Message})",
        SocketError.TryAgain => $"no answer from a DNS server: none is reachable, or it timed out; check /etc/resolv.conf and the route to the servers ({e.Message})",
        SocketError.NoData => $"the name exists but has no address ({e.Message})",
        SocketError.NoRecovery => $"the DNS server failed to answer ({e.Message})",
        _ => e.Message,
    };

    /// <summary>
    /// Every address of <paramref name="name"/> (the literal itself, or what the resolver gives, in its order); stops
    /// waiting for the resolver on <paramref name="cancel"/> (OperationCanceledException). Throws NameResolutionException.
    /// </summary>
    public static IPAddress[] ResolveAll(string name, System.Threading.CancellationToken cancel)
    {
        // The resolver answers an empty name with this host's own addresses: never what a caller meant.
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new NameResolutionException(name, "the name is empty");
        }

        if (IPAddress.TryParse(name, out IPAddress? literal))
        {
            return new[] { literal };
        }

        IPAddress[] all;
        try
        {
            all = Dns.GetHostAddressesAsync(name, cancel).GetAwaiter().GetResult();
        }
        catch (SocketException e)
        {
            throw new NameResolutionException(name, Explain(e), e);
        }
        catch (ArgumentException e)
        {
            throw new NameResolutionException(name, e.Message, e);
        }

        return all.Length > 0 ? all : throw new NameResolutionException(name, "the resolver returned no address");
    }

    /// <summary>
    /// The address of <paramref name="name"/>: the literal itself, or the first resolved address of the
    /// <paramref name="preferred"/> family when there is one. Throws NameResolutionException.
    /// </summary>
    public static IPAddress Resolve(string name, AddressFamily? preferred = null)
    {
        IPAddress[] all = ResolveAll(name, System.Threading.CancellationToken.None);
        return all.FirstOrDefault(a => preferred is null || a.AddressFamily == preferred) ?? all[0];
    }
}
