using System.Net;
using Gregor.Broker;
using Gregor.Broker.Client;
using Gregor.Broker.Cluster;
using Gregor.Broker.Config;
using Gregor.Broker.Dispatch;
using Gregor.Broker.Handlers;
using Gregor.Broker.Metadata;
using Gregor.Broker.Producer;
using Gregor.Broker.Transactions;
using Gregor.Broker.Replica;
using Gregor.Host.Configuration;
using Gregor.Metadata.Controller;
using Gregor.Metadata.Image;
using Gregor.Metadata.Quorum;
using Gregor.Network;
using Gregor.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gregor.Host;

/// <summary>
/// One Gregor broker in-process: configuration, log manager, topic metadata, replica manager,
/// handlers and the socket server, started and stopped in Kafka's order (logs recovered before
/// the listeners accept; listeners closed before the logs are checkpointed). What `gregor` runs and
/// what tests start on ephemeral ports.
/// </summary>
public sealed class BrokerServer : IAsyncDisposable
{
    private readonly IReadOnlyDictionary<string, string> _properties;
    private readonly ILoggerFactory _loggerFactory;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private BrokerConfig? _config;
    private LogManager? _logManager;
    private static readonly TimeSpan ControlledShutdownTimeout = TimeSpan.FromSeconds(5);
    private IMetadataQuorum? _quorum;
    private QuorumController? _controller;
    private ImageMetadataView? _metadata;
    private NodeClientPool? _clients;
    private ControllerChannel? _channel;
    private BrokerLifecycleManager? _brokerLifecycle;
    private bool _clustered;
    private volatile bool _skipControlledShutdown;
    private ReplicaManager? _replicaManager;
    private TransactionCoordinator? _transactions;
    private SocketServer? _socketServer;
    private BrokerContext? _broker;
    private IReadOnlyList<IPEndPoint> _boundEndpoints = [];
    private IReadOnlyList<ListenerConfig> _advertisedListeners = [];
    private bool _started;
    private bool _stopped;

    public BrokerServer(IReadOnlyDictionary<string, string> properties, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(properties);
        _properties = new Dictionary<string, string>(properties, StringComparer.Ordinal);
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = _loggerFactory.CreateLogger<BrokerServer>();
    }

    /// <summary>Every address the listeners are bound to (real ports after start).</summary>
    public IReadOnlyList<IPEndPoint> BoundEndpoints => _boundEndpoints;

    /// <summary>The first advertised listener as <c>host:port</c>, what clients bootstrap from.</summary>
    public string BootstrapServers => _advertisedListeners.Count == 0
        ? throw new InvalidOperationException("The broker is not started.")
        : FormatHostPort(_advertisedListeners[0]);

    /// <summary>The advertised listeners with real ports (after start).</summary>
    public IReadOnlyList<ListenerConfig> AdvertisedListeners => _advertisedListeners;

    /// <summary>The validated configuration (after start).</summary>
    public BrokerConfig Config => _config ?? throw new InvalidOperationException("The broker is not started.");

    /// <summary>The cluster's topics as this broker knows them (after start).</summary>
    public IMetadataView Metadata => _metadata ?? throw new InvalidOperationException("The broker is not started.");

    /// <summary>The partitions this broker hosts (after start).</summary>
    public ReplicaManager ReplicaManager => _replicaManager ?? throw new InvalidOperationException("The broker is not started.");

    /// <summary>The metadata quorum's controller on this node (after start); active on one node of a cluster.</summary>
    public QuorumController Controller => _controller ?? throw new InvalidOperationException("The broker is not started.");

    /// <summary>This broker's registration and heartbeats (after start).</summary>
    public BrokerLifecycleManager BrokerLifecycle => _brokerLifecycle ?? throw new InvalidOperationException("The broker is not started.");

    /// <summary>The node id from the configuration (after start).</summary>
    public int NodeId => Config.NodeId;

    /// <summary>The log manager (after start).</summary>
    public LogManager LogManager => _logManager ?? throw new InvalidOperationException("The broker is not started.");

    /// <summary>
    /// Validates the configuration (throws <see cref="ConfigException"/>), recovers the logs and
    /// the topic metadata, then binds the listeners. Port 0 listeners are advertised with the port
    /// actually bound.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_started)
            {
                throw new InvalidOperationException("The broker was already started.");
            }

