using System.Text;
using Gregor.Broker.Config;
using Microsoft.Extensions.Logging;

namespace Gregor.Host.Configuration;

/// <summary>Where a supplied property came from, lowest precedence first.</summary>
public enum PropertyOrigin
{
    File,
    Environment,
    Override,
}

/// <summary>The merged properties (file &lt; environment &lt; overrides) and the origin of each.</summary>
public sealed class ServerProperties
{
    internal ServerProperties(string? filePath, Dictionary<string, string> values, Dictionary<string, PropertyOrigin> origins)
    {
        FilePath = filePath;
        Values = values;
        Origins = origins;
    }

    /// <summary>The properties file given on the command line, if any.</summary>
    public string? FilePath { get; }

    public IReadOnlyDictionary<string, string> Values { get; }

    public IReadOnlyDictionary<string, PropertyOrigin> Origins { get; }
}

/// <summary>
/// Reads the broker's properties the way <c>kafka-server-start.sh</c> does:
/// <c>gregor [path/to/server.properties] [--override key=value]...</c>, plus <c>GREGOR_*</c>
/// environment variables named as Confluent's images name <c>KAFKA_*</c> ones
/// (<c>GREGOR_LOG_DIRS</c> → <c>log.dirs</c>). Precedence: defaults &lt; file &lt; environment &lt;
/// overrides; defaults are applied by <see cref="BrokerConfig"/>.
/// </summary>
public static class ServerPropertiesLoader
{
    public const string EnvironmentPrefix = "GREGOR_";

    // Variables with the prefix that configure the process, not the broker.
    private static readonly HashSet<string> NonConfigVariables = new(StringComparer.Ordinal)
    {
        "GREGOR_OPTS",
        "GREGOR_HOME",
        "GREGOR_LOG_LEVEL",
    };

    /// <summary>Loads and merges the properties; errors are <see cref="ConfigException"/>s with an operator-facing message.</summary>
    public static ServerProperties Load(string[] args, IReadOnlyDictionary<string, string> environment, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(environment);

        var (filePath, overrides) = ParseArguments(args);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var origins = new Dictionary<string, PropertyOrigin>(StringComparer.Ordinal);

        if (filePath is not null)
        {
            foreach (var (key, value) in JavaProperties.Load(filePath))
            {
                values[key] = value;
                origins[key] = PropertyOrigin.File;
            }
        }

        foreach (var (variable, value) in environment.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            var key = EnvironmentVariableToProperty(variable);
            if (key is not null)
            {
                values[key] = value;
                origins[key] = PropertyOrigin.Environment;
            }
        }

        foreach (var (key, value) in overrides)
        {
            values[key] = value;
            origins[key] = PropertyOrigin.Override;
        }

        if (logger is not null)
        {
            foreach (var key in values.Keys.Where(k => !BrokerConfigDefinitions.IsKnown(k)).Order(StringComparer.Ordinal))
            {
                HostConfigurationLog.UnknownProperty(logger, key, origins[key]);
            }
        }

        return new ServerProperties(filePath, values, origins);
    }

    /// <summary>Loads from the process's own command line and environment.</summary>
    public static ServerProperties LoadFromProcess(string[] args, ILogger? logger = null)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in System.Environment.GetEnvironmentVariables())
        {
            if (entry.Key is string key && entry.Value is string value)
            {
                environment[key] = value;
            }
        }

        return Load(args, environment, logger);
    }

    /// <summary>
    /// <c>GREGOR_LOG_DIRS</c> → <c>log.dirs</c>: strip the prefix, lower-case, then <c>_</c> → <c>.</c>,
    /// <c>__</c> → <c>_</c>, <c>___</c> → <c>-</c>. Returns null for other variables.
    /// </summary>
    public static string? EnvironmentVariableToProperty(string variable)
    {
        if (!variable.StartsWith(EnvironmentPrefix, StringComparison.Ordinal)
            || variable.Length == EnvironmentPrefix.Length
            || NonConfigVariables.Contains(variable))
        {
            return null;
        }

        var name = variable.AsSpan(EnvironmentPrefix.Length);
        var sb = new StringBuilder(name.Length);
        for (var i = 0; i < name.Length;)
        {
            if (name[i] != '_')
            {
                sb.Append(char.ToLowerInvariant(name[i]));
                i++;
                continue;
            }

            var run = 0;
            while (i < name.Length && name[i] == '_')
            {
                run++;
                i++;
            }

            for (; run >= 3; run -= 3)
            {
                sb.Append('-');
            }

            sb.Append(run switch
            {
                2 => "_",
                1 => ".",
                _ => string.Empty,
            });
        }

        return sb.ToString();
    }

    private static (string? FilePath, List<KeyValuePair<string, string>> Overrides) ParseArguments(string[] args)
    {
        string? filePath = null;
        var overrides = new List<KeyValuePair<string, string>>();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (arg == "--override")
            {
                if (i + 1 >= args.Length)
                {
                    throw new ConfigException("--override needs a key=value argument.");
                }

                overrides.Add(ParseOverride(args[++i]));
            }
            else if (arg.StartsWith("--override=", StringComparison.Ordinal))
            {
                overrides.Add(ParseOverride(arg["--override=".Length..]));
            }
            else if (arg.StartsWith('-') && arg.Length > 1)
            {
                throw new ConfigException($"Unknown option '{arg}'. Usage: gregor [server.properties] [--override key=value]...");
            }
            else if (filePath is null)
            {
                filePath = arg;
            }
            else
            {
                throw new ConfigException($"Unexpected argument '{arg}': only one properties file may be given (the first was '{filePath}').");
            }
        }

        return (filePath, overrides);
    }

    private static KeyValuePair<string, string> ParseOverride(string argument)
    {
        var equals = argument.IndexOf('=', StringComparison.Ordinal);
        if (equals <= 0 || argument[..equals].Trim().Length == 0)
        {
            throw new ConfigException($"Invalid override '{argument}': expected key=value.");
        }

        return new(argument[..equals].Trim(), argument[(equals + 1)..]);
    }
}
