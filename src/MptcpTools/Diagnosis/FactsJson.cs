using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MptcpTools.Diagnosis;

/// <summary>
/// JSON for the module's fact types as they are: immutable classes with private or init setters and
/// get-only auto-properties, written by property and read back without their constructors. Computed
/// properties are left out. What facts hold besides (addresses, end points, enums) has a converter here.
/// </summary>
internal static class FactsJson
{
    private static readonly JsonSerializerOptions Options = CreateOptions();

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    public static T Deserialize<T>(string json) =>
        JsonSerializer.Deserialize<T>(json, Options) ?? throw new JsonException($"The JSON holds no {typeof(T).Name}.");

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions { IncludeFields = true, MaxDepth = 64 };
        options.Converters.Add(new JsonStringEnumConverter());
        options.Converters.Add(new IPAddressConverter());
        options.Converters.Add(new IPEndPointConverter());
        options.Converters.Add(new ModuleTypeConverterFactory());
        return options;
    }

    private sealed class IPAddressConverter : JsonConverter<IPAddress>
    {
        public override IPAddress Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            IPAddress.Parse(reader.GetString() ?? throw new JsonException("An address is null."));

        public override void Write(Utf8JsonWriter writer, IPAddress value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
    }

    private sealed class IPEndPointConverter : JsonConverter<IPEndPoint>
    {
        public override IPEndPoint Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            IPEndPoint.Parse(reader.GetString() ?? throw new JsonException("An end point is null."));

        public override void Write(Utf8JsonWriter writer, IPEndPoint value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
    }

    private sealed class ModuleTypeConverterFactory : JsonConverterFactory
    {
        public override bool CanConvert(Type type) =>
            type.IsClass && !type.IsArray && !type.IsAbstract && type.Namespace?.StartsWith("MptcpTools.", StringComparison.Ordinal) == true;

        public override JsonConverter CreateConverter(Type type, JsonSerializerOptions options) =>
            (JsonConverter)Activator.CreateInstance(typeof(ModuleTypeConverter<>).MakeGenericType(type))!;
    }

    /// <summary>One stored property: how to read it from an object, and how to set it on a new one.</summary>
    private sealed record Member(string Name, Type Type, Func<object, object?> Get, Action<object, object?> Set);

    private sealed class ModuleTypeConverter<T> : JsonConverter<T> where T : class
    {
        private static readonly ConcurrentDictionary<Type, Dictionary<string, Member>> Members = new();

        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw new JsonException($"{typeToConvert.Name}: an object was expected.");
            }

            Dictionary<string, Member> members = MembersOf(typeToConvert);
            // A parameterless constructor (of any visibility) runs the initializers, so a member the JSON lacks
            // (another version wrote it) keeps its default rather than null; types without one are made bare.
            object result = typeToConvert.GetConstructor(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance, Type.EmptyTypes) is { } ctor
                ? ctor.Invoke(null)
                : RuntimeHelpers.GetUninitializedObject(typeToConvert);
            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                string name = reader.GetString() ?? "";
                reader.Read();
                if (members.TryGetValue(name, out Member? member))
                {
                    member.Set(result, JsonSerializer.Deserialize(ref reader, member.Type, options));
                }
                else
                {
                    reader.Skip();
                }
            }

            return (T)result;
        }

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options)
        {
            writer.WriteStartObject();
            foreach (Member member in MembersOf(value.GetType()).Values)
            {
                writer.WritePropertyName(member.Name);
                JsonSerializer.Serialize(writer, member.Get(value), member.Type, options);
            }

            writer.WriteEndObject();
        }

        // Public properties that store a value: those with a setter of any kind, or an auto-property's field.
        private static Dictionary<string, Member> MembersOf(Type type) => Members.GetOrAdd(type, t =>
        {
            var map = new Dictionary<string, Member>(StringComparer.Ordinal);
            foreach (PropertyInfo p in t.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0 && p.CanRead))
            {
                MethodInfo? setter = p.DeclaringType?.GetProperty(p.Name, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance)?.GetSetMethod(nonPublic: true);
                FieldInfo? field = FindBackingField(t, p.Name);
                Action<object, object?>? set = setter is not null ? (o, v) => setter.Invoke(o, new[] { v })
                    : field is not null ? (o, v) => field.SetValue(o, v)
                    : null;
                if (set is not null)
                {
                    map[p.Name] = new Member(p.Name, p.PropertyType, o => p.GetValue(o), set);
                }
            }

            return map;
        });

        private static FieldInfo? FindBackingField(Type? type, string property)
        {
            for (; type is not null; type = type.BaseType)
            {
                if (type.GetField($"<{property}>k__BackingField", BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.DeclaredOnly) is { } f)
                {
                    return f;
                }
            }

            return null;
        }
    }
}