            _started = true;
            var voters = MetadataQuorumFactory.ParseVoters(SplitList(_properties.GetValueOrDefault("controller.quorum.voters")));
            var brokerOnly = !SplitList(_properties.GetValueOrDefault("process.roles") ?? "broker,controller").Contains("controller", StringComparer.OrdinalIgnoreCase);
            var clustered = _clustered = voters.Count > 1 || brokerOnly;
            var properties = clustered ? _properties : WithLoneNodeDefaults(_properties);
            var config = _config = new BrokerConfig(properties);
            var settings = BrokerConfigDescriber.ToSettings(config, properties);
            var clients = _clients = new NodeClientPool($"gregor-broker-{config.NodeId}");
            MetadataLogFetcher? observerSource = null;
            if (brokerOnly)
            {
                // A broker-only node observes the metadata log (DESIGN.md decision 6). It needs the
                // voters too: Gregor's cluster id is derived from them (no format step).
                if (voters.Count == 0)
                {
                    throw new ConfigException("A broker-only node (process.roles=broker) needs controller.quorum.voters (the cluster id is derived from them).");
                }

                var bootstrap = config.GetList("controller.quorum.bootstrap.servers");
                if (bootstrap.Count == 0)
                {
                    throw new ConfigException("A broker-only node (process.roles=broker) needs controller.quorum.bootstrap.servers: the controllers' inter-broker listeners (host:port).");
                }

                observerSource = new MetadataLogFetcher(clients, config.NodeId, MetadataLogFetcher.ParseServers(bootstrap));
            }

            // The metadata log (KRaft's __cluster_metadata) and the controller come first: the
            // logs open with their topics' configs, which the metadata image holds.
            var metadataLogDir = config.GetString("metadata.log.dir") ?? config.LogDirs[0];
            Directory.CreateDirectory(metadataLogDir);
            var quorum = _quorum = MetadataQuorumFactory.Create(
                config.NodeId, config.ProcessRoles, config.ControllerQuorumVoters, metadataLogDir,
                config.GetInt("controller.quorum.election.timeout.ms"), _loggerFactory, observerSource, _timeProvider);
            if (quorum is not ObserverMetadataQuorum)
            {
                await quorum.StartAsync(cancellationToken).ConfigureAwait(false);
            }

            var controller = _controller = new QuorumController(quorum, new QuorumControllerOptions
            {
                DefaultNumPartitions = config.GetInt("num.partitions"),
                DefaultReplicationFactor = config.DefaultReplicationFactor,
                // A lone node's only broker lives in the controller's own process: a late heartbeat
                // there is a scheduling hiccup, never a dead broker, and fencing it would only
                // take every partition offline and bump its leader epoch.
                BrokerSessionTimeout = clustered ? TimeSpan.FromMilliseconds(config.GetInt("broker.session.timeout.ms")) : TimeSpan.MaxValue,
                SnapshotDirectory = Path.Combine(metadataLogDir, MetadataQuorumFactory.MetadataLogDirectoryName, "snapshots"),
                MaxBytesBetweenSnapshots = config.GetLong("metadata.log.max.record.bytes.between.snapshots"),
                AutoLeaderRebalanceEnable = config.GetBoolean("auto.leader.rebalance.enable"),
                LeaderImbalanceCheckInterval = TimeSpan.FromSeconds(config.GetLong("leader.imbalance.check.interval.seconds")),
                UncleanLeaderElectionEnable = config.GetBoolean("unclean.leader.election.enable"),
            }, _timeProvider);
            if (quorum is ObserverMetadataQuorum observer)
            {
                // The image starts from this node's own latest snapshot: fetch only what follows it.
                observer.ResumeAfter(controller.Image.Offset);
                await observer.StartAsync(cancellationToken).ConfigureAwait(false);
            }

            controller.CatchUp();
            controller.StartPeriodicTasks();
            controller.StartLeaderBalancing();
            if (!clustered)
            {
                await ImportTopicMetadataFileAsync(controller, config, cancellationToken).ConfigureAwait(false);
            }

