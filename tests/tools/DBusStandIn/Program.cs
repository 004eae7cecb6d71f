// dbus-standin BUS-ADDRESS SCENARIO.json
// Takes the names org.freedesktop.systemd1 and/or org.freedesktop.NetworkManager on the given bus and
// answers as they do, from the scenario. Prints "ready" once the names are owned; runs until killed.
// Scenario: { "units": { "mptcp.service": { "LoadState": "loaded", ..., "MainPID": 42 } },
//             "networkManager": { "version": "1.42.4", "connections": [ { "id", "uuid", "type", "device", "mptcpFlags" } ] },
//             "errors": { "GetAll": "org.freedesktop.DBus.Error.AccessDenied" },   // a member answered with that D-Bus error
//             "dropOn": "GetSettings" }                                             // the service leaves the bus on that call
// It exists for what real daemons cannot be made to do on demand (answer with an error, drop off the bus
// in the middle of a call); every other daemon and NetworkManager test runs against booted containers.
using System.Text.Json;
using Tmds.DBus.Protocol;

var scenario = JsonDocument.Parse(File.ReadAllText(args[1])).RootElement;
var connection = new DBusConnection(args[0]);
await connection.ConnectAsync();
var state = new StandInState(scenario);
Faults.Load(scenario, connection);
if (scenario.TryGetProperty("units", out _))
{
    connection.AddMethodHandler(new SystemdManager(state));
    connection.AddMethodHandler(new SystemdUnits(state));
    await connection.RequestNameAsync("org.freedesktop.systemd1", RequestNameOptions.Default);
}

if (scenario.TryGetProperty("networkManager", out _))
{
    connection.AddMethodHandler(new NetworkManagerObjects(state));
    await connection.RequestNameAsync("org.freedesktop.NetworkManager", RequestNameOptions.Default);
}

Console.WriteLine("ready");
Console.Out.Flush();
await Task.Delay(Timeout.Infinite);

static class Faults
{
    private static readonly Dictionary<string, string> Errors = new();
    private static string? _dropOn;
    private static DBusConnection? _connection;

    public static void Load(JsonElement scenario, DBusConnection connection)
    {
        _connection = connection;
        if (scenario.TryGetProperty("errors", out JsonElement errors))
        {
            foreach (JsonProperty e in errors.EnumerateObject())
            {
                Errors[e.Name] = e.Value.GetString() ?? "org.freedesktop.DBus.Error.Failed";
            }
        }

        _dropOn = scenario.TryGetProperty("dropOn", out JsonElement drop) ? drop.GetString() : null;
    }

    /// <summary>Answers the call with the scenario's error, or leaves the bus without answering; false: answer as usual.</summary>
    public static bool Handle(MethodContext context)
    {
        string member = context.Request.MemberAsString ?? "";
        if (member == _dropOn)
        {
            _connection!.Dispose();
            Environment.Exit(0);
        }

        if (Errors.TryGetValue(member, out string? error))
        {
            context.ReplyError(error, $"{member} refused by the stand-in's scenario");
            return true;
        }

        return false;
    }
}

sealed class StandInState
{
    public readonly Dictionary<string, Dictionary<string, VariantValue>> Units = new();
    public readonly List<(string Id, string Uuid, string Type, string Device, uint Flags)> Connections = new();
    public readonly string NmVersion = "";

    public StandInState(JsonElement scenario)
    {
        if (scenario.TryGetProperty("units", out JsonElement units))
        {
            foreach (JsonProperty unit in units.EnumerateObject())
            {
                var props = new Dictionary<string, VariantValue>();
                foreach (JsonProperty p in unit.Value.EnumerateObject())
                {
                    props[p.Name] = p.Name switch
                    {
                        "MainPID" => VariantValue.UInt32(p.Value.GetUInt32()),
                        "ExecMainStatus" => VariantValue.Int32(p.Value.GetInt32()),
                        "StateChangeTimestamp" => VariantValue.UInt64(p.Value.GetUInt64()),
                        _ => VariantValue.String(p.Value.GetString() ?? ""),
                    };
                }

                Units[unit.Name] = props;
            }
        }

        if (scenario.TryGetProperty("networkManager", out JsonElement nm))
        {
            NmVersion = nm.GetProperty("version").GetString() ?? "";
            foreach (JsonElement c in nm.GetProperty("connections").EnumerateArray())
            {
                Connections.Add((c.GetProperty("id").GetString()!, c.GetProperty("uuid").GetString()!, c.GetProperty("type").GetString()!,
                    c.GetProperty("device").GetString()!, c.GetProperty("mptcpFlags").GetUInt32()));
            }
        }
    }

