using System.Net;
using Gregor.Broker;
using Gregor.Broker.Config;
using Gregor.Broker.Dispatch;
using Gregor.Broker.Handlers;
using Gregor.Broker.Metadata;
using Gregor.Broker.Producer;
using Gregor.Broker.Transactions;
using Gregor.Broker.Replica;
using Gregor.Host.Configuration;
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
    private TopicMetadataStore? _metadata;
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
            var config = _config = new BrokerConfig(_properties);
            var settings = BrokerConfigDescriber.ToSettings(config, _properties);

            var logManager = _logManager = new LogManager(
                new LogManagerOptions
                {
                    LogDirs = config.LogDirs,
                    NodeId = config.NodeId,
                    BrokerProperties = _properties,
                    TopicOverrides = TopicOverridesAtStartup(config.LogDirs[0]),
                },
                _timeProvider,
                _loggerFactory);
            logManager.Startup();

            var metadata = _metadata = new TopicMetadataStore(config.LogDirs[0], logManager.ClusterId, config.NodeId, _loggerFactory.CreateLogger<TopicMetadataStore>());
            metadata.Load();
            AdoptOrphanLogs(metadata, logManager, config.NodeId);

            var replicaManager = _replicaManager = new ReplicaManager(config.NodeId, logManager, _properties, _timeProvider, _loggerFactory.CreateLogger<ReplicaManager>());
            foreach (var topic in metadata.Topics)
            {
                replicaManager.ApplyTopic(topic);
            }

            metadata.TopicsChanged += (removed, added) =>
            {
                try
                {
                    // A change (both set) keeps the partitions: ApplyTopic updates configs and adds new ones.
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
            };

            HostLog.TopicsRecovered(_logger, metadata.Topics.Count, string.Join(", ", metadata.Topics.Select(t => t.Name).Order(StringComparer.Ordinal)));

            var producerIds = new ProducerIdManager(config.LogDirs[0]);
            var transactions = _transactions = new TransactionCoordinator(producerIds, replicaManager, _timeProvider,
                _loggerFactory.CreateLogger<TransactionCoordinator>(), config.GetInt("transaction.max.timeout.ms"),
                config.GetInt("transaction.abort.timed.out.transaction.cleanup.interval.ms"),
                new ReplicaTransactionStateLog(replicaManager, metadata, new TopicCreator(metadata, metadata, settings), _timeProvider,
                    config.GetInt("transaction.state.log.num.partitions"), checked((short)config.GetInt("transaction.state.log.replication.factor")),
                    config.GetInt("transaction.state.log.segment.bytes")));
            var broker = _broker = new BrokerContext(settings, metadata, metadata, replicaManager, _timeProvider, _loggerFactory, new BrokerConfigDescriber(config))
            {
                ProducerIds = producerIds,
                Transactions = transactions,
            };

            // Group coordinator (issue 3): load an existing __consumer_offsets before clients arrive.
            broker.Groups.Start();
            var dispatcher = new RequestDispatcher(BrokerHandlers.Create(broker), _loggerFactory.CreateLogger<RequestDispatcher>());
            var socketServer = _socketServer = new SocketServer(config.ToNetworkOptions(), dispatcher, _loggerFactory, _timeProvider);
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
                .Select(l => new BrokerEndpoint(l.Name, l.Host, l.Port))
                .ToArray();
            metadata.SetAliveBrokers([new BrokerNode(config.NodeId, settings.Rack, endpointsForClients)]);

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

    private async Task StopCoreAsync(CancellationToken cancellationToken)
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
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
        _logManager?.Shutdown();
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

    /// <summary>Logs must open with their topic's configs (segment size, ...), which the metadata file holds.</summary>
    private Func<string, IReadOnlyDictionary<string, string>?> TopicOverridesAtStartup(string metadataDirectory)
    {
        var store = new TopicMetadataStore(metadataDirectory, "", 0);
        Dictionary<string, IReadOnlyDictionary<string, string>>? byTopic = null;
        return topic =>
        {
            byTopic ??= LoadOverrides(store);
            return byTopic.GetValueOrDefault(topic);
        };
    }

    private static Dictionary<string, IReadOnlyDictionary<string, string>> LoadOverrides(TopicMetadataStore store)
    {
        try
        {
            return store.Load().ToDictionary(t => t.Name, t => t.Configs, StringComparer.Ordinal);
        }
        catch (InvalidDataException)
        {
            return new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        }
    }

    /// <summary>
    /// Partitions found in the log dirs but not in the metadata file (a crash between creating the
    /// logs and writing the file cannot happen in that order, but a copied-in or older data dir
    /// can) become topics again, keeping the topic id stored in their partition.metadata.
    /// </summary>
    private void AdoptOrphanLogs(TopicMetadataStore metadata, LogManager logManager, int nodeId)
    {
        var orphans = logManager.AllLogs
            .Where(l => !metadata.TryGetTopic(l.TopicPartition.Topic, out _))
            .GroupBy(l => l.TopicPartition.Topic, StringComparer.Ordinal)
            .ToList();
        if (orphans.Count == 0)
        {
            return;
        }

        var adopted = new List<TopicMetadata>();
        foreach (var group in orphans)
        {
            var topicId = group.Select(l => l.TopicId).FirstOrDefault(id => !id.IsZero);
            if (topicId.IsZero)
            {
                topicId = Gregor.Protocol.Uuid.NewRandom();
            }

            var count = group.Max(l => l.TopicPartition.Partition) + 1;
            var partitions = Enumerable.Range(0, count)
                .Select(p => new PartitionMetadata(p, nodeId, 0, 0, [nodeId], [nodeId]))
                .ToArray();
            adopted.Add(new TopicMetadata(group.Key, topicId, partitions, new Dictionary<string, string>(StringComparer.Ordinal)));
            HostLog.TopicAdopted(_logger, group.Key, topicId.ToString(), count);
        }

        metadata.Adopt(adopted);
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

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Gregor broker stopped")]
    public static partial void Stopped(ILogger logger);
}