            var logManager = _logManager = new LogManager(
                new LogManagerOptions
                {
                    LogDirs = config.LogDirs,
                    NodeId = config.NodeId,
                    ClusterId = clustered ? ClusterIdFor(voters) : null,
                    BrokerProperties = properties,
                    TopicOverrides = topic => controller.Image.TopicsByName.ContainsKey(topic)
                        ? controller.Image.ConfigsOf(new ConfigResource(ConfigResourceType.Topic, topic))
                        : null,
                },
                _timeProvider,
                _loggerFactory);
            logManager.Startup();
            if (!clustered)
            {
                await AdoptOrphanLogsAsync(controller, logManager, config.NodeId, cancellationToken).ConfigureAwait(false);
            }

            var metadata = _metadata = new ImageMetadataView(controller, logManager.ClusterId);
            var replicaManager = _replicaManager = new ReplicaManager(config.NodeId, logManager, properties, _timeProvider, _loggerFactory.CreateLogger<ReplicaManager>());
            var channel = _channel = new ControllerChannel(controller, clients, config.NodeId, config.InterBrokerListenerName, _timeProvider, _loggerFactory.CreateLogger<ControllerChannel>());
            if (clustered)
            {
                metadata.RemoteCreateTopic = channel.CreateTopicRemotelyAsync;
                replicaManager.EnableReplication(new ReplicationSettings
                {
                    Metadata = metadata,
                    InterBrokerListenerName = config.InterBrokerListenerName,
                    AlterPartition = channel,
                    Clients = clients,
                });
            }

            // Subscribed before the first pass so no change slips between the two; applying a
            // topic twice only updates it.
            metadata.TopicsChanged += (removed, added) => ApplyTopicChange(replicaManager, removed, added);
            foreach (var topic in metadata.Topics)
            {
                ApplyTopicChange(replicaManager, null, topic);
            }

            HostLog.TopicsRecovered(_logger, metadata.Topics.Count, string.Join(", ", metadata.Topics.Select(t => t.Name).Order(StringComparer.Ordinal)));

            // A lone node keeps its producer id block in a file; cluster members get theirs from
            // the controller so ids stay unique across brokers.
            var producerIds = clustered
                ? new ProducerIdManager(() => channel.AllocateProducerIdsAsync(CancellationToken.None).GetAwaiter().GetResult())
                : new ProducerIdManager(config.LogDirs[0]);
            var transactions = _transactions = new TransactionCoordinator(producerIds, replicaManager, _timeProvider,
                _loggerFactory.CreateLogger<TransactionCoordinator>(), config.GetInt("transaction.max.timeout.ms"),
                config.GetInt("transaction.abort.timed.out.transaction.cleanup.interval.ms"),
                new ReplicaTransactionStateLog(replicaManager, metadata, new TopicCreator(metadata, metadata, settings), _timeProvider,
                    config.GetInt("transaction.state.log.num.partitions"), checked((short)config.GetInt("transaction.state.log.replication.factor")),
                    config.GetInt("transaction.state.log.segment.bytes")),
                markerChannel: TxnMarkerChannels.Create(config.NodeId, replicaManager, metadata, config.InterBrokerListenerName, clients, TimeSpan.FromSeconds(30)),
                leaderOf: RemoteTxnMarkerChannel.LeaderFrom(metadata),
                transactionalIdExpirationMs: config.GetInt("transactional.id.expiration.ms"),
                removeExpiredTransactionalIdsIntervalMs: config.GetInt("transaction.remove.expired.transaction.cleanup.interval.ms"),
                clusterNodeId: clustered ? config.NodeId : -1,
                partitionExists: (topic, partition) => metadata.TryGetTopic(topic, out var t) && partition >= 0 && partition < t.Partitions.Count);
            if (clustered)
            {
                // The coordinator follows the leadership of __transaction_state's partitions.
                metadata.TopicsChanged += transactions.OnTransactionStateChanged;
                if (metadata.TryGetTopic(TopicNames.TransactionStateTopicName, out var transactionState))
                {
                    transactions.OnTransactionStateChanged(null, transactionState);
                }
            }
            var broker = _broker = new BrokerContext(settings, metadata, metadata, replicaManager, _timeProvider, _loggerFactory, new BrokerConfigDescriber(config))
            {
                ProducerIds = producerIds,
                Transactions = transactions,
                TransactionVerifier = clustered
                    ? new RemoteTransactionVerifier(metadata, clients, config.InterBrokerListenerName, config.GetInt("transaction.state.log.num.partitions"), TimeSpan.FromSeconds(5))
                    : null,
            };

