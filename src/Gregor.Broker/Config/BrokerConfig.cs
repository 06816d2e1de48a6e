using System.Collections.Frozen;
using System.Globalization;
using System.Net;

namespace Gregor.Broker.Config;

/// <summary>
/// The broker's configuration: a typed, validated view of the merged <c>server.properties</c>
/// (file, environment and overrides), with Kafka's names and defaults from
/// <see cref="BrokerConfigDefinitions"/>. Every supplied value is a STATIC_BROKER_CONFIG; unset
/// keys report their default. Unknown keys are kept (see <see cref="GetRaw"/>) and otherwise ignored,
/// as Kafka does.
/// </summary>
public sealed partial class BrokerConfig
{
    private readonly FrozenDictionary<string, string> _supplied;
    private readonly Dictionary<string, (string? Value, ConfigSource Source)> _effective = new(StringComparer.Ordinal);
    private readonly Func<string> _canonicalHostName;

    /// <param name="properties">The supplied properties (already merged by precedence).</param>
    /// <param name="canonicalHostName">
    /// The machine's canonical host name, advertised for listeners bound to every interface
    /// (Kafka's <c>InetAddress.getLocalHost.getCanonicalHostName</c>); injectable for tests.
    /// </param>
    public BrokerConfig(IReadOnlyDictionary<string, string> properties, Func<string>? canonicalHostName = null)
    {
        ArgumentNullException.ThrowIfNull(properties);
        _supplied = properties.ToFrozenDictionary(StringComparer.Ordinal);
        _canonicalHostName = canonicalHostName ?? DefaultCanonicalHostName;

        foreach (var definition in BrokerConfigDefinitions.All)
        {
            var (value, source) = Resolve(definition);
            Validate(definition, value);
            _effective[definition.Name] = (value, source);
        }

        NodeId = ResolveNodeId();
        ProcessRoles = GetList("process.roles");
        ControllerQuorumVoters = GetList("controller.quorum.voters");
        ControllerListenerNames = GetList("controller.listener.names").Select(n => n.ToUpperInvariant()).ToArray();
        ListenerSecurityProtocolMap = ParseSecurityProtocolMap();
        Listeners = ListenerConfig.ParseList("listeners", GetString("listeners"), ListenerSecurityProtocolMap);
        if (Listeners.Count == 0)
        {
            throw ConfigException.InvalidValue("listeners", GetString("listeners"), "At least one listener is required.");
        }

        AdvertisedListeners = ResolveAdvertisedListeners();
        InterBrokerListenerName = ResolveInterBrokerListenerName();
        LogDirs = GetList("log.dirs");
        if (LogDirs.Count == 0)
        {
            throw ConfigException.InvalidValue("log.dirs", GetString("log.dirs"), "At least one log directory is required.");
        }

        ValidateCrossFields();
    }

    /// <summary>All defaults: Gregor's zero-config single node.</summary>
    public static BrokerConfig Default { get; } = new(new Dictionary<string, string>());

    /// <summary>The properties as supplied, known or not.</summary>
    public IReadOnlyDictionary<string, string> Supplied => _supplied;

    /// <summary>Supplied keys that are not broker configs Gregor knows (Kafka logs and ignores them).</summary>
    public IEnumerable<string> UnknownKeys => _supplied.Keys.Where(k => !BrokerConfigDefinitions.IsKnown(k)).Order(StringComparer.Ordinal);

    public int NodeId { get; }

    public IReadOnlyList<string> ProcessRoles { get; }

    public bool IsBroker => ProcessRoles.Contains("broker", StringComparer.OrdinalIgnoreCase);

    public bool IsController => ProcessRoles.Contains("controller", StringComparer.OrdinalIgnoreCase);

    public IReadOnlyList<string> ControllerQuorumVoters { get; }

    public IReadOnlyList<string> ControllerListenerNames { get; }

    public IReadOnlyDictionary<string, SecurityProtocol> ListenerSecurityProtocolMap { get; }

    public IReadOnlyList<ListenerConfig> Listeners { get; }

