namespace Gregor.Broker.Config;

/// <summary>
/// A configuration that cannot be used: a missing file, a malformed override, a value of the wrong
/// type or out of range. The message is meant for the operator, as printed before exit code 1.
/// </summary>
public sealed class ConfigException : Exception
{
    public ConfigException(string message)
        : base(message)
    {
    }

    public ConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Kafka's wording: "Invalid value X for configuration NAME: reason".</summary>
    public static ConfigException InvalidValue(string name, string? value, string reason) =>
        new($"Invalid value {value ?? "null"} for configuration {name}: {reason}");
}
