using System.Globalization;
using System.Text.Json;
using Gregor.Generator;
using Xunit;
using Xunit.Abstractions;

namespace Gregor.Protocol.Tests.Messages;

/// <summary>
/// Our definitions must say exactly what Apache Kafka's JSON schemas say. The schemas are not part
/// of the repository: the test runs when <c>../shared/reference/kafka-message-schemas</c> sits
/// beside the repository root, and passes with a note otherwise.
/// </summary>
public sealed class DefinitionsMatchReferenceTests
{
    private readonly ITestOutputHelper _output;

    public DefinitionsMatchReferenceTests(ITestOutputHelper output) => _output = output;

    private static readonly JsonDocumentOptions JsonOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>
    /// The only places Gregor's definitions run ahead of the Kafka 4.0 reference: the message, the
    /// reference's highest version, and why. Versions above it, and fields that exist only there,
    /// are left out of the comparison; everything up to it must still match exactly.
    /// </summary>
    private static readonly Dictionary<string, short> NewerThanReference = new(StringComparer.Ordinal)
    {
        // KIP-1102 (Kafka 4.1): librdkafka 2.16 sends Metadata v13.
        ["MetadataRequest"] = 12,
        ["MetadataResponse"] = 12,

        // KIP-890 part 2 (Kafka 4.1): TxnOffsetCommit v5 adds the group's partition to the transaction itself.
        ["TxnOffsetCommitRequest"] = 4,
        ["TxnOffsetCommitResponse"] = 4,
    };

    [Fact]
    public void EveryDefinitionMatchesTheReferenceSchemas()
    {
        var referenceDir = Path.GetFullPath(Path.Combine(Definitions.Root, "..", "shared", "reference", "kafka-message-schemas"));
        if (!Directory.Exists(referenceDir))
        {
            _output.WriteLine($"Reference schemas not found at {referenceDir}; comparison skipped.");
            return;
        }

        var ours = Definitions.All.ToDictionary(m => m.Name, StringComparer.Ordinal);
        var differences = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var files = Directory.GetFiles(referenceDir, "*.json");
        // The __transaction_state record formats are defined here too (issue 6); the other record
        // schemas (group coordinator, metadata) are encoded by their own layers.
        var transactionRecords = Path.Combine(referenceDir, "..", "kafka-record-schemas", "transaction-coordinator");
        if (Directory.Exists(transactionRecords))
        {
            files = [.. files, .. Directory.GetFiles(transactionRecords, "*.json")];
        }

        Array.Sort(files, StringComparer.Ordinal);
        foreach (var file in files)
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(file), JsonOptions);
            var json = doc.RootElement;
            var name = json.GetProperty("name").GetString()!;
            seen.Add(name);
            if (!ours.TryGetValue(name, out var message))
            {
                differences.Add($"{name}: no definition (from {Path.GetFileName(file)})");
                continue;
            }