            // Group coordinator (issue 3): load an existing __consumer_offsets before clients arrive.
            broker.Groups.Start();
            var dispatcher = new RequestDispatcher(BrokerHandlers.Create(broker, channel), _loggerFactory.CreateLogger<RequestDispatcher>());
            // In a cluster the controller listener's address is the Raft transport's (a departure
            // from Kafka, whose controllers speak the Kafka protocol there): not a Kafka listener.
            var networkOptions = config.ToNetworkOptions(excludeControllerListeners: clustered);

            var socketServer = _socketServer = new SocketServer(networkOptions, dispatcher, _loggerFactory, _timeProvider);
            await socketServer.StartAsync(cancellationToken).ConfigureAwait(false);

            var boundPorts = new Dictionary<string, int>(StringComparer.Ordinal);
            var bound = new List<IPEndPoint>();
            foreach (var (name, endpoints) in socketServer.BoundEndpoints)
            {
                bound.AddRange(endpoints);
                if (endpoints.Count > 0)
                {
                    boundPorts[name] = endpoints[0].Port;
                }
            }

            _boundEndpoints = bound;
            _advertisedListeners = config.ResolveAdvertisedListeners(boundPorts);
            var endpointsForClients = _advertisedListeners
                .Where(l => !config.ControllerListenerNames.Contains(l.Name, StringComparer.OrdinalIgnoreCase))
                .Select(l => new Gregor.Broker.Metadata.BrokerEndpoint(l.Name, l.Host, l.Port))
                .ToArray();

            if (clustered && config.IsController)
            {
                // The active controller publishes its Kafka-protocol endpoints (KRaft's
                // RegisterControllerRecord): how brokers reach a controller that is not a broker.
                var registration = new ControllerRegistration(config.NodeId, Gregor.Protocol.Uuid.NewRandom(),
                    [.. ControllerChannel.ToRegistrationEndpoints(endpointsForClients)]);
                quorum.LeaderChanged += _ => RegisterControllerWhenActive(controller, quorum, registration);
                RegisterControllerWhenActive(controller, quorum, registration);
            }

            if (!config.IsBroker)
            {
                // A controller-only node registers no broker: it hosts no partitions and clients
                // never see it in Metadata.
                HostLog.Started(_logger, config.NodeId, logManager.ClusterId,
                    string.Join(", ", _advertisedListeners.Select(l => l.ConnectionString)),
                    string.Join(", ", config.LogDirs.Select(Path.GetFullPath)));
                return;
            }

            // Registered once the listeners are bound (the registration carries their real ports);
            // the lone node waits for its own unfencing, a cluster member gets there in the background.
            var lifecycle = _brokerLifecycle = new BrokerLifecycleManager(
                channel,
                logManager.ClusterId,
                ControllerChannel.ToRegistrationEndpoints(endpointsForClients),
                settings.Rack,
                () => controller.Image.Offset,
                TimeSpan.FromMilliseconds(config.GetInt("broker.heartbeat.interval.ms")),
                _timeProvider,
                _loggerFactory.CreateLogger<BrokerLifecycleManager>());
            lifecycle.Start();
            if (!clustered)
            {
                await lifecycle.Unfenced.WaitAsync(TimeSpan.FromSeconds(30), _timeProvider, cancellationToken).ConfigureAwait(false);
            }

