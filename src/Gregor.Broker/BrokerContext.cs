using Gregor.Broker.Groups;
using Gregor.Broker.Metadata;
using Gregor.Broker.Producer;
using Gregor.Broker.Replica;
using Gregor.Broker.Transactions;
using Microsoft.Extensions.Logging;

namespace Gregor.Broker;

/// <summary>Everything a handler may use: the metadata view and writer, the replica manager, settings, time and logging.</summary>
public sealed class BrokerContext
{
    public BrokerContext(
        BrokerSettings settings,
        IMetadataView metadata,
        ITopicMetadataWriter topicWriter,
        ReplicaManager replicaManager,
        TimeProvider timeProvider,
        ILoggerFactory loggerFactory,
        IBrokerConfigDescriber? brokerConfigDescriber = null)
    {
        Settings = settings;
        Metadata = metadata;
        TopicWriter = topicWriter;
        ReplicaManager = replicaManager;
        TimeProvider = timeProvider;
        LoggerFactory = loggerFactory;
        BrokerConfigDescriber = brokerConfigDescriber;
        Logger = loggerFactory.CreateLogger("Gregor.Broker");
        TopicCreator = new TopicCreator(metadata, topicWriter, settings, Logger);
        _groups = new Lazy<GroupCoordinatorBinding>(() => new GroupCoordinatorBinding(this));
    }

    // Group coordinator hook (issue 3): created on first use so brokers that never see a group pay nothing.
    private readonly Lazy<GroupCoordinatorBinding> _groups;

    /// <summary>The group coordinator bound to this broker (consumer groups and committed offsets).</summary>
    public GroupCoordinatorBinding Groups => _groups.Value;

    /// <summary>Whether <see cref="Groups"/> was ever created (so shutdown disposes only what exists).</summary>
    public bool HasGroups => _groups.IsValueCreated;

    public BrokerSettings Settings { get; }

    public int NodeId => Settings.NodeId;

    public IMetadataView Metadata { get; }

    public ITopicMetadataWriter TopicWriter { get; }

    public TopicCreator TopicCreator { get; }

    public ReplicaManager ReplicaManager { get; }

    public TimeProvider TimeProvider { get; }

    public ILoggerFactory LoggerFactory { get; }

    public ILogger Logger { get; }

    public IBrokerConfigDescriber? BrokerConfigDescriber { get; }

    /// <summary>Producer ids for InitProducerId (persisted in the first log dir).</summary>
    public required ProducerIdManager ProducerIds { get; init; }

    /// <summary>The transaction coordinator (FindCoordinator key type 1 names this broker).</summary>
    public required TransactionCoordinator Transactions { get; init; }

    /// <summary>In a cluster: asks another broker's transaction coordinator to verify a transactional produce (KIP-890).</summary>
    public RemoteTransactionVerifier? TransactionVerifier { get; init; }
}

/// <summary>One broker config as DescribeConfigs reports it (source and type use Kafka's wire numbers).</summary>
public sealed record DescribedConfig(
    string Name,
    string? Value,
    sbyte Source,
    bool ReadOnly,
    bool IsSensitive,
    sbyte ConfigType,
    IReadOnlyList<(string Name, string? Value, sbyte Source)> Synonyms);

/// <summary>The broker's own configuration for DescribeConfigs (resource type BROKER).</summary>
public interface IBrokerConfigDescriber
{
    IEnumerable<DescribedConfig> Describe(IReadOnlyCollection<string>? names);
}
