using System.Globalization;

namespace Gregor.Generator;

/// <summary>
/// Generates one C# file per definition: a sealed partial class named as the message, with every
/// struct (inline or common) flattened into a nested class of it, and exact Read/Write/Size codecs.
/// </summary>
public sealed class MessageGenerator
{
    private const string Prim = "global::Gregor.Protocol.Primitives.";
    private const string ListType = "global::System.Collections.Generic.List";

    /// <summary>Members every generated class declares; a field may not take these names.</summary>
    private static readonly HashSet<string> ReservedMembers = new(StringComparer.Ordinal)
    {
        "Read", "Write", "Size", "UnknownTaggedFields", "IsDefaultValue", "Equals", "GetHashCode", "ToString", "GetType",
        "MemberwiseClone", "Finalize",
    };

    private static readonly HashSet<string> ReservedMessageMembers = new(StringComparer.Ordinal)
    {
        "ApiKey", "LowestSupportedVersion", "HighestSupportedVersion",
    };

    private readonly MessageDefinition _message;
    private readonly VersionRange _context;
    private readonly Dictionary<string, StructDefinition> _structs = new(StringComparer.Ordinal);
    private readonly List<StructDefinition> _structOrder = new();
    private readonly Dictionary<string, string> _classNames = new(StringComparer.Ordinal);
    private readonly CodeWriter _w = new();

    public MessageGenerator(MessageDefinition message)
    {
        _message = message;
        _context = message.ValidVersions;
        foreach (var common in message.CommonStructs)
        {
            AddStruct(common);
        }

        CollectStructs(message.Fields);
        foreach (var common in message.CommonStructs)
        {
            CollectStructs(common.Fields);
        }

        ResolveClassNames();
    }

    /// <summary>
    /// The C# name of each struct. A nested class cannot share a name with a member of the message
    /// class, nor with one of its own properties: such a struct gets "Data" appended (repeatedly,
    /// until unique), e.g. FetchRequest's ReplicaState field is of type FetchRequest.ReplicaStateData.
    /// </summary>
    public IReadOnlyDictionary<string, string> ClassNames => _classNames;

    private void AddStruct(StructDefinition definition)
    {
        if (!_structs.TryAdd(definition.Name, definition))
        {
            throw new FormatException($"{_message.SourceFile}: struct '{definition.Name}' is defined twice.");
        }

        _structOrder.Add(definition);
    }

    private void CollectStructs(List<FieldDefinition> fields)
    {
        foreach (var field in fields)
        {
            if (!field.IsStructType)
            {
                continue;
            }

            if (field.Fields.Count > 0)
            {
                var definition = new StructDefinition { Name = field.ElementType, Versions = field.Versions };
                definition.Fields.AddRange(field.Fields);
                AddStruct(definition);
                CollectStructs(field.Fields);
            }
        }
    }

    private void ResolveClassNames()
    {
        var taken = new HashSet<string>(StringComparer.Ordinal) { _message.Name };
        taken.UnionWith(ReservedMembers);
        taken.UnionWith(ReservedMessageMembers);
        foreach (var field in _message.Fields)
        {
            taken.Add(PropertyName(field));
        }

        CheckFieldNames(_message.Fields, _message.Name, isMessage: true);
        foreach (var definition in _structOrder)
        {
            CheckFieldNames(definition.Fields, definition.Name, isMessage: false);
            var name = definition.Name;
            while (taken.Contains(name) || definition.Fields.Exists(f => PropertyName(f) == name))
            {
                name += "Data";
            }

            taken.Add(name);
            _classNames[definition.Name] = name;
        }
    }

