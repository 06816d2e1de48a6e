using System.Globalization;
using System.Text.RegularExpressions;

namespace Gregor.Broker.Config;

/// <summary>Kafka's security protocols, as named in <c>listener.security.protocol.map</c>.</summary>
public enum SecurityProtocol
{
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

/// <summary>
/// One entry of <c>listeners</c> or <c>advertised.listeners</c>: <c>NAME://host:port</c>. An empty
/// host means every interface (listeners) or the machine's canonical name (advertised); port 0 an
/// ephemeral port. IPv6 literals are written in brackets (<c>PLAINTEXT://[::1]:9092</c>); <see cref="Host"/>
/// holds them without.
/// </summary>
public sealed partial record ListenerConfig(string Name, string Host, int Port, SecurityProtocol SecurityProtocol)
{
    /// <summary>The listener in Kafka's notation, IPv6 hosts bracketed.</summary>
    public string ConnectionString => $"{Name}://{(Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host)}:{Port.ToString(CultureInfo.InvariantCulture)}";

    public override string ToString() => ConnectionString;

    public static string SecurityProtocolName(SecurityProtocol protocol) => protocol switch
    {
        SecurityProtocol.Plaintext => "PLAINTEXT",
        SecurityProtocol.Ssl => "SSL",
        SecurityProtocol.SaslPlaintext => "SASL_PLAINTEXT",
        SecurityProtocol.SaslSsl => "SASL_SSL",
        _ => throw new ArgumentOutOfRangeException(nameof(protocol)),
    };

    public static bool TryParseSecurityProtocol(string name, out SecurityProtocol protocol)
    {
        switch (name.Trim().ToUpperInvariant())
        {
            case "PLAINTEXT":
                protocol = SecurityProtocol.Plaintext;
                return true;
            case "SSL":
                protocol = SecurityProtocol.Ssl;
                return true;
            case "SASL_PLAINTEXT":
                protocol = SecurityProtocol.SaslPlaintext;
                return true;
            case "SASL_SSL":
                protocol = SecurityProtocol.SaslSsl;
                return true;
            default:
                protocol = default;
                return false;
        }
    }

    /// <summary>
    /// Parses a comma-separated listener list. Names are upper-cased as Kafka normalises them;
    /// each must appear in <paramref name="securityProtocolMap"/>.
    /// </summary>
    public static IReadOnlyList<ListenerConfig> ParseList(string configName, string? value, IReadOnlyDictionary<string, SecurityProtocol> securityProtocolMap)
    {
        var result = new List<ListenerConfig>();
        if (string.IsNullOrWhiteSpace(value))
        {
            return result;
        }

        foreach (var raw in value.Split(','))
        {
            var item = raw.Trim();
            if (item.Length == 0)
            {
                continue;
            }

            var match = ListenerPattern().Match(item);
            if (!match.Success)
            {
                throw ConfigException.InvalidValue(configName, value, $"'{item}' is not of the form NAME://host:port (IPv6 hosts in brackets, e.g. PLAINTEXT://[::1]:9092).");
            }

            var name = match.Groups["name"].Value.ToUpperInvariant();
            var host = match.Groups["v6"].Success ? match.Groups["v6"].Value : match.Groups["host"].Value;
            if (!int.TryParse(match.Groups["port"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
            {
                throw ConfigException.InvalidValue(configName, value, $"'{item}' has an invalid port (0 to 65535).");
            }

            if (!securityProtocolMap.TryGetValue(name, out var protocol))
            {
                throw ConfigException.InvalidValue(configName, value, $"No security protocol defined for listener {name} in listener.security.protocol.map.");
            }

            if (result.Any(l => l.Name == name))
            {
                throw ConfigException.InvalidValue(configName, value, $"Each listener must have a different name; {name} is repeated.");
            }

            if (port != 0 && result.Any(l => l.Port == port && string.Equals(l.Host, host, StringComparison.OrdinalIgnoreCase)))
            {
                throw ConfigException.InvalidValue(configName, value, $"Each listener must have a different port; {host}:{port} is repeated.");
            }

            result.Add(new ListenerConfig(name, host, port, protocol));
        }

        return result;
    }

    [GeneratedRegex(@"^(?<name>[A-Za-z0-9_\-.]+)://(?:\[(?<v6>[0-9A-Fa-f:.%A-Za-z]+)\]|(?<host>[0-9A-Za-z\-._%]*)):(?<port>[0-9]+)$", RegexOptions.CultureInvariant)]
    private static partial Regex ListenerPattern();
}