            HostLog.Started(_logger, config.NodeId, logManager.ClusterId,
                string.Join(", ", _advertisedListeners.Select(l => l.ConnectionString)),
                string.Join(", ", config.LogDirs.Select(Path.GetFullPath)));
        }
        catch
        {
            await StopCoreAsync(CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Stops accepting, lets in-flight requests finish, then flushes and checkpoints every log.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await StopCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>
    /// Stops without a controlled shutdown: the cluster sees what it sees of a killed broker (no
    /// goodbye; its leaderships stay until its session expires), though the logs still close cleanly.
    /// </summary>
    public Task StopWithoutControlledShutdownAsync(CancellationToken cancellationToken = default)
    {
        _skipControlledShutdown = true;
        return StopAsync(cancellationToken);
    }

    private void RegisterControllerWhenActive(QuorumController controller, IMetadataQuorum quorum, ControllerRegistration registration)
    {
        if (!quorum.IsLeader)
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            for (var attempt = 0; attempt < 20 && quorum.IsLeader && !_stopped; attempt++)
            {
                try
                {
                    await controller.RegisterControllerAsync(registration, CancellationToken.None).ConfigureAwait(false);
                    return;
                }
                catch (Exception e) when (e is NotControllerException or InvalidOperationException or ObjectDisposedException)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(200), _timeProvider).ConfigureAwait(false);
                }
            }
        });
    }

    private async Task StopCoreAsync(CancellationToken cancellationToken)
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        if (_brokerLifecycle is { } brokerLifecycle)
        {
            // Controlled shutdown (a cluster member only: a lone node has nobody to hand its
            // leaderships to, and a leaderless detour would only bump every leader epoch).
            if (_clustered && !_skipControlledShutdown && Config.GetBoolean("controlled.shutdown.enable"))
            {
                await brokerLifecycle.ControlledShutdownAsync(ControlledShutdownTimeout).ConfigureAwait(false);
            }

            await brokerLifecycle.DisposeAsync().ConfigureAwait(false);
        }

        if (_socketServer is { } socketServer)
        {
            // Parked fetches would hold the graceful stop for up to their max wait: answer them now.
            _replicaManager?.WakeAllWaiters();
            await socketServer.StopAsync(cancellationToken).ConfigureAwait(false);
            await socketServer.DisposeAsync().ConfigureAwait(false);
        }

        _transactions?.Dispose();

        // Group coordinator (issue 3): its timers must not write to logs that are closing.
        if (_broker is { HasGroups: true })
        {
            _broker.Groups.Dispose();
        }

        _replicaManager?.Dispose();
        if (_clients is { } clients)
        {
            await clients.DisposeAsync().ConfigureAwait(false);
        }

        _logManager?.Shutdown();
        if (_controller is { } controller)
        {
            await controller.DisposeAsync().ConfigureAwait(false);
        }

        if (_quorum is { } quorum)
        {
            await quorum.DisposeAsync().ConfigureAwait(false);
        }

        if (_socketServer is not null)
        {
            HostLog.Stopped(_logger);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _lifecycle.Dispose();
    }

    private static string FormatHostPort(ListenerConfig listener) =>
        listener.Host.Contains(':', StringComparison.Ordinal) ? $"[{listener.Host}]:{listener.Port}" : $"{listener.Host}:{listener.Port}";

    private void ApplyTopicChange(ReplicaManager replicaManager, TopicMetadata? removed, TopicMetadata? added)
    {
        try
        {
            // A change (both set) keeps the partitions: ApplyTopic updates configs, leaders, ISRs
            // and epochs, and adds new partitions.
            if (removed is not null && added is null)
            {
                replicaManager.RemoveTopic(removed);
            }

            if (added is not null)
            {
                replicaManager.ApplyTopic(added);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidConfigException)
        {
            // The metadata change stands (as a controller's would); the partitions it could
            // not open answer errors until a restart opens them again.
            HostLog.ApplyTopicFailed(_logger, e, (added ?? removed)!.Name);
        }
    }

    /// <summary>
    /// Kafka's quickstart config sets the internal topics' replication factors to 1 for a lone
    /// node; Gregor's zero-config node does the same unless they are configured.
    /// </summary>
    private static Dictionary<string, string> WithLoneNodeDefaults(IReadOnlyDictionary<string, string> properties)
    {
        var result = new Dictionary<string, string>(properties, StringComparer.Ordinal);
        result.TryAdd("offsets.topic.replication.factor", "1");
        result.TryAdd("transaction.state.log.replication.factor", "1");
        return result;
    }

    private static IReadOnlyList<string> SplitList(string? value) =>
        value is null ? [] : value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>
    /// Kafka formats every node with the same cluster id (<c>kafka-storage format</c>); Gregor's
    /// cluster members derive it from the voter set they share instead, so no formatting step is needed.
    /// </summary>
    private static string ClusterIdFor(IReadOnlyDictionary<int, IPEndPoint> voters)
    {
        var text = string.Join(",", voters.OrderBy(v => v.Key).Select(v => $"{v.Key}@{v.Value}"));
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("gregor-cluster:" + text));
        return Convert.ToBase64String(hash, 0, 16).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    /// <summary>
    /// A lone node from before the metadata log kept its topics in <c>gregor-topics.json</c>: the
    /// first start with an empty metadata log imports them once (ids, partitions, epochs, configs).
    /// </summary>
    private async Task ImportTopicMetadataFileAsync(QuorumController controller, BrokerConfig config, CancellationToken cancellationToken)
    {
        if (controller.Image.Offset >= 0 || !File.Exists(Path.Combine(config.LogDirs[0], TopicMetadataStore.FileName)))
        {
            return;
        }

        IReadOnlyCollection<TopicMetadata> topics;
        try
        {
            topics = new TopicMetadataStore(config.LogDirs[0], "", config.NodeId).Load();
        }
        catch (InvalidDataException e)
        {
            HostLog.TopicFileUnreadable(_logger, e);
            return;
        }

        var imported = await controller.ImportTopicsAsync(
            [.. topics.Select(t => new ImportedTopic(t.Name, t.TopicId,
                [.. t.Partitions.Select(p => new ImportedPartition(p.PartitionIndex, p.Replicas, p.Isr, p.LeaderId, p.LeaderEpoch, p.PartitionEpoch))],
                t.Configs))],
            cancellationToken).ConfigureAwait(false);
        HostLog.TopicFileImported(_logger, imported, TopicMetadataStore.FileName);
    }

    /// <summary>
    /// Partitions found in the log dirs but not in the metadata (a copied-in or older data dir)
    /// become topics again on a lone node, keeping the topic id stored in their partition.metadata.
    /// </summary>
    private async Task AdoptOrphanLogsAsync(QuorumController controller, LogManager logManager, int nodeId, CancellationToken cancellationToken)
    {
        var image = controller.Image;
        var orphans = logManager.AllLogs
            .Where(l => !image.TopicsByName.ContainsKey(l.TopicPartition.Topic))
            .GroupBy(l => l.TopicPartition.Topic, StringComparer.Ordinal)
            .ToList();
        if (orphans.Count == 0)
        {
            return;
        }

        var adopted = new List<ImportedTopic>();
        foreach (var group in orphans)
        {
            var topicId = group.Select(l => l.TopicId).FirstOrDefault(id => !id.IsZero);
            if (topicId.IsZero)
            {
                topicId = Gregor.Protocol.Uuid.NewRandom();
            }

            var count = group.Max(l => l.TopicPartition.Partition) + 1;
            var partitions = Enumerable.Range(0, count)
                .Select(p => new ImportedPartition(p, [nodeId], [nodeId], nodeId, 0, 0))
                .ToArray();
            adopted.Add(new ImportedTopic(group.Key, topicId, partitions, new Dictionary<string, string>(StringComparer.Ordinal)));
            HostLog.TopicAdopted(_logger, group.Key, topicId.ToString(), count);
        }

        await controller.ImportTopicsAsync(adopted, cancellationToken).ConfigureAwait(false);
    }
}


internal static partial class HostLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Gregor broker {NodeId} started (cluster id {ClusterId}); listeners: {Listeners}; log dirs: {LogDirs}")]
    public static partial void Started(ILogger logger, int nodeId, string clusterId, string listeners, string logDirs);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Recovered {Count} topics: {Topics}")]
    public static partial void TopicsRecovered(ILogger logger, int count, string topics);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Adopted topic {Topic} (id {TopicId}, {Partitions} partitions) found in the log dirs but missing from the topic metadata file")]
    public static partial void TopicAdopted(ILogger logger, string topic, string topicId, int partitions);

    [LoggerMessage(EventId = 5, Level = LogLevel.Error, Message = "Could not open or delete the local logs of topic {Topic}")]
    public static partial void ApplyTopicFailed(ILogger logger, Exception exception, string topic);

    [LoggerMessage(EventId = 6, Level = LogLevel.Warning, Message = "The topic metadata file could not be read; its topics are not imported")]
    public static partial void TopicFileUnreadable(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 7, Level = LogLevel.Information, Message = "Imported {Count} topics from {File} into the metadata log")]
    public static partial void TopicFileImported(ILogger logger, int count, string file);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Gregor broker stopped")]
    public static partial void Stopped(ILogger logger);
}