    private void CheckFieldNames(List<FieldDefinition> fields, string owner, bool isMessage)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var field in fields)
        {
            if (!seen.Add(field.Name))
            {
                throw new FormatException($"{_message.SourceFile}: {owner} has two fields named '{field.Name}'.");
            }

            if (isMessage && ReservedMessageMembers.Contains(field.Name))
            {
                throw new FormatException($"{_message.SourceFile}: field '{owner}.{field.Name}' collides with a generated member.");
            }

            // Kafka can carry a field untagged in some versions and tagged in others; no schema does
            // so today, and supporting it would need split version ranges, so refuse it loudly.
            if (field.IsTagged && !field.TaggedVersions.Covers(field.Versions.Intersect(_context)))
            {
                throw new FormatException($"{_message.SourceFile}: tagged field '{owner}.{field.Name}' must be tagged in all its versions.");
            }

            // A nullable tagged struct has its own presence marker in Kafka; no schema uses one yet.
            if (field.IsTagged && field.IsStructType && !field.IsArray && !field.NullableVersions.IsEmpty)
            {
                throw new FormatException($"{_message.SourceFile}: nullable tagged struct '{owner}.{field.Name}' is not supported.");
            }

            if (field.IsStructType && field.Fields.Count == 0 && !_structs.ContainsKey(field.ElementType))
            {
                throw new FormatException($"{_message.SourceFile}: field '{owner}.{field.Name}' has unknown type '{field.Type}'.");
            }
        }
    }

    /// <summary>
    /// The C# property of a field: its name, except that a field named like a generated method
    /// (FetchSnapshotResponse's PartitionSnapshot.Size) gets "Value" appended.
    /// </summary>
    public static string PropertyName(FieldDefinition field) =>
        ReservedMembers.Contains(field.Name) ? field.Name + "Value" : field.Name;

    private string QualifiedClass(string structName) =>
        $"global::Gregor.Protocol.Messages.{_message.Name}.{_classNames[structName]}";

    public string Generate()
    {
        _w.Line("// <auto-generated/>");
        _w.Line($"// Generated by tools/Gregor.Generator from src/Gregor.Protocol/Messages/{_message.SourceFile}. Do not edit.");
        _w.Line("#nullable enable");
        _w.Line();
        _w.Line("namespace Gregor.Protocol.Messages;");
        _w.Line();
        var iface = _message.Kind switch
        {
            MessageKind.Request => "global::Gregor.Protocol.IRequestMessage",
            MessageKind.Response => "global::Gregor.Protocol.IResponseMessage",
            _ => "global::Gregor.Protocol.IKafkaMessage",
        };
        _w.Open($"public sealed partial class {_message.Name} : {iface}");
        if (_message.ApiKey is not null)
        {
            _w.Line($"public global::Gregor.Protocol.ApiKey ApiKey => global::Gregor.Protocol.ApiKey.{ApiName(_message)};");
            _w.Line();
        }

        _w.Line($"public const short LowestVersion = {_message.ValidVersions.Lowest};");
        _w.Line();
        _w.Line($"public const short HighestVersion = {_message.ValidVersions.Highest};");
        _w.Line();
        _w.Line("public short LowestSupportedVersion => LowestVersion;");
        _w.Line();
        _w.Line("public short HighestSupportedVersion => HighestVersion;");
        _w.Line();
        GenerateBody(_message.Name, _message.Fields, isMessage: true);
        foreach (var definition in _structOrder)
        {
            _w.Line();
            _w.Open($"public sealed partial class {_classNames[definition.Name]}");
            GenerateBody(_classNames[definition.Name], definition.Fields, isMessage: false);
            _w.Close();
        }

        _w.Close();
        return _w.ToString();
    }

    public static string ApiName(MessageDefinition message)
    {
        var suffix = message.Kind == MessageKind.Request ? "Request" : "Response";
        return message.Name.EndsWith(suffix, StringComparison.Ordinal) ? message.Name[..^suffix.Length] : message.Name;
    }

    private void GenerateBody(string className, List<FieldDefinition> fields, bool isMessage)
    {
        foreach (var field in fields)
        {
            _w.Line($"public {CsType(field)} {PropertyName(field)} {{ get; set; }}{Initializer(field)}");
            _w.Line();
        }

        _w.Line($"public {ListType}<{Prim}RawTaggedField>? UnknownTaggedFields {{ get; set; }}");
        _w.Line();
        var tagged = fields.Where(f => f.IsTagged).OrderBy(f => f.Tag).ToList();
        GenerateRead(className, fields, tagged, isMessage);
        _w.Line();
        GenerateWrite(className, fields, tagged, isMessage);
        _w.Line();
        GenerateSize(fields, tagged, isMessage);
        _w.Line();
        GenerateIsDefault(fields);
    }

    // ---- conditions -------------------------------------------------------------------------

    /// <summary>A C# test of <c>version</c> against a range, simplified within the message's valid versions.</summary>
    private string Cond(VersionRange range)
    {
        var effective = range.Intersect(_context);
        if (effective.IsEmpty)
        {
            return "false";
        }

        var parts = new List<string>(2);
        if (effective.Lowest > _context.Lowest)
        {
            parts.Add($"version >= {effective.Lowest}");
        }

        if (effective.Highest < _context.Highest)
        {
            parts.Add($"version <= {effective.Highest}");
        }

        return parts.Count == 0 ? "true" : string.Join(" && ", parts);
    }

    private static string Not(string condition) => condition switch
    {
        "true" => "false",
        "false" => "true",
        _ => $"!({condition})",
    };

    private static string And(string a, string b) =>
        a == "false" || b == "false" ? "false" : a == "true" ? b : b == "true" ? a : $"({a}) && ({b})";

    /// <summary>The versions a field is on the wire in its regular position.</summary>
    private static VersionRange RegularVersions(FieldDefinition field) => field.IsTagged ? VersionRange.None : field.Versions;

    private static VersionRange TaggedVersions(FieldDefinition field) =>
        field.IsTagged ? field.Versions.Intersect(field.TaggedVersions) : VersionRange.None;

    private string FlexibleCond => Cond(_message.FlexibleVersions);

    /// <summary>Whether a field's strings/bytes/arrays are compact: the message's flexible versions unless the field overrides them.</summary>
    private string CompactCond(FieldDefinition field) =>
        field.FlexibleVersions is { } own ? Cond(own) : FlexibleCond == "true" || FlexibleCond == "false" ? FlexibleCond : "flexible";

    /// <summary>Whether the field may be null, tested only where the field is present at all.</summary>
    private string NullableCond(FieldDefinition field)
    {
        var present = field.Versions.Intersect(_context);
        if (field.NullableVersions.Covers(present))
        {
            return "true";
        }

        return field.NullableVersions.Intersect(present).IsEmpty ? "false" : Cond(field.NullableVersions);
    }

    // ---- types and defaults -----------------------------------------------------------------

    private static string ScalarType(string type) => type switch
    {
        "bool" => "bool",
        "int8" => "sbyte",
        "int16" => "short",
        "uint16" => "ushort",
        "int32" => "int",
        "uint32" => "uint",
        "int64" => "long",
        "float64" => "double",
        "uuid" => "global::Gregor.Protocol.Uuid",
        _ => throw new InvalidOperationException(type),
    };

    private static bool IsScalar(string type) => type is "bool" or "int8" or "int16" or "uint16" or "int32" or "uint32" or "int64" or "float64" or "uuid";

    private static int ScalarSize(string type) => type switch
    {
        "bool" or "int8" => 1,
        "int16" or "uint16" => 2,
        "int32" or "uint32" => 4,
        "int64" or "float64" => 8,
        "uuid" => 16,
        _ => throw new InvalidOperationException(type),
    };

    private static string ScalarMethod(string type) => type switch
    {
        "bool" => "Bool",
        "int8" => "Int8",
        "int16" => "Int16",
        "uint16" => "UInt16",
        "int32" => "Int32",
        "uint32" => "UInt32",
        "int64" => "Int64",
        "float64" => "Float64",
        "uuid" => "Uuid",
        _ => throw new InvalidOperationException(type),
    };

    private static bool CsNullable(FieldDefinition field) =>
        !field.NullableVersions.IsEmpty || (field.Default == "null" && field.Type is not ("records"));

    private string ElementCsType(FieldDefinition field) =>
        field.IsStructType ? QualifiedClass(field.ElementType) : field.ElementType == "string" ? "string" : ScalarType(field.ElementType);

    private string CsType(FieldDefinition field)
    {
        var q = CsNullable(field) ? "?" : "";
        if (field.IsArray)
        {
            return $"{ListType}<{ElementCsType(field)}>{q}";
        }

        return field.Type switch
        {
            "string" => "string" + q,
            "bytes" => "byte[]" + q,
            "records" => "global::System.ReadOnlyMemory<byte>?",
            _ when field.IsStructType => QualifiedClass(field.Type) + q,
            _ => ScalarType(field.Type),
        };
    }

    private string DefaultValue(FieldDefinition field)
    {
        var d = field.Default;
        if (field.IsArray || field.IsStructType)
        {
            if (d == "null")
            {
                RequireNullable(field);
                return "null";
            }

            if (d is not null)
            {
                throw new FormatException($"{_message.SourceFile}: field '{field.Name}' can only default to null.");
            }

            return "new()";
        }

        switch (field.Type)
        {
            case "string":
                if (d == "null")
                {
                    RequireNullable(field);
                    return "null";
                }

                return Literal(d ?? "");
            case "bytes":
                if (d == "null")
                {
                    RequireNullable(field);
                    return "null";
                }

                return "global::System.Array.Empty<byte>()";
            case "records":
                return "null";
            case "bool":
                return d is null ? "false" : bool.Parse(d) ? "true" : "false";
            case "uuid":
                return "global::Gregor.Protocol.Uuid.Zero";
            case "float64":
                return d is null ? "0d" : double.Parse(d, CultureInfo.InvariantCulture).ToString("R", CultureInfo.InvariantCulture) + "d";
            default:
                return d is null ? "0" : ParseInteger(d, field).ToString(CultureInfo.InvariantCulture);
        }
    }

    private void RequireNullable(FieldDefinition field)
    {
        if (field.NullableVersions.IsEmpty)
        {
            throw new FormatException($"{_message.SourceFile}: field '{field.Name}' defaults to null but is never nullable.");
        }
    }

    private long ParseInteger(string text, FieldDefinition field)
    {
        var value = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? long.Parse(text[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture)
            : long.Parse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var (min, max) = field.Type switch
        {
            "int8" => (sbyte.MinValue, sbyte.MaxValue),
            "int16" => (short.MinValue, short.MaxValue),
            "uint16" => (ushort.MinValue, ushort.MaxValue),
            "int32" => (int.MinValue, int.MaxValue),
            "uint32" => (uint.MinValue, uint.MaxValue),
            _ => (long.MinValue, long.MaxValue),
        };
        if (value < min || value > max)
        {
            throw new FormatException($"{_message.SourceFile}: default {text} of '{field.Name}' is out of range for {field.Type}.");
        }

        return value;
    }

    private static string Literal(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    private string Initializer(FieldDefinition field)
    {
        var value = DefaultValue(field);
        return value is "0" or "false" or "null" && !(field.IsArray || field.IsStructType || field.Type is "string" or "bytes")
            ? ""
            : $" = {value};";
    }

    /// <summary>A C# test that the field's value differs from its default (Kafka writes tagged fields only then).</summary>
    private string NonDefault(FieldDefinition field)
    {
        var p = "this." + PropertyName(field);
        var d = field.Default;
        if (field.IsArray)
        {
            return d == "null" ? $"{p} is not null" : CsNullable(field) ? $"({p} is null || {p}.Count != 0)" : $"{p}.Count != 0";
        }

        if (field.IsStructType)
        {
            return d == "null" ? $"{p} is not null" : CsNullable(field) ? $"({p} is null || !{p}.IsDefaultValue())" : $"!{p}.IsDefaultValue()";
        }

        return field.Type switch
        {
            "string" => d == "null" ? $"{p} is not null" : $"{p} != {Literal(d ?? "")}",
            "bytes" => d == "null" ? $"{p} is not null" : CsNullable(field) ? $"({p} is null || {p}.Length != 0)" : $"{p}.Length != 0",
            "records" => $"{p} is not null",
            "bool" => DefaultValue(field) == "true" ? $"!{p}" : p,
            _ => $"{p} != {DefaultValue(field)}",
        };
    }

    private static string NullError(string className, FieldDefinition field) =>
        $"throw new {Prim}UnsupportedVersionException($\"Non-nullable field {className}.{field.Name} was null at version {{version}}.\")";

    private static string NullReadError(string className, FieldDefinition field) =>
        $"throw new {Prim}ProtocolException(\"Non-nullable field {className}.{field.Name} was serialized as null.\")";

    // ---- Read -------------------------------------------------------------------------------

    private void VersionCheck(bool isMessage)
    {
        if (isMessage)
        {
            _w.Open("if (version < LowestVersion || version > HighestVersion)");
            _w.Line($"throw new {Prim}UnsupportedVersionException($\"{_message.Name} has no version {{version}}; it supports {_message.ValidVersions}.\");");
            _w.Close();
        }
    }

    private void DeclareFlexible()
    {
        if (FlexibleCond is not ("true" or "false"))
        {
            _w.Line($"var flexible = {FlexibleCond};");
        }
    }

    private void GenerateRead(string className, List<FieldDefinition> fields, List<FieldDefinition> tagged, bool isMessage)
    {
        _w.Open($"public void Read(ref {Prim}KafkaReader reader, short version)");
        VersionCheck(isMessage);
        DeclareFlexible();
        foreach (var field in fields)
        {
            _w.If(Cond(RegularVersions(field)), () => ReadField(className, field, CompactCond(field)));
        }

        _w.If(FlexibleCond, () =>
        {
            _w.Line("var numTaggedFields = reader.ReadUnsignedVarint();");
            _w.Open("for (var t = 0u; t < numTaggedFields; t++)");
            _w.Line("var tag = reader.ReadUnsignedVarint();");
            _w.Line("var tagSize = reader.ReadTaggedFieldSize();");
            _w.Open("switch (tag)");
            foreach (var field in tagged)
            {
                var cond = Cond(TaggedVersions(field));
                if (cond == "false")
                {
                    continue;
                }

                _w.Line($"case {field.Tag}:");
                _w.Open();
                _w.If(cond, () =>
                {
                    _w.Line("var tagStart = reader.Position;");
                    ReadField(className, field, "true");
                    _w.Line("reader.EndTaggedField(tagStart, tagSize);");
                    _w.Line("break;");
                });
                if (cond != "true")
                {
                    _w.Line("goto default;");
                }

                _w.Close();
            }

            _w.Line("default:");
            _w.Line("    this.UnknownTaggedFields = reader.ReadUnknownTaggedField(this.UnknownTaggedFields, tag, tagSize);");
            _w.Line("    break;");
            _w.Close();
            _w.Close();
        });
        _w.Close();
    }

    private void ReadField(string className, FieldDefinition field, string compact)
    {
        var p = "this." + PropertyName(field);
        var nullable = NullableCond(field);
        if (field.IsArray)
        {
            _w.Open();
            _w.Line($"var count = reader.ReadArrayLength({compact});");
            _w.Open("if (count < 0)");
            if (CsNullable(field))
            {
                _w.If(Not(nullable), () => _w.Line(NullReadError(className, field) + ";"));
                if (nullable != "false")
                {
                    _w.Line($"{p} = null;");
                }
            }
            else
            {
                _w.Line(NullReadError(className, field) + ";");
            }

            _w.Close();
            _w.Open("else");
            if (CsNullable(field))
            {
                _w.Line($"var list = new {ListType}<{ElementCsType(field)}>(count);");
            }
            else
            {
                // A fresh instance already holds an empty list: fill it rather than allocate another.
                _w.Line($"var list = {p};");
                _w.Line("list.Clear();");
                _w.Line("list.EnsureCapacity(count);");
            }

            _w.Open("for (var i = 0; i < count; i++)");
            if (field.IsStructType)
            {
                _w.Line($"var element = new {QualifiedClass(field.ElementType)}();");
                _w.Line("element.Read(ref reader, version);");
                _w.Line("list.Add(element);");
            }
            else if (field.ElementType == "string")
            {
                _w.Line($"list.Add(reader.ReadString({compact}));");
            }
            else if (IsScalar(field.ElementType))
            {
                _w.Line($"list.Add(reader.Read{ScalarMethod(field.ElementType)}());");
            }
            else
            {
                throw new FormatException($"{_message.SourceFile}: arrays of {field.ElementType} are not supported.");
            }

            _w.Close();
            if (CsNullable(field))
            {
                _w.Line($"{p} = list;");
            }

            _w.Close();
            _w.Close();
            return;
        }

        if (field.IsStructType)
        {
            void ReadStruct()
            {
                _w.Line($"var value = new {QualifiedClass(field.Type)}();");
                _w.Line("value.Read(ref reader, version);");
                _w.Line($"{p} = value;");
            }

            if (!CsNullable(field))
            {
                _w.Line($"{p}.Read(ref reader, version);");
                return;
            }

            _w.Open();
            _w.If(
                nullable,
                () =>
                {
                    _w.Open("if (reader.ReadInt8() < 0)");
                    _w.Line($"{p} = null;");
                    _w.Close();
                    _w.Open("else");
                    ReadStruct();
                    _w.Close();
                },
                ReadStruct);
            _w.Close();
            return;
        }

        switch (field.Type)
        {
            case "string":
            case "bytes":
                var kind = field.Type == "string" ? "String" : "Bytes";
                var nullableRead = $"reader.ReadNullable{kind}({compact})";
                var plainRead = $"reader.Read{kind}({compact})";
                var expr = nullable switch
                {
                    "true" => nullableRead,
                    "false" => plainRead,
                    _ => $"({nullable}) ? {nullableRead} : {plainRead}",
                };
                _w.Line($"{p} = {expr};");
                break;
            case "records":
                if (nullable == "true")
                {
                    _w.Line($"{p} = reader.ReadRecords({compact});");
                    break;
                }

                _w.Open();
                _w.Line($"var records = reader.ReadRecords({compact});");
                _w.Open($"if (records is null && {Not(nullable)})");
                _w.Line(NullReadError(className, field) + ";");
                _w.Close();
                _w.Line($"{p} = records;");
                _w.Close();
                break;
            default:
                _w.Line($"{p} = reader.Read{ScalarMethod(field.Type)}();");
                break;
        }
    }

    // ---- Write ------------------------------------------------------------------------------

    private void GenerateWrite(string className, List<FieldDefinition> fields, List<FieldDefinition> tagged, bool isMessage)
    {
        _w.Open($"public void Write(ref {Prim}KafkaWriter writer, short version)");
        VersionCheck(isMessage);
        DeclareFlexible();
        foreach (var field in fields)
        {
            if (field.IsTagged)
            {
                continue;
            }

            var present = Cond(RegularVersions(field));
            _w.If(present, () => WriteField(className, field, CompactCond(field)), () => RefuseNonDefault(className, field));
        }

        foreach (var field in tagged)
        {
            // A tagged field outside its tagged versions is absent from the wire.
            var present = And(FlexibleCond, Cond(TaggedVersions(field)));
            _w.If(Not(present), () => RefuseNonDefault(className, field));
        }

        _w.If(
            FlexibleCond,
            () =>
            {
                _w.Line("var unknownTaggedFields = this.UnknownTaggedFields;");
                _w.Line("var numTaggedFields = unknownTaggedFields?.Count ?? 0;");
                foreach (var field in tagged)
                {
                    var present = And(Cond(TaggedVersions(field)), NonDefault(field));
                    _w.If(present, () => _w.Line("numTaggedFields++;"));
                }

                _w.Line("writer.WriteUnsignedVarint((uint)numTaggedFields);");
                _w.Line("var nextUnknown = 0;");
                foreach (var field in tagged)
                {
                    var present = And(Cond(TaggedVersions(field)), NonDefault(field));
                    if (present == "false")
                    {
                        continue;
                    }

                    // Unknown tags are kept in wire order; merge them so all tags stay ascending.
                    _w.Open($"while (unknownTaggedFields is not null && nextUnknown < unknownTaggedFields.Count && unknownTaggedFields[nextUnknown].Tag < {field.Tag})");
                    _w.Line("writer.WriteRawTaggedField(unknownTaggedFields[nextUnknown++]);");
                    _w.Close();
                    _w.If(present, () =>
                    {
                        _w.Line($"writer.WriteUnsignedVarint({field.Tag});");
                        _w.Line("var dataSize = 0;");
                        SizeField(field, "true", "dataSize");
                        _w.Line("writer.WriteUnsignedVarint((uint)dataSize);");
                        WriteField(className, field, "true");
                    });
                }

                _w.Open("while (unknownTaggedFields is not null && nextUnknown < unknownTaggedFields.Count)");
                _w.Line("writer.WriteRawTaggedField(unknownTaggedFields[nextUnknown++]);");
                _w.Close();
            },
            () =>
            {
                _w.Open("if (this.UnknownTaggedFields is { Count: > 0 })");
                _w.Line($"throw new {Prim}UnsupportedVersionException($\"Tagged fields were set, but version {{version}} of {_message.Name} does not support them.\");");
                _w.Close();
            });
        _w.Close();
    }

    private void RefuseNonDefault(string className, FieldDefinition field)
    {
        if (field.Ignorable)
        {
            return;
        }

        _w.Open($"if ({NonDefault(field)})");
        _w.Line($"throw new {Prim}UnsupportedVersionException($\"Attempted to write a non-default {className}.{field.Name} at version {{version}}.\");");
        _w.Close();
    }

    private void WriteField(string className, FieldDefinition field, string compact)
    {
        var p = "this." + PropertyName(field);
        var nullable = NullableCond(field);
        if (field.IsArray)
        {
            _w.Open();
            _w.Line($"var list = {p};");
            if (CsNullable(field))
            {
                _w.Open("if (list is null)");
                _w.If(Not(nullable), () => _w.Line(NullError(className, field) + ";"));
                if (nullable != "false")
                {
                    _w.Line($"writer.WriteArrayLength(-1, {compact});");
                }

                _w.Close();
                _w.Open("else");
            }

            _w.Line($"writer.WriteArrayLength(list.Count, {compact});");
            _w.Open("for (var i = 0; i < list.Count; i++)");
            if (field.IsStructType)
            {
                _w.Line("list[i].Write(ref writer, version);");
            }
            else if (field.ElementType == "string")
            {
                _w.Line($"writer.WriteString(list[i], {compact});");
            }
            else
            {
                _w.Line($"writer.Write{ScalarMethod(field.ElementType)}(list[i]);");
            }

            _w.Close();
            if (CsNullable(field))
            {
                _w.Close();
            }

            _w.Close();
            return;
        }

        if (field.IsStructType)
        {
            if (!CsNullable(field))
            {
                _w.Line($"{p}.Write(ref writer, version);");
                return;
            }

            _w.If(
                nullable,
                () =>
                {
                    _w.Open($"if ({p} is null)");
                    _w.Line("writer.WriteInt8(-1);");
                    _w.Close();
                    _w.Open("else");
                    _w.Line("writer.WriteInt8(1);");
                    _w.Line($"{p}.Write(ref writer, version);");
                    _w.Close();
                },
                () => _w.Line($"({p} ?? {NullError(className, field)}).Write(ref writer, version);"));
            return;
        }

        switch (field.Type)
        {
            case "string":
            case "bytes":
                var kind = field.Type == "string" ? "String" : "Bytes";
                if (!CsNullable(field))
                {
                    _w.Line($"writer.Write{kind}({p}, {compact});");
                    break;
                }

                _w.If(
                    nullable,
                    () => _w.Line($"writer.WriteNullable{kind}({p}, {compact});"),
                    () => _w.Line($"writer.Write{kind}({p} ?? {NullError(className, field)}, {compact});"));
                break;
            case "records":
                // A null records field in a version that cannot say null is written as empty.
                _w.If(
                    nullable,
                    () => _w.Line($"writer.WriteRecords({p}, {compact});"),
                    () => _w.Line($"writer.WriteRecords({p} ?? global::System.ReadOnlyMemory<byte>.Empty, {compact});"));
                break;
            default:
                _w.Line($"writer.Write{ScalarMethod(field.Type)}({p});");
                break;
        }
    }

    // ---- Size -------------------------------------------------------------------------------

    private void GenerateSize(List<FieldDefinition> fields, List<FieldDefinition> tagged, bool isMessage)
    {
        _w.Open("public int Size(short version)");
        VersionCheck(isMessage);
        DeclareFlexible();
        _w.Line("var size = 0;");
        foreach (var field in fields)
        {
            if (!field.IsTagged)
            {
                _w.If(Cond(RegularVersions(field)), () => SizeField(field, CompactCond(field), "size"));
            }
        }

        _w.If(FlexibleCond, () =>
        {
            _w.Line("var numTaggedFields = 0;");
            _w.Open("if (this.UnknownTaggedFields is { } unknownTaggedFields)");
            _w.Line("numTaggedFields = unknownTaggedFields.Count;");
            _w.Open("for (var i = 0; i < unknownTaggedFields.Count; i++)");
            _w.Line($"size += {Prim}SizeOf.RawTaggedField(unknownTaggedFields[i]);");
            _w.Close();
            _w.Close();
            foreach (var field in tagged)
            {
                var present = And(Cond(TaggedVersions(field)), NonDefault(field));
                _w.If(present, () =>
                {
                    _w.Line("numTaggedFields++;");
                    _w.Line("var dataSize = 0;");
                    SizeField(field, "true", "dataSize");
                    _w.Line($"size += {Prim}SizeOf.TaggedFieldHeader({field.Tag}, dataSize) + dataSize;");
                });
            }

            _w.Line($"size += {Prim}SizeOf.UnsignedVarint((uint)numTaggedFields);");
        });
        _w.Line("return size;");
        _w.Close();
    }

    private void SizeField(FieldDefinition field, string compact, string acc)
    {
        var p = "this." + PropertyName(field);
        var nullable = NullableCond(field);
        if (field.IsArray)
        {
            _w.Open();
            _w.Line($"var list = {p};");
            _w.Line($"{acc} += {Prim}SizeOf.ArrayLength(list?.Count ?? -1, {compact});");
            _w.Open("if (list is not null)");
            if (field.IsStructType)
            {
                _w.Open("for (var i = 0; i < list.Count; i++)");
                _w.Line($"{acc} += list[i].Size(version);");
                _w.Close();
            }
            else if (field.ElementType == "string")
            {
                _w.Open("for (var i = 0; i < list.Count; i++)");
                _w.Line($"{acc} += {Prim}SizeOf.String(list[i], {compact});");
                _w.Close();
            }
            else
            {
                _w.Line($"{acc} += list.Count * {ScalarSize(field.ElementType)};");
            }

            _w.Close();
            _w.Close();
            return;
        }

        if (field.IsStructType)
        {
            if (!CsNullable(field))
            {
                _w.Line($"{acc} += {p}.Size(version);");
                return;
            }

            _w.If(nullable, () => _w.Line($"{acc} += 1;"));
            _w.Line($"{acc} += {p}?.Size(version) ?? 0;");
            return;
        }

        switch (field.Type)
        {
            case "string":
                _w.Line(CsNullable(field)
                    ? $"{acc} += {Prim}SizeOf.NullableString({p}, {compact});"
                    : $"{acc} += {Prim}SizeOf.String({p}, {compact});");
                break;
            case "bytes":
                _w.Line(CsNullable(field)
                    ? $"{acc} += {Prim}SizeOf.NullableBytes({p}, {compact});"
                    : $"{acc} += {Prim}SizeOf.Bytes({p}.Length, {compact});");
                break;
            case "records":
                _w.Line($"{acc} += {Prim}SizeOf.Records({p}, {compact});");
                break;
            default:
                _w.Line($"{acc} += {ScalarSize(field.Type)};");
                break;
        }
    }

    // ---- IsDefault --------------------------------------------------------------------------

    private void GenerateIsDefault(List<FieldDefinition> fields)
    {
        _w.Line("/// <summary>Whether every field holds its default and no unknown tagged field is kept.</summary>");
        _w.Open("public bool IsDefaultValue()");
        _w.Open("if (this.UnknownTaggedFields is { Count: > 0 })");
        _w.Line("return false;");
        _w.Close();
        foreach (var field in fields)
        {
            _w.Open($"if ({NonDefault(field)})");
            _w.Line("return false;");
            _w.Close();
        }

        _w.Line("return true;");
        _w.Close();
    }
}
