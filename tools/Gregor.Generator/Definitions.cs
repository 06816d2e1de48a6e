namespace Gregor.Generator;

/// <summary>The kinds of schema a definition file describes.</summary>
public enum MessageKind
{
    Request,
    Response,
    Header,
    Data,
}

/// <summary>One message as written in <c>src/Gregor.Protocol/Messages/*.def</c>.</summary>
public sealed class MessageDefinition
{
    public required MessageKind Kind { get; init; }

    public required string Name { get; init; }

    public short? ApiKey { get; init; }

    public required VersionRange ValidVersions { get; init; }

    public required VersionRange FlexibleVersions { get; init; }

    public VersionRange? DeprecatedVersions { get; init; }

    public bool LatestVersionUnstable { get; init; }

    public List<string> Listeners { get; } = new();

    public List<FieldDefinition> Fields { get; } = new();

    public List<StructDefinition> CommonStructs { get; } = new();

    /// <summary>The file the definition came from (for messages and generated headers).</summary>
    public string SourceFile { get; init; } = "";
}

/// <summary>A named struct: a common struct, or the element type of an inline struct field.</summary>
public sealed class StructDefinition
{
    public required string Name { get; init; }

    public required VersionRange Versions { get; init; }

    public List<FieldDefinition> Fields { get; } = new();
}

/// <summary>One field line of a definition, with its nested fields when it declares a struct inline.</summary>
public sealed class FieldDefinition
{
    public required string Name { get; init; }

    /// <summary>The type as written: "int32", "string", "[]int32", "[]TopicData", "LeaderIdAndEpoch".</summary>
    public required string Type { get; init; }

    public required VersionRange Versions { get; init; }

    public VersionRange NullableVersions { get; init; } = VersionRange.None;

    public int? Tag { get; init; }

    public VersionRange TaggedVersions { get; init; } = VersionRange.None;

    /// <summary>The default exactly as written ("-1", "null", "0x7fffffff", ""), or null if none.</summary>
    public string? Default { get; init; }

    public bool Ignorable { get; init; }

    /// <summary>Field-level override of the message's flexible versions (RequestHeader.ClientId: none).</summary>
    public VersionRange? FlexibleVersions { get; init; }

    public bool MapKey { get; init; }

    public bool ZeroCopy { get; init; }

    public string? EntityType { get; init; }

    public List<FieldDefinition> Fields { get; } = new();

    public bool IsArray => Type.StartsWith("[]", StringComparison.Ordinal);

    /// <summary>The element type of an array, else the type itself.</summary>
    public string ElementType => IsArray ? Type[2..] : Type;

    public bool IsStructType => !PrimitiveTypes.Contains(ElementType);

    public bool IsTagged => Tag is not null;

    public static readonly IReadOnlySet<string> PrimitiveTypes = new HashSet<string>(StringComparer.Ordinal)
    {
        "bool", "int8", "int16", "uint16", "int32", "uint32", "int64", "float64", "uuid", "string", "bytes", "records",
    };
}
