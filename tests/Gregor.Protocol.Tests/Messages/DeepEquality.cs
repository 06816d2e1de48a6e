using System.Collections;
using Gregor.Protocol.Primitives;

namespace Gregor.Protocol.Tests.Messages;

/// <summary>Compares two generated messages property by property; returns the first difference.</summary>
internal static class DeepEquality
{
    public static string? FirstDifference(object? expected, object? actual, string path)
    {
        if (expected is null || actual is null)
        {
            return expected is null && actual is null ? null : $"{path}: expected {Show(expected)}, got {Show(actual)}";
        }

        if (expected.GetType() != actual.GetType())
        {
            return $"{path}: expected a {expected.GetType().Name}, got a {actual.GetType().Name}";
        }

        switch (expected)
        {
            case string or bool or sbyte or short or ushort or int or uint or long or double or Uuid:
                return expected.Equals(actual) ? null : $"{path}: expected {Show(expected)}, got {Show(actual)}";
            case byte[] bytes:
                return bytes.AsSpan().SequenceEqual((byte[])actual) ? null : $"{path}: bytes differ";
            case ReadOnlyMemory<byte> memory:
                return memory.Span.SequenceEqual(((ReadOnlyMemory<byte>)actual).Span) ? null : $"{path}: records differ";
            case RawTaggedField raw:
                var other = (RawTaggedField)actual;
                return raw.Tag == other.Tag && raw.Data.AsSpan().SequenceEqual(other.Data) ? null : $"{path}: raw tagged field differs";
            case IList list:
                var otherList = (IList)actual;
                if (list.Count != otherList.Count)
                {
                    return $"{path}: expected {list.Count} elements, got {otherList.Count}";
                }

                for (var i = 0; i < list.Count; i++)
                {
                    if (FirstDifference(list[i], otherList[i], $"{path}[{i}]") is { } difference)
                    {
                        return difference;
                    }
                }

                return null;
        }

        foreach (var property in expected.GetType().GetProperties())
        {
            if (property.GetIndexParameters().Length > 0)
            {
                continue;
            }

            var difference = FirstDifference(property.GetValue(expected), property.GetValue(actual), $"{path}.{property.Name}");
            if (difference is not null)
            {
                return difference;
            }
        }

        return null;
    }

    private static string Show(object? value) => value is null ? "null" : $"'{value}'";
}