    // systemd's object path escaping: every byte outside [A-Za-z0-9] becomes _XX.
    public static string UnitPath(string name) => "/org/freedesktop/systemd1/unit/" + string.Concat(name.Select(c => char.IsAsciiLetterOrDigit(c) ? c.ToString() : $"_{(int)c:x2}"));
}

static class Reply
{
    public static void Path(MethodContext context, string path)
    {
        using MessageWriter w = context.CreateReplyWriter("o");
        w.WriteObjectPath(path);
        context.Reply(w.CreateMessage());
    }

    public static void Properties(MethodContext context, Dictionary<string, VariantValue> props)
    {
        using MessageWriter w = context.CreateReplyWriter("a{sv}");
        w.WriteDictionary(props);
        context.Reply(w.CreateMessage());
    }

    public static void Property(MethodContext context, VariantValue value)
    {
        using MessageWriter w = context.CreateReplyWriter("v");
        w.WriteVariant(value);
        context.Reply(w.CreateMessage());
    }
}

sealed class SystemdManager(StandInState state) : IPathMethodHandler
{
    public string Path => "/org/freedesktop/systemd1";
    public bool HandlesChildPaths => false;

    public ValueTask HandleMethodAsync(MethodContext context)
    {
        if (Faults.Handle(context))
        {
            return default;
        }

        Message request = context.Request;
        string member = request.MemberAsString ?? "";
        if (request.InterfaceAsString == "org.freedesktop.systemd1.Manager")
        {
            Reader reader = request.GetBodyReader();
            switch (member)
            {
                case "GetUnit":
                    string name = reader.ReadString();
                    if (state.Units.TryGetValue(name, out Dictionary<string, VariantValue>? props) && props.TryGetValue("LoadState", out VariantValue l) && l.GetString() == "loaded")
                    {
                        Reply.Path(context, StandInState.UnitPath(name));
                    }
                    else
                    {
                        context.ReplyError("org.freedesktop.systemd1.NoSuchUnit", $"Unit {name} not loaded.");
                    }

                    return default;
                case "LoadUnit":
                    string load = reader.ReadString();
                    if (!state.Units.ContainsKey(load))
                    {
                        state.Units[load] = new Dictionary<string, VariantValue>
                        {
                            ["LoadState"] = "not-found", ["ActiveState"] = "inactive", ["SubState"] = "dead", ["UnitFileState"] = "",
                        };
                    }

                    Reply.Path(context, StandInState.UnitPath(load));
                    return default;
                case "StartUnit":
                    string start = reader.ReadString();
                    if (state.Units.TryGetValue(start, out Dictionary<string, VariantValue>? unit))
                    {
                        unit["ActiveState"] = "active"; unit["SubState"] = "running";
                        Reply.Path(context, "/org/freedesktop/systemd1/job/1");
                    }
                    else
                    {
                        context.ReplyError("org.freedesktop.systemd1.NoSuchUnit", $"Unit {start} not found.");
                    }

                    return default;
                case "Reload":
                    context.Reply(context.CreateReplyWriter(null).CreateMessage());
                    return default;
                case "EnableUnitFiles":
                    string[] files = reader.ReadArrayOfString();
                    foreach (string f in files)
                    {
                        if (state.Units.TryGetValue(f, out Dictionary<string, VariantValue>? u)) u["UnitFileState"] = "enabled";
                    }

                    using (MessageWriter w = context.CreateReplyWriter("ba(sss)"))
                    {
                        w.WriteBool(true);
                        ArrayStart a = w.WriteArrayStart(DBusType.Struct);
                        w.WriteArrayEnd(a);
                        context.Reply(w.CreateMessage());
                    }

                    return default;
            }
        }

        context.ReplyUnknownMethodError();
        return default;
    }
}

sealed class SystemdUnits(StandInState state) : IPathMethodHandler
{
    public string Path => "/org/freedesktop/systemd1/unit";
    public bool HandlesChildPaths => true;

