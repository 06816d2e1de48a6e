using System.Collections.Frozen;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Gregor.Storage;

/// <summary>
/// Topic configs that Kafka 4.0 removed but that Kafka 3.x clients and tools still send (a 3.x
/// <c>kafka-topics.sh --config</c>, Terraform providers, old AdminClient code). Kafka 4.0 refuses
/// them as unknown, which fails the whole CreateTopics or AlterConfigs; Gregor accepts them, drops
/// or maps them here before validation, and the caller logs a warning naming what it did:
/// <list type="table">
/// <item><term>message.format.version</term><description>ignored: Gregor writes only the v2 record format (Kafka 3.0+ ignored it too from IBP 3.0).</description></item>
/// <item><term>message.downconversion.enable</term><description>ignored: Fetch never down-converts (Kafka 4.0 removed down-conversion).</description></item>
/// <item><term>message.timestamp.difference.max.ms</term><description>mapped to message.timestamp.before.max.ms and message.timestamp.after.max.ms, where the same request does not set those itself (KIP-937's compatibility rule).</description></item>
/// </list>
/// </summary>
public static partial class RemovedTopicConfigs
{
    public const string MessageFormatVersion = "message.format.version";
    public const string MessageDownconversionEnable = "message.downconversion.enable";
    public const string MessageTimestampDifferenceMaxMs = "message.timestamp.difference.max.ms";

    private static readonly FrozenDictionary<string, Func<string, string?>> Validators = new Dictionary<string, Func<string, string?>>(StringComparer.Ordinal)
    {
        // A version as Kafka 3.x took it: "0.10.2", "2.8", "3.0-IV1".
        [MessageFormatVersion] = v => VersionPattern().IsMatch(v) ? null : "Expected a Kafka version such as 3.0 or 2.8-IV1.",
        [MessageDownconversionEnable] = v => v.ToLowerInvariant() is "true" or "false" ? null : "Expected true or false.",
        [MessageTimestampDifferenceMaxMs] = v => long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 0 ? null : "Value must be at least 0.",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Whether Kafka 4.0 removed this topic config and Gregor still accepts it.</summary>
    public static bool IsRemoved(string name) => Validators.ContainsKey(name);

    /// <summary>A complete set of configs (CreateTopics, AlterConfigs) with the removed ones translated by <see cref="Translate"/>.</summary>
    /// <exception cref="InvalidConfigException">A removed config's value is not one Kafka 3.x accepted.</exception>
    public static Dictionary<string, string> TranslateAll(IReadOnlyDictionary<string, string> configs, List<string> notes)
    {
        ArgumentNullException.ThrowIfNull(configs);
        var result = configs.Where(c => !IsRemoved(c.Key)).ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal);
        foreach (var (name, value) in configs.Where(c => IsRemoved(c.Key)))
        {
            foreach (var (target, mapped) in Translate(name, set: true, value, [.. configs.Keys], notes))
            {
                result[target] = mapped;
            }
        }

        return result;
    }

    /// <summary>
    /// What one operation on a removed config becomes: the configs to set in its place (the
    /// before/after timestamp bounds for message.timestamp.difference.max.ms, unless the request
    /// names them itself; nothing for the ignored ones or for a delete), with the change described
    /// in <paramref name="notes"/>.
    /// </summary>
    /// <param name="name">A config for which <see cref="IsRemoved"/> holds.</param>
    /// <param name="set">True to set <paramref name="value"/>, false to delete the config.</param>
    /// <param name="namesInRequest">Every config the same request names.</param>
    /// <exception cref="InvalidConfigException">The value is not one Kafka 3.x accepted.</exception>
    public static List<KeyValuePair<string, string>> Translate(string name, bool set, string? value, IReadOnlyCollection<string> namesInRequest, List<string> notes)
    {
        ArgumentNullException.ThrowIfNull(namesInRequest);
        ArgumentNullException.ThrowIfNull(notes);
        if (!Validators.TryGetValue(name, out var validate))
        {
            throw new ArgumentException($"{name} is not a removed topic config.", nameof(name));
        }

        if (!set)
        {
            notes.Add($"{name} was removed in Kafka 4.0; deleting it changes nothing");
            return [];
        }

        value = value?.Trim() ?? string.Empty;
        if (validate(value) is { } problem)
        {
            throw new InvalidConfigException($"Invalid value {value} for configuration {name}: {problem}");
        }

        if (name != MessageTimestampDifferenceMaxMs)
        {
            notes.Add($"{name}={value} ignored: Kafka 4.0 removed it and Gregor {(name == MessageFormatVersion ? "writes only the v2 record format" : "never down-converts")}");
            return [];
        }

        List<KeyValuePair<string, string>> mapped =
        [
            .. ((string[])[LogConfig.MessageTimestampBeforeMaxMsConfig, LogConfig.MessageTimestampAfterMaxMsConfig])
                .Where(target => !namesInRequest.Contains(target))
                .Select(target => new KeyValuePair<string, string>(target, value)),
        ];
        notes.Add(mapped.Count == 0
            ? $"{name}={value} ignored: Kafka 4.0 removed it and the request sets both timestamp bounds itself"
            : $"{name}={value} mapped to {string.Join(" and ", mapped.Select(m => m.Key))} (Kafka 4.0 removed it)");
        return mapped;
    }

    [GeneratedRegex(@"^\d+\.\d+(\.\d+)?(-IV\d+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex VersionPattern();
}