            CompareMessage(json, message, differences);
        }

        // Metadata log records: only the ones Gregor defines are compared (it does not use them all).
        var metadataDir = Path.Combine(referenceDir, "..", "kafka-record-schemas", "metadata");
        if (Directory.Exists(metadataDir))
        {
            var metadataFiles = Directory.GetFiles(metadataDir, "*.json");
            Array.Sort(metadataFiles, StringComparer.Ordinal);
            foreach (var file in metadataFiles)
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(file), JsonOptions);
                var name = doc.RootElement.GetProperty("name").GetString()!;
                if (ours.TryGetValue(name, out var message) && message.Kind == MessageKind.Metadata)
                {
                    seen.Add(name);
                    CompareMessage(doc.RootElement, message, differences);
                }
            }
        }

        foreach (var name in ours.Keys)
        {
            if (!seen.Contains(name))
            {
                differences.Add($"{name}: defined here but absent from the reference schemas");
            }
        }

        _output.WriteLine($"Compared {files.Length} reference schemas with {ours.Count} definitions.");
        Assert.True(differences.Count == 0, $"{differences.Count} differences:\n" + string.Join("\n", differences));
    }

    private static void CompareMessage(JsonElement json, MessageDefinition message, List<string> differences)
    {
        var where = message.Name;
        void Check(string what, string? expected, string? actual)
        {
            if (!string.Equals(expected, actual, StringComparison.Ordinal))
            {
                differences.Add($"{where}: {what} is '{actual ?? "(none)"}', reference says '{expected ?? "(none)"}'");
            }
        }

        var kind = json.GetProperty("type").GetString();
        Check("type", kind, message.Kind.ToString().ToLowerInvariant());
        Check("apiKey", Integer(json, "apiKey"),
            message.ApiKey?.ToString(CultureInfo.InvariantCulture));
        var ourVersions = message.ValidVersions;
        var ourFields = message.Fields;
        if (NewerThanReference.TryGetValue(message.Name, out var referenceHighest))
        {
            if (ourVersions.Highest <= referenceHighest)
            {
                differences.Add($"{where}: listed as newer than the reference, but stops at v{ourVersions.Highest}");
            }

            ourVersions = ourVersions with { Highest = referenceHighest };
            ourFields = ourFields.Where(f => f.Versions.Lowest <= referenceHighest).ToList();
        }

        Check("validVersions", Range(json, "validVersions"), ourVersions.ToString());
        Check("flexibleVersions", Range(json, "flexibleVersions"), message.FlexibleVersions.ToString());
        Check("deprecatedVersions", Range(json, "deprecatedVersions"), message.DeprecatedVersions?.ToString());
        Check("latestVersionUnstable", Bool(json, "latestVersionUnstable").ToString(), message.LatestVersionUnstable.ToString());
        var listeners = json.TryGetProperty("listeners", out var l) ? string.Join(",", l.EnumerateArray().Select(e => e.GetString())) : "";
        Check("listeners", listeners, string.Join(",", message.Listeners));
        CompareFields(where, json.GetProperty("fields"), ourFields, differences);

        var commons = json.TryGetProperty("commonStructs", out var cs) ? cs.EnumerateArray().ToList() : new List<JsonElement>();
        Check("commonStructs", string.Join(",", commons.Select(c => c.GetProperty("name").GetString())),
            string.Join(",", message.CommonStructs.Select(c => c.Name)));
        foreach (var common in commons)
        {
            var name = common.GetProperty("name").GetString()!;
            var ourCommon = message.CommonStructs.Find(c => c.Name == name);
            if (ourCommon is null)
            {
                continue;
            }

            Check($"commonStruct {name} versions", Range(common, "versions"), ourCommon.Versions.ToString());
            CompareFields($"{where}/{name}", common.GetProperty("fields"), ourCommon.Fields, differences);
        }
    }

    private static void CompareFields(string where, JsonElement jsonFields, List<FieldDefinition> fields, List<string> differences)
    {
        var expected = jsonFields.EnumerateArray().ToList();
        var names = string.Join(",", expected.Select(f => f.GetProperty("name").GetString()));
        var ourNames = string.Join(",", fields.Select(f => f.Name));
        if (names != ourNames)
        {
            differences.Add($"{where}: fields are [{ourNames}], reference says [{names}]");
            return;
        }

        for (var i = 0; i < expected.Count; i++)
        {
            var json = expected[i];
            var field = fields[i];
            var at = $"{where}.{field.Name}";
            void Check(string what, string? want, string? actual)
            {
                if (!string.Equals(want, actual, StringComparison.Ordinal))
                {
                    differences.Add($"{at}: {what} is '{actual ?? "(none)"}', reference says '{want ?? "(none)"}'");
                }
            }

            Check("type", json.GetProperty("type").GetString(), field.Type);
            // A tagged-only field (no "versions") exists in its tagged versions, as Kafka's generator reads it.
            Check("versions", Range(json, "versions") ?? Range(json, "taggedVersions"), field.Versions.ToString());
            Check("nullableVersions", Range(json, "nullableVersions") ?? "none", field.NullableVersions.ToString());
            Check("tag", Integer(json, "tag"),
                field.Tag?.ToString(CultureInfo.InvariantCulture));
            Check("taggedVersions", Range(json, "taggedVersions") ?? "none", field.TaggedVersions.ToString());
            Check("default", Default(json), field.Default);
            Check("ignorable", Bool(json, "ignorable").ToString(), field.Ignorable.ToString());
            Check("flexibleVersions", Range(json, "flexibleVersions"), field.FlexibleVersions?.ToString());
            Check("mapKey", Bool(json, "mapKey").ToString(), field.MapKey.ToString());
            Check("zeroCopy", Bool(json, "zeroCopy").ToString(), field.ZeroCopy.ToString());
            Check("entityType", json.TryGetProperty("entityType", out var e) ? e.GetString() : null, field.EntityType);
            if (json.TryGetProperty("fields", out var nested))
            {
                CompareFields(at, nested, field.Fields, differences);
            }
            else if (field.Fields.Count > 0)
            {
                differences.Add($"{at}: has nested fields, the reference declares none here");
            }
        }
    }

    /// <summary>A version range normalised through our parser ("1" and "1-1" compare equal).</summary>
    private static string? Range(JsonElement json, string property) =>
        json.TryGetProperty(property, out var value) ? VersionRange.Parse(value.GetString()!).ToString() : null;

    /// <summary>An integer written as a JSON number or, as some schemas do, a string.</summary>
    private static string? Integer(JsonElement json, string property) =>
        !json.TryGetProperty(property, out var value) ? null
        : value.ValueKind == JsonValueKind.String ? int.Parse(value.GetString()!, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture)
        : value.GetInt32().ToString(CultureInfo.InvariantCulture);

    private static bool Bool(JsonElement json, string property) =>
        json.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.True;

    private static string? Default(JsonElement json)
    {
        if (!json.TryGetProperty("default", out var value))
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            _ => value.GetRawText(),
        };
    }
}
