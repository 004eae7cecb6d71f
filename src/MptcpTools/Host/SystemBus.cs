using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Tmds.DBus.Protocol;

namespace MptcpTools.Host;

/// <summary>The bus could not be reached, or a call on it failed in a way that means "not there".</summary>
public sealed class BusUnavailableException : Exception
{
    public BusUnavailableException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>
/// A small synchronous client on Tmds.DBus.Protocol for the few calls this module makes: method calls
/// with string or no arguments, and org.freedesktop.DBus.Properties.GetAll.
/// </summary>
public sealed class SystemBus : IDisposable
{
    private readonly DBusConnection _connection;

    private SystemBus(DBusConnection connection, string address)
    {
        _connection = connection;
        Address = address;
    }

    public string Address { get; }

    /// <summary>The system bus's well-known socket, when DBUS_SYSTEM_BUS_ADDRESS does not name another.</summary>
    public const string DefaultAddress = "unix:path=/run/dbus/system_bus_socket";

    /// <summary>Connects to the given bus, or to the system bus (DBUS_SYSTEM_BUS_ADDRESS, then the well-known socket).</summary>
    public static SystemBus Connect(string? address, TimeSpan timeout)
    {
        string target = address ?? DBusAddress.System ?? DefaultAddress;
        var connection = new DBusConnection(target);
        try
        {
            Task connect = connection.ConnectAsync().AsTask();
            if (!connect.Wait(timeout))
            {
                throw new BusUnavailableException($"The D-Bus at {target} did not answer within {timeout.TotalSeconds:0.#} s.");
            }

            return new SystemBus(connection, target);
        }
        catch (AggregateException e) when (e.InnerException is DBusExceptionBase or System.Net.Sockets.SocketException or System.IO.IOException)
        {
            connection.Dispose();
            throw new BusUnavailableException($"There is no D-Bus at {target}: {e.InnerException.Message}", e.InnerException);
        }
        catch (Exception e) when (e is DBusExceptionBase or System.Net.Sockets.SocketException or System.IO.IOException)
        {
            connection.Dispose();
            throw new BusUnavailableException($"There is no D-Bus at {target}: {e.Message}", e);
        }
    }

    /// <summary>Whether a name has an owner on the bus (the service runs).</summary>
    public bool HasOwner(string name)
    {
        MessageBuffer message;
        using (MessageWriter w = _connection.GetMessageWriter())
        {
            w.WriteMethodCallHeader("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner", "s", MessageFlags.None);
            w.WriteString(name);
            message = w.CreateMessage();
        }

        return Call(message, (m, _) => m.GetBodyReader().ReadBool());
    }

    /// <summary>Calls a method that takes strings and returns one object path.</summary>
    public string CallReturningPath(string destination, string path, string @interface, string member, params string[] args)
    {
        MessageBuffer message = Build(destination, path, @interface, member, args);
        return Call(message, (m, _) => m.GetBodyReader().ReadObjectPathAsString());
    }

    /// <summary>
    /// Calls a method whose arguments are strings, string arrays, booleans, numbers (u), object paths, a{sv}
    /// and a{sa{sv}} (in the order of the signature), ignoring the reply: systemd's StartUnit and
    /// EnableUnitFiles, NetworkManager's Update and ActivateConnection.
    /// </summary>
    public void CallIgnoringReply(string destination, string path, string @interface, string member, string signature, params object[] args)
    {
        MessageBuffer message;
        using (MessageWriter w = _connection.GetMessageWriter())
        {
            w.WriteMethodCallHeader(destination, path, @interface, member, signature.Length == 0 ? null : signature, MessageFlags.None);
            foreach (object arg in args)
            {
                switch (arg)
                {
                    case string text: w.WriteString(text); break;
                    case string[] texts: w.WriteArray(texts); break;
                    case bool flag: w.WriteBool(flag); break;
                    case uint number: w.WriteUInt32(number); break;
                    case ObjectPath objectPath: w.WriteObjectPath(objectPath); break;
                    case Dictionary<string, VariantValue> properties: w.WriteDictionary(properties); break;
                    case Dictionary<string, Dictionary<string, VariantValue>> groups:
                        ArrayStart outer = w.WriteDictionaryStart();
                        foreach ((string group, Dictionary<string, VariantValue> values) in groups)
                        {
                            w.WriteDictionaryEntryStart();
                            w.WriteString(group);
                            w.WriteDictionary(values);
                        }

                        w.WriteDictionaryEnd(outer);
                        break;
                    default: throw new ArgumentException($"unsupported D-Bus argument {arg.GetType()}");
                }
            }

            message = w.CreateMessage();
        }

        Call(message, (_, _) => true);
    }

    /// <summary>Calls a method that takes strings and returns an array of object paths.</summary>
    public string[] CallReturningPaths(string destination, string path, string @interface, string member, params string[] args)
    {
        MessageBuffer message = Build(destination, path, @interface, member, args);
        return Call(message, (m, _) => m.GetBodyReader().ReadArrayOfObjectPath().Select(p => p.ToString()).ToArray());
    }

    /// <summary>org.freedesktop.DBus.Properties.GetAll.</summary>
    public Dictionary<string, VariantValue> GetAll(string destination, string path, string @interface)
    {
        MessageBuffer message = Build(destination, path, "org.freedesktop.DBus.Properties", "GetAll", @interface);
        return Call(message, (m, _) => m.GetBodyReader().ReadDictionaryOfStringToVariantValue());
    }

    /// <summary>A method returning a{sa{sv}} (NetworkManager's GetSettings).</summary>
    public Dictionary<string, Dictionary<string, VariantValue>> CallReturningSettings(string destination, string path, string @interface, string member)
    {
        MessageBuffer message = Build(destination, path, @interface, member);
        return Call(message, (m, _) =>
        {
            Reader reader = m.GetBodyReader();
            var result = new Dictionary<string, Dictionary<string, VariantValue>>(StringComparer.Ordinal);
            ArrayEnd end = reader.ReadDictionaryStart();
            while (reader.HasNext(end))
            {
                string key = reader.ReadString();
                result[key] = reader.ReadDictionaryOfStringToVariantValue();
            }

            return result;
        });
    }

    public void Dispose() => _connection.Dispose();

    private MessageBuffer Build(string destination, string path, string @interface, string member, params string[] args)
    {
        using MessageWriter w = _connection.GetMessageWriter();
        w.WriteMethodCallHeader(destination, path, @interface, member, args.Length == 0 ? null : new string('s', args.Length), MessageFlags.None);
        foreach (string a in args)
        {
            w.WriteString(a);
        }

        return w.CreateMessage();
    }

    private T Call<T>(MessageBuffer message, MessageValueReader<T> reader)
    {
        try
        {
            Task<T> call = _connection.CallMethodAsync(message, reader, null);
            if (!call.Wait(TimeSpan.FromSeconds(10)))
            {
                throw new BusUnavailableException("A D-Bus call got no answer within 10 s.");
            }

            return call.Result;
        }
        catch (AggregateException e) when (e.InnerException is DBusExceptionBase inner)
        {
            throw inner;
        }
    }
}