    public ValueTask HandleMethodAsync(MethodContext context)
    {
        if (Faults.Handle(context))
        {
            return default;
        }

        Message request = context.Request;
        string path = request.PathAsString ?? "";
        KeyValuePair<string, Dictionary<string, VariantValue>> unit = state.Units.FirstOrDefault(u => StandInState.UnitPath(u.Key) == path);
        if (unit.Value is null || request.InterfaceAsString != "org.freedesktop.DBus.Properties")
        {
            context.ReplyUnknownMethodError();
            return default;
        }

        Reader reader = request.GetBodyReader();
        string iface = reader.ReadString();
        Dictionary<string, VariantValue> props = iface switch
        {
            "org.freedesktop.systemd1.Unit" => unit.Value.Where(p => p.Key is not ("MainPID" or "ExecMainStatus" or "Result")).ToDictionary(p => p.Key, p => p.Value),
            "org.freedesktop.systemd1.Service" => unit.Value.Where(p => p.Key is "MainPID" or "ExecMainStatus" or "Result").ToDictionary(p => p.Key, p => p.Value),
            _ => new Dictionary<string, VariantValue>(),
        };
        if (request.MemberAsString == "GetAll")
        {
            Reply.Properties(context, props);
        }
        else if (request.MemberAsString == "Get" && props.TryGetValue(reader.ReadString(), out VariantValue value))
        {
            Reply.Property(context, value);
        }
        else
        {
            context.ReplyError("org.freedesktop.DBus.Error.UnknownProperty", "Unknown property");
        }

        return default;
    }
}

sealed class NetworkManagerObjects(StandInState state) : IPathMethodHandler
{
    public string Path => "/org/freedesktop/NetworkManager";
    public bool HandlesChildPaths => true;

    public ValueTask HandleMethodAsync(MethodContext context)
    {
        if (Faults.Handle(context))
        {
            return default;
        }

        Message request = context.Request;
        string path = request.PathAsString ?? "";
        string member = request.MemberAsString ?? "";
        string iface = request.InterfaceAsString ?? "";
        int index = int.TryParse(path.Split('/').Last(), out int i) ? i : -1;
        var c = index >= 0 && index < state.Connections.Count ? state.Connections[index] : default;
        if (iface == "org.freedesktop.DBus.Properties" && member == "GetAll")
        {
            if (path == Path)
            {
                Reply.Properties(context, new Dictionary<string, VariantValue>
                {
                    ["Version"] = state.NmVersion,
                    ["ActiveConnections"] = VariantValue.Array(state.Connections.Select((_, k) => new ObjectPath($"{Path}/ActiveConnection/{k}")).ToArray()),
                });
                return default;
            }

            if (c.Id is not null && path.Contains("/ActiveConnection/"))
            {
                Reply.Properties(context, new Dictionary<string, VariantValue>
                {
                    ["Id"] = c.Id, ["Uuid"] = c.Uuid, ["Type"] = c.Type,
                    ["Devices"] = VariantValue.Array(new[] { new ObjectPath($"{Path}/Devices/{index}") }),
                    ["Connection"] = VariantValue.ObjectPath(new ObjectPath($"{Path}/Settings/{index}")),
                });
                return default;
            }

            if (c.Id is not null && path.Contains("/Devices/"))
            {
                Reply.Properties(context, new Dictionary<string, VariantValue> { ["Interface"] = c.Device });
                return default;
            }
        }

        if (iface == "org.freedesktop.NetworkManager.Settings" && member == "ListConnections")
        {
            using MessageWriter w = context.CreateReplyWriter("ao");
            w.WriteArray(state.Connections.Select((_, k) => new ObjectPath($"{Path}/Settings/{k}")).ToArray());
            context.Reply(w.CreateMessage());
            return default;
        }

        if (iface == "org.freedesktop.DBus.Properties" && member == "GetAll" && c.Id is not null && path.Contains("/Settings/"))
        {
            Reply.Properties(context, new Dictionary<string, VariantValue> { ["Flags"] = VariantValue.UInt32(0) });
            return default;
        }

        if (iface == "org.freedesktop.NetworkManager.Settings.Connection" && member == "GetSettings" && c.Id is not null)
        {
            using MessageWriter w = context.CreateReplyWriter("a{sa{sv}}");
            ArrayStart outer = w.WriteDictionaryStart();
            w.WriteDictionaryEntryStart();
            w.WriteString("connection");
            w.WriteDictionary(new Dictionary<string, VariantValue> { ["id"] = c.Id, ["uuid"] = c.Uuid, ["type"] = c.Type, ["mptcp-flags"] = VariantValue.UInt32(c.Flags) });
            w.WriteDictionaryEnd(outer);
            context.Reply(w.CreateMessage());
            return default;
        }

        context.ReplyUnknownMethodError();
        return default;
    }
}