    /// <summary>
    /// What clients are told to connect to: <c>advertised.listeners</c>, or the (non-controller)
    /// listeners; an empty host is replaced by the canonical host name. Port 0 stays 0 here: use
    /// <see cref="ResolveAdvertisedListeners(IReadOnlyDictionary{string,int})"/> once bound.
    /// </summary>
    public IReadOnlyList<ListenerConfig> AdvertisedListeners { get; }

    public string InterBrokerListenerName { get; }

    public IReadOnlyList<string> LogDirs { get; }

    public int NumPartitions => GetInt("num.partitions");

    public short DefaultReplicationFactor => checked((short)GetInt("default.replication.factor"));

    public int MinInsyncReplicas => GetInt("min.insync.replicas");

    public bool AutoCreateTopicsEnable => GetBoolean("auto.create.topics.enable");

    public bool DeleteTopicEnable => GetBoolean("delete.topic.enable");

    public bool UncleanLeaderElectionEnable => GetBoolean("unclean.leader.election.enable");

    public int MessageMaxBytes => GetInt("message.max.bytes");

    public int SocketRequestMaxBytes => GetInt("socket.request.max.bytes");

    public int SocketSendBufferBytes => GetInt("socket.send.buffer.bytes");

    public int SocketReceiveBufferBytes => GetInt("socket.receive.buffer.bytes");

    public long ConnectionsMaxIdleMs => GetLong("connections.max.idle.ms");

    public int NumNetworkThreads => GetInt("num.network.threads");

    public int NumIoThreads => GetInt("num.io.threads");

    public int LogSegmentBytes => GetInt("log.segment.bytes");

    /// <summary><c>log.roll.ms</c>, or <c>log.roll.hours</c> in milliseconds.</summary>
    public long LogRollMs => GetLong("log.roll.ms");

    public long LogRollJitterMs => GetLong("log.roll.jitter.ms");

    /// <summary><c>log.retention.ms</c>, else minutes, else hours; -1 (any negative) means unlimited.</summary>
    public long LogRetentionMs => GetLong("log.retention.ms");

    public long LogRetentionBytes => GetLong("log.retention.bytes");

    public long LogRetentionCheckIntervalMs => GetLong("log.retention.check.interval.ms");

    public long LogFlushIntervalMessages => GetLong("log.flush.interval.messages");

    public long LogFlushIntervalMs => GetLong("log.flush.interval.ms");

    public int LogFlushOffsetCheckpointIntervalMs => GetInt("log.flush.offset.checkpoint.interval.ms");

    public int LogIndexSizeMaxBytes => GetInt("log.index.size.max.bytes");

    public int LogIndexIntervalBytes => GetInt("log.index.interval.bytes");

    public string LogMessageTimestampType => GetString("log.message.timestamp.type")!;

    public IReadOnlyList<string> LogCleanupPolicy => GetList("log.cleanup.policy");

    public string CompressionType => GetString("compression.type")!;

    public int OffsetsTopicNumPartitions => GetInt("offsets.topic.num.partitions");

    public short OffsetsTopicReplicationFactor => GetShort("offsets.topic.replication.factor");

    public int TransactionStateLogNumPartitions => GetInt("transaction.state.log.num.partitions");

    public short TransactionStateLogReplicationFactor => GetShort("transaction.state.log.replication.factor");

    public int TransactionStateLogMinIsr => GetInt("transaction.state.log.min.isr");

    public int GroupInitialRebalanceDelayMs => GetInt("group.initial.rebalance.delay.ms");

    public int GroupMinSessionTimeoutMs => GetInt("group.min.session.timeout.ms");

    public int GroupMaxSessionTimeoutMs => GetInt("group.max.session.timeout.ms");

    public long ReplicaLagTimeMaxMs => GetLong("replica.lag.time.max.ms");

    public int BrokerSessionTimeoutMs => GetInt("broker.session.timeout.ms");

    public int BrokerHeartbeatIntervalMs => GetInt("broker.heartbeat.interval.ms");

    /// <summary>The supplied value of any key (known or not), else a known key's effective value, else null.</summary>
    public string? GetRaw(string name) =>
        _supplied.TryGetValue(name, out var value) ? value
        : _effective.TryGetValue(name, out var effective) ? effective.Value
        : null;

