using System.Collections;
using System.Reflection;
using System.Text;
using Gregor.Generator;
using Gregor.Protocol.Primitives;

namespace Gregor.Protocol.Tests.Messages;

/// <summary>
/// Fills a generated message with pseudo-random, non-default values for every field the given
/// version carries, walking the definitions (not the C# shape) so the test checks the generator.
/// </summary>
internal sealed class MessageFiller
{
    private readonly Random _random;
    private readonly bool _nulls;
    private readonly bool _unknownTags;

    /// <param name="nulls">Set fields that are nullable in the version to null instead of a value.</param>
    /// <param name="unknownTags">Add unknown tagged fields to every struct in flexible versions.</param>
    public MessageFiller(int seed, bool nulls, bool unknownTags)
    {
        _random = new Random(seed);
        _nulls = nulls;
        _unknownTags = unknownTags;
    }

    public object Fill(MessageDefinition message, short version)
    {
        var instance = Activator.CreateInstance(Definitions.ClassOf(message))!;
        FillStruct(instance, message.Fields, message, version);
        return instance;
    }

    private void FillStruct(object instance, List<FieldDefinition> fields, MessageDefinition message, short version)
    {
        var type = instance.GetType();
        var flexible = message.FlexibleVersions.Contains(version);
        foreach (var field in fields)
        {
            var present = field.IsTagged
                ? flexible && field.Versions.Contains(version) && field.TaggedVersions.Contains(version)
                : field.Versions.Contains(version);
            if (!present)
            {
                continue;
            }

            var property = type.GetProperty(MessageGenerator.PropertyName(field))
                ?? throw new InvalidOperationException($"{type.Name} has no property for {field.Name}.");
            if (_nulls && field.NullableVersions.Contains(version))
            {
                property.SetValue(instance, null);
                continue;
            }

            property.SetValue(instance, Value(field, property.PropertyType, message, version));
        }

        if (_unknownTags && flexible)
        {
            var known = fields.Where(f => f.Tag is not null).Select(f => f.Tag!.Value).ToHashSet();
            var unknown = new List<RawTaggedField>();
            // Tags around and between the known ones, ascending, so merging with known tags is exercised.
            for (var tag = 0; tag < 6; tag++)
            {
                if (!known.Contains(tag) && _random.Next(2) == 0)
                {
                    unknown.Add(new RawTaggedField(tag, RandomBytes(_random.Next(0, 5))));
                }
            }

            unknown.Add(new RawTaggedField(200 + _random.Next(100), RandomBytes(3)));
            type.GetProperty("UnknownTaggedFields")!.SetValue(instance, unknown);
        }
    }

    private object? Value(FieldDefinition field, Type propertyType, MessageDefinition message, short version)
    {
        if (field.IsArray)
        {
            var list = (IList)Activator.CreateInstance(propertyType)!;
            var elementType = propertyType.GetGenericArguments()[0];
            var count = _random.Next(1, 3);
            for (var i = 0; i < count; i++)
            {
                list.Add(field.IsStructType ? NewStruct(field, elementType, message, version) : Scalar(field.ElementType, null));
            }

            return list;
        }

        if (field.IsStructType)
        {
            return NewStruct(field, propertyType, message, version);
        }

        return Scalar(field.Type, field.Default);
    }

    private object NewStruct(FieldDefinition field, Type type, MessageDefinition message, short version)
    {
        var fields = field.Fields.Count > 0 ? field.Fields : message.CommonStructs.Single(c => c.Name == field.ElementType).Fields;
        var instance = Activator.CreateInstance(type)!;
        FillStruct(instance, fields, message, version);
        return instance;
    }

    private object Scalar(string type, string? defaultValue)
    {
        // Values are never the schema default: a default tagged field would not be written at all.
        switch (type)
        {
            case "bool":
                return defaultValue != "true";
            case "int8":
                return (sbyte)_random.Next(2, 120);
            case "int16":
                return (short)_random.Next(2, short.MaxValue);
            case "uint16":
                return (ushort)_random.Next(2, ushort.MaxValue);
            case "int32":
                return _random.Next(2, int.MaxValue - 1);
            case "uint32":
                return (uint)_random.Next(2, int.MaxValue);
            case "int64":
                return _random.NextInt64(2, long.MaxValue - 1);
            case "float64":
                return _random.NextDouble() + 0.5;
            case "uuid":
                return new Uuid(_random.NextInt64(1, long.MaxValue), _random.NextInt64());
            case "string":
                return RandomString();
            case "bytes":
                return RandomBytes(_random.Next(1, 20));
            case "records":
                // A slice with a non-zero offset, as a records field read from a request would be.
                var buffer = RandomBytes(_random.Next(3, 40));
                return (ReadOnlyMemory<byte>?)new ReadOnlyMemory<byte>(buffer, 1, buffer.Length - 1);
            default:
                throw new InvalidOperationException(type);
        }
    }

    private string RandomString()
    {
        // Non-ASCII characters make the UTF-8 length differ from the character count.
        const string alphabet = "abcdefghijklmnopqrstuvwxyz-_.0123456789éß€日本";
        var builder = new StringBuilder();
        var length = _random.Next(1, 12);
        for (var i = 0; i < length; i++)
        {
            builder.Append(alphabet[_random.Next(alphabet.Length)]);
        }

        return builder.ToString();
    }

    private byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        _random.NextBytes(bytes);
        return bytes;
    }
}

/// <summary>Serialisation helpers over the <see cref="IKafkaMessage"/> interface.</summary>
internal static class Codec
{
    public static byte[] Write(IKafkaMessage message, short version)
    {
        var size = message.Size(version);
        var buffer = new byte[size];
        var writer = new KafkaWriter(buffer);
        message.Write(ref writer, version);
        if (writer.Position != size)
        {
            throw new InvalidOperationException($"{message.GetType().Name} v{version}: Size said {size}, Write wrote {writer.Position}.");
        }

        return buffer;
    }

    public static T Read<T>(byte[] bytes, short version)
        where T : IKafkaMessage, new()
    {
        var message = new T();
        var reader = new KafkaReader(bytes);
        message.Read(ref reader, version);
        if (!reader.IsAtEnd)
        {
            throw new InvalidOperationException($"{typeof(T).Name} v{version}: {reader.Remaining} bytes left unread.");
        }

        return message;
    }

    public static IKafkaMessage Read(Type type, ReadOnlyMemory<byte> bytes, short version, out int consumed)
    {
        var message = (IKafkaMessage)Activator.CreateInstance(type)!;
        var reader = new KafkaReader(bytes);
        message.Read(ref reader, version);
        consumed = reader.Position;
        return message;
    }
}