    public string? GetString(string name) => Effective(name).Value?.Trim();

    public int GetInt(string name) => int.Parse(Required(name), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);

    public short GetShort(string name) => short.Parse(Required(name), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);

    public long GetLong(string name) => long.Parse(Required(name), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);

    public double GetDouble(string name) => double.Parse(Required(name), NumberStyles.Float, CultureInfo.InvariantCulture);

    public bool GetBoolean(string name) => bool.Parse(Required(name));

    public IReadOnlyList<string> GetList(string name) => SplitList(Effective(name).Value);

    /// <summary>Advertised listeners with port 0 replaced by the port each listener was bound to.</summary>
    public IReadOnlyList<ListenerConfig> ResolveAdvertisedListeners(IReadOnlyDictionary<string, int> boundPorts) =>
        AdvertisedListeners
            .Select(l => l.Port == 0 && boundPorts.TryGetValue(l.Name, out var port) ? l with { Port = port } : l)
            .ToArray();

    private (string? Value, ConfigSource Source) Effective(string name) =>
        _effective.TryGetValue(name, out var effective)
            ? effective
            : throw new ArgumentException($"'{name}' is not a broker config Gregor knows.", nameof(name));

    private string Required(string name) =>
        Effective(name).Value?.Trim() ?? throw new ConfigException($"Missing required configuration \"{name}\" which has no default value.");

    private (string? Value, ConfigSource Source) Resolve(BrokerConfigDefinition definition)
    {
        if (_supplied.TryGetValue(definition.Name, out var supplied))
        {
            return (supplied, ConfigSource.StaticBrokerConfig);
        }

        // A supplied synonym (log.retention.hours for log.retention.ms) beats any default.
        foreach (var synonym in definition.Synonyms)
        {
            if (_supplied.TryGetValue(synonym.Name, out var value))
            {
                return (Convert(definition, synonym, value), ConfigSource.StaticBrokerConfig);
            }
        }

        if (definition.DefaultValue is not null)
        {
            return (definition.DefaultValue, ConfigSource.DefaultConfig);
        }

        foreach (var synonym in definition.Synonyms)
        {
            var synonymDefault = BrokerConfigDefinitions.ByName[synonym.Name].DefaultValue;
            if (synonymDefault is not null)
            {
                return (Convert(definition, synonym, synonymDefault), ConfigSource.DefaultConfig);
            }
        }

        return (null, ConfigSource.DefaultConfig);
    }

    private static string Convert(BrokerConfigDefinition definition, ConfigSynonymDefinition synonym, string value)
    {
        if (synonym.Multiplier == 1)
        {
            return value;
        }

        if (!long.TryParse(value.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
        {
            throw ConfigException.InvalidValue(synonym.Name, value, "Not a number of type INT");
        }

        // Kafka: a negative retention in any unit means unlimited (-1).
        long converted;
        try
        {
            converted = number < 0 ? -1 : checked(number * synonym.Multiplier);
        }
        catch (OverflowException)
        {
            throw ConfigException.InvalidValue(synonym.Name, value, $"Too large to express {definition.Name} in milliseconds.");
        }

        return BrokerConfigDefinitions.Format(converted);
    }

    private static void Validate(BrokerConfigDefinition definition, string? raw)
    {
        if (raw is null)
        {
            return;
        }

        var value = raw.Trim();
        var name = definition.Name;
        switch (definition.Type)
        {
            case ConfigType.Int or ConfigType.Short or ConfigType.Long:
                {
                    var (typeName, min, max) = definition.Type switch
                    {
                        ConfigType.Int => ("INT", (long)int.MinValue, (long)int.MaxValue),
                        ConfigType.Short => ("SHORT", (long)short.MinValue, (long)short.MaxValue),
                        _ => ("LONG", long.MinValue, long.MaxValue),
                    };
                    if (!long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) || number < min || number > max)
                    {
                        throw ConfigException.InvalidValue(name, raw, $"Not a number of type {typeName}");
                    }

                    if (number < definition.Min)
                    {
                        throw ConfigException.InvalidValue(name, raw, $"Value must be at least {definition.Min}");
                    }

                    if (number > definition.Max)
                    {
                        throw ConfigException.InvalidValue(name, raw, $"Value must be no more than {definition.Max}");
                    }

                    break;
                }

            case ConfigType.Double:
                if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) || double.IsNaN(d))
                {
                    throw ConfigException.InvalidValue(name, raw, "Not a number of type DOUBLE");
                }

                if (d < definition.MinDouble || d > definition.MaxDouble)
                {
                    throw ConfigException.InvalidValue(name, raw, $"Value must be between {definition.MinDouble} and {definition.MaxDouble}");
                }

                break;

            case ConfigType.Boolean:
                if (!bool.TryParse(value, out _))
                {
                    throw ConfigException.InvalidValue(name, raw, "Expected value to be either true or false");
                }

                break;

            case ConfigType.String when definition.ValidValues is { } valid:
                if (!valid.Contains(value, StringComparer.OrdinalIgnoreCase))
                {
                    throw ConfigException.InvalidValue(name, raw, $"String must be one of: {string.Join(", ", valid)}");
                }

                break;

            case ConfigType.List when definition.ValidValues is { } valid:
                foreach (var item in SplitList(value))
                {
                    if (!valid.Contains(item, StringComparer.OrdinalIgnoreCase))
                    {
                        throw ConfigException.InvalidValue(name, raw, $"Each item must be one of: {string.Join(", ", valid)}");
                    }
                }

                break;
        }
    }

    private static IReadOnlyList<string> SplitList(string? value) =>
        string.IsNullOrWhiteSpace(value)
            ? []
            : value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    private int ResolveNodeId()
    {
        // KRaft: broker.id is an alias of node.id; if both are set they must agree.
        var nodeIdSupplied = _supplied.ContainsKey("node.id");
        var brokerId = GetString("broker.id");
        if (brokerId is null)
        {
            return GetInt("node.id");
        }

        var brokerIdValue = GetInt("broker.id");
        if (nodeIdSupplied && GetInt("node.id") != brokerIdValue)
        {
            throw ConfigException.InvalidValue("broker.id", brokerId, $"If both broker.id and node.id are set they must be equal (node.id is {GetInt("node.id")}).");
        }

        if (brokerIdValue < 0)
        {
            throw ConfigException.InvalidValue("broker.id", brokerId, "Value must be at least 0");
        }

        return brokerIdValue;
    }

    private IReadOnlyDictionary<string, SecurityProtocol> ParseSecurityProtocolMap()
    {
        const string name = "listener.security.protocol.map";
        var raw = GetString(name);
        var map = new Dictionary<string, SecurityProtocol>(StringComparer.Ordinal);
        foreach (var entry in SplitList(raw))
        {
            var colon = entry.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || colon == entry.Length - 1)
            {
                throw ConfigException.InvalidValue(name, raw, $"'{entry}' is not of the form LISTENER_NAME:SECURITY_PROTOCOL.");
            }

            var listenerName = entry[..colon].Trim().ToUpperInvariant();
            if (!ListenerConfig.TryParseSecurityProtocol(entry[(colon + 1)..], out var protocol))
            {
                throw ConfigException.InvalidValue(name, raw, $"Unknown security protocol '{entry[(colon + 1)..]}' (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL).");
            }

            if (!map.TryAdd(listenerName, protocol))
            {
                throw ConfigException.InvalidValue(name, raw, $"Listener {listenerName} is mapped twice.");
            }
        }

        // Kafka: when the map is left at its default, controller listeners not in it use PLAINTEXT.
        if (!_supplied.ContainsKey(name))
        {
            foreach (var controllerListener in ControllerListenerNames)
            {
                map.TryAdd(controllerListener, SecurityProtocol.Plaintext);
            }
        }

        return map;
    }

    private IReadOnlyList<ListenerConfig> ResolveAdvertisedListeners()
    {
        const string name = "advertised.listeners";
        var raw = GetString(name);
        IReadOnlyList<ListenerConfig> advertised;
        if (raw is null)
        {
            // Brokers advertise their listeners except the controller's (Kafka does the same).
            advertised = Listeners.Where(l => !ControllerListenerNames.Contains(l.Name)).ToArray();
        }
        else
        {
            advertised = ListenerConfig.ParseList(name, raw, ListenerSecurityProtocolMap);
            foreach (var listener in advertised)
            {
                if (IsWildcard(listener.Host))
                {
                    throw ConfigException.InvalidValue(name, raw, $"advertised.listeners cannot use the nonroutable meta-address {listener.Host}. Use a routable IP address.");
                }

                if (!Listeners.Any(l => l.Name == listener.Name))
                {
                    throw ConfigException.InvalidValue(name, raw, $"Listener {listener.Name} is advertised but not in listeners.");
                }
            }
        }

        // Listeners on every interface (empty host, or 0.0.0.0 / :: when advertised.listeners is
        // unset) are advertised under the machine's canonical name.
        return advertised
            .Select(l => l.Host.Length == 0 || IsWildcard(l.Host) ? l with { Host = _canonicalHostName() } : l)
            .ToArray();
    }

    private string ResolveInterBrokerListenerName()
    {
        const string name = "inter.broker.listener.name";
        var explicitName = GetString(name);
        if (explicitName is not null)
        {
            var normalised = explicitName.ToUpperInvariant();
            if (!AdvertisedListeners.Any(l => l.Name == normalised) && IsBroker)
            {
                throw ConfigException.InvalidValue(name, explicitName, "inter.broker.listener.name must be a listener name defined in advertised.listeners.");
            }

            if (_supplied.ContainsKey("security.inter.broker.protocol"))
            {
                throw new ConfigException("Only one of inter.broker.listener.name and security.inter.broker.protocol should be set.");
            }

            return normalised;
        }

        // Kafka: the listener named after security.inter.broker.protocol (PLAINTEXT by default).
        // Gregor falls back to the first advertised listener so a single renamed listener works.
        var byProtocol = GetString("security.inter.broker.protocol")!.ToUpperInvariant();
        return AdvertisedListeners.FirstOrDefault(l => l.Name == byProtocol)?.Name
            ?? AdvertisedListeners.FirstOrDefault()?.Name
            ?? byProtocol;
    }

    private void ValidateCrossFields()
    {
        if (ProcessRoles.Count == 0)
        {
            throw ConfigException.InvalidValue("process.roles", GetString("process.roles"), "Gregor runs in KRaft mode only: process.roles must contain broker, controller or both.");
        }

        if (ProcessRoles.Distinct(StringComparer.OrdinalIgnoreCase).Count() != ProcessRoles.Count)
        {
            throw ConfigException.InvalidValue("process.roles", GetString("process.roles"), "Duplicate role names found.");
        }

        if (ControllerListenerNames.Contains(InterBrokerListenerName) && IsBroker)
        {
            throw ConfigException.InvalidValue("inter.broker.listener.name", InterBrokerListenerName, "The inter-broker listener cannot be a controller listener.");
        }

        if (!IsController && ControllerListenerNames.Any(n => Listeners.Any(l => l.Name == n)))
        {
            throw new ConfigException("controller.listener.names must not be among listeners when process.roles does not contain controller.");
        }

        foreach (var listener in Listeners)
        {
            if (listener.SecurityProtocol != SecurityProtocol.Plaintext)
            {
                throw ConfigException.InvalidValue("listeners", GetString("listeners"), $"Listener {listener.Name} uses {ListenerConfig.SecurityProtocolName(listener.SecurityProtocol)}; Gregor supports only PLAINTEXT listeners so far.");
            }
        }

        if (GroupMinSessionTimeoutMs > GroupMaxSessionTimeoutMs)
        {
            throw ConfigException.InvalidValue("group.min.session.timeout.ms", GetString("group.min.session.timeout.ms"), "Must not exceed group.max.session.timeout.ms.");
        }
    }

    private static bool IsWildcard(string host) =>
        IPAddress.TryParse(host, out var address) && (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any));

    private static string DefaultCanonicalHostName()
    {
        var name = Dns.GetHostName();
        try
        {
            return Dns.GetHostEntry(name).HostName;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return name;
        }
    }
}
