using Gregor.Broker.Client;
using Gregor.Broker.Metadata;
using Gregor.Broker.Replica;
using Gregor.Metadata.Controller;
using Gregor.Protocol;
using Gregor.Protocol.Messages;
using Microsoft.Extensions.Logging;
using MetadataBrokerEndpoint = Gregor.Metadata.Image.BrokerEndpoint;

namespace Gregor.Broker.Cluster;

/// <summary>
/// This broker's way to the active controller. Every node of a Gregor cluster runs both roles
/// (combined mode), so the active controller is a broker too: its address is its own broker
/// registration's endpoint on the inter-broker listener, and the controller RPCs (BrokerRegistration,
/// BrokerHeartbeat, AlterPartition, AllocateProducerIds) and forwarded admin requests ride that
/// listener. When this node is the active controller the calls stay in-process.
/// </summary>
public sealed class ControllerChannel : IAlterPartitionChannel
{
    private const string Purpose = "controller";
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan RetryBackoff = TimeSpan.FromMilliseconds(100);

    private readonly NodeClientPool _clients;
    private readonly string _interBrokerListenerName;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public ControllerChannel(QuorumController controller, NodeClientPool clients, int nodeId, string interBrokerListenerName, TimeProvider time, ILogger logger)
    {
        Controller = controller;
        _clients = clients;
        NodeId = nodeId;
        _interBrokerListenerName = interBrokerListenerName;
        _time = time;
        _logger = logger;
        MetadataLog = new MetadataLogServer(controller, time);
    }

    public QuorumController Controller { get; }

    /// <summary>Serves the committed metadata log to broker-only observers (Fetch/FetchSnapshot on __cluster_metadata).</summary>
    public MetadataLogServer MetadataLog { get; }

    public int NodeId { get; }

    /// <summary>Whether this node is the active controller now.</summary>
    public bool IsActive => Controller.IsActive;

    /// <summary>This broker's epoch from its latest registration (-1 before), sent with AlterPartition.</summary>
    public long BrokerEpoch { get; set; } = -1;

    /// <summary>The active controller's inter-broker endpoint, once it is elected and registered.</summary>
    public bool TryGetActiveController(out int nodeId, out string host, out int port)
    {
        host = string.Empty;
        port = -1;
        nodeId = Controller.ActiveControllerId ?? -1;
        var image = Controller.Image;

        // A controller-only node is reached through its registered controller endpoints; a
        // combined node through its broker registration as well.
        var endpoints = nodeId < 0 ? default
            : image.Controllers.TryGetValue(nodeId, out var controller) && controller.Endpoints.Length > 0 ? controller.Endpoints
            : image.Brokers.TryGetValue(nodeId, out var registration) ? registration.Endpoints
            : default;
        if (endpoints.IsDefaultOrEmpty)
        {
            return false;
        }

        var endpoint = endpoints.FirstOrDefault(e => string.Equals(e.Name, _interBrokerListenerName, StringComparison.OrdinalIgnoreCase))
            ?? endpoints[0];
        host = endpoint.Host;
        port = endpoint.Port;
        return true;
    }

    /// <summary>
    /// Sends a request to the active controller (another node). Throws
    /// <see cref="ControllerNotAvailableException"/> when no controller is known or reachable.
    /// </summary>
    public async Task<TResponse> SendAsync<TResponse>(IRequestMessage request, short version, CancellationToken cancellationToken)
        where TResponse : class, IResponseMessage
    {
        if (!TryGetActiveController(out var controllerId, out var host, out var port) || controllerId == NodeId)
        {
            throw new ControllerNotAvailableException("No active controller is known yet.");
        }

        try
        {
            return await _clients.SendAsync<TResponse>(host, port, Purpose, request, version, RequestTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (NodeConnectionException e)
        {
            throw new ControllerNotAvailableException($"The controller {controllerId} at {host}:{port} did not answer: {e.Message}", e);
        }
    }

    /// <summary>
    /// Forwards a client's admin request to the active controller when this node is not it
    /// (Kafka's brokers forward to the controller as well). Returns null when the request is to be
    /// handled here: this node is the active controller, or no other controller can be reached
    /// (the local controller then answers NOT_CONTROLLER and the client retries).
    /// </summary>
    public async Task<TResponse?> TryForwardAsync<TResponse>(IRequestMessage request, short version, CancellationToken cancellationToken)
        where TResponse : class, IResponseMessage
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            if (IsActive)
            {
                return null;
            }

            try
            {
                return await SendAsync<TResponse>(request, version, cancellationToken).ConfigureAwait(false);
            }
            catch (ControllerNotAvailableException e)
            {
                ClusterLog.ForwardFailed(_logger, request.ApiKey.ToString(), e.Message);
                await Task.Delay(RetryBackoff * (attempt + 1), _time, cancellationToken).ConfigureAwait(false);
            }
        }

        return null;
    }

    /// <summary>Waits (bounded) until this node's metadata image satisfies <paramref name="condition"/>.</summary>
    public async Task<bool> WaitForMetadataAsync(Func<Gregor.Metadata.Image.MetadataImage, bool> condition, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        var deadline = _time.GetTimestamp() + (long)((timeout ?? TimeSpan.FromSeconds(3)).TotalSeconds * _time.TimestampFrequency);
        while (!condition(Controller.Image))
        {
            if (_time.GetTimestamp() >= deadline)
            {
                return false;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(10), _time, cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    public async Task<BrokerRegistrationResult> RegisterAsync(int brokerId, string clusterId, BrokerRegistrationRequestData data, CancellationToken cancellationToken)
    {
        if (IsActive)
        {
            return await Controller.RegisterBrokerAsync(data, cancellationToken).ConfigureAwait(false);
        }

        var request = new BrokerRegistrationRequest
        {
            BrokerId = brokerId,
            ClusterId = clusterId,
            IncarnationId = data.IncarnationId,
            Rack = data.Rack,
            Listeners = [.. data.Listeners.Select(l => new BrokerRegistrationRequest.Listener
            {
                Name = l.Name, Host = l.Host, Port = (ushort)l.Port, SecurityProtocol = l.SecurityProtocol,
            })],
        };
        try
        {
            var response = await SendAsync<BrokerRegistrationResponse>(request, 3, cancellationToken).ConfigureAwait(false);
            return new BrokerRegistrationResult((ErrorCode)response.ErrorCode, response.BrokerEpoch);
        }
        catch (ControllerNotAvailableException)
        {
            return new BrokerRegistrationResult(ErrorCode.NotController, -1);
        }
    }

    public async Task<BrokerHeartbeatResult> HeartbeatAsync(
        int brokerId, long brokerEpoch, long currentMetadataOffset, bool wantFence, bool wantShutDown, CancellationToken cancellationToken)
    {
        if (IsActive)
        {
            return await Controller.BrokerHeartbeatAsync(brokerId, brokerEpoch, currentMetadataOffset, wantFence, wantShutDown, cancellationToken).ConfigureAwait(false);
        }

        var request = new BrokerHeartbeatRequest
        {
            BrokerId = brokerId,
            BrokerEpoch = brokerEpoch,
            CurrentMetadataOffset = currentMetadataOffset,
            WantFence = wantFence,
            WantShutDown = wantShutDown,
        };
        try
        {
            var response = await SendAsync<BrokerHeartbeatResponse>(request, 1, cancellationToken).ConfigureAwait(false);
            return new BrokerHeartbeatResult((ErrorCode)response.ErrorCode, response.IsCaughtUp, response.IsFenced, response.ShouldShutDown);
        }
        catch (ControllerNotAvailableException)
        {
            return new BrokerHeartbeatResult(ErrorCode.NotController, false, true, false);
        }
    }

    /// <summary>
    /// AlterPartition for this broker's partitions: local when this node is the active controller,
    /// AlterPartition v3 (topic ids) otherwise; NOT_CONTROLLER and unreachable controllers are retried
    /// a few times before the error is handed back.
    /// </summary>
    public async Task<AlterPartitionOutcome> AlterPartitionAsync(
        string topic, Uuid topicId, int partitionIndex, int leaderEpoch, int partitionEpoch, IReadOnlyList<int> newIsr, CancellationToken cancellationToken)
    {
        var outcome = new AlterPartitionOutcome(ErrorCode.NotController, null);
        for (var attempt = 0; attempt < 5; attempt++)
        {
            outcome = await AlterPartitionOnceAsync(topic, topicId, partitionIndex, leaderEpoch, partitionEpoch, newIsr, cancellationToken).ConfigureAwait(false);
            if (outcome.ErrorCode != ErrorCode.NotController)
            {
                return outcome;
            }

            await Task.Delay(RetryBackoff * (attempt + 1), _time, cancellationToken).ConfigureAwait(false);
        }

        return outcome;
    }

    private async Task<AlterPartitionOutcome> AlterPartitionOnceAsync(
        string topic, Uuid topicId, int partitionIndex, int leaderEpoch, int partitionEpoch, IReadOnlyList<int> newIsr, CancellationToken cancellationToken)
    {
        if (IsActive)
        {
            var result = await Controller.AlterPartitionAsync(NodeId, BrokerEpoch, topicId, partitionIndex, leaderEpoch, partitionEpoch, newIsr, cancellationToken).ConfigureAwait(false);
            return new AlterPartitionOutcome(result.ErrorCode, result.Partition is { } p
                ? new PartitionMetadata(partitionIndex, p.Leader, p.LeaderEpoch, p.PartitionEpoch, p.Replicas.ToArray(), p.Isr.ToArray())
                : null);
        }

        var request = new AlterPartitionRequest
        {
            BrokerId = NodeId,
            BrokerEpoch = BrokerEpoch,
            Topics =
            [
                new AlterPartitionRequest.TopicData
                {
                    TopicName = topic,
                    TopicId = topicId,
                    Partitions =
                    [
                        new AlterPartitionRequest.PartitionData
                        {
                            PartitionIndex = partitionIndex,
                            LeaderEpoch = leaderEpoch,
                            PartitionEpoch = partitionEpoch,
                            NewIsrWithEpochs = [.. newIsr.Select(b => new AlterPartitionRequest.BrokerState { BrokerId = b, BrokerEpoch = -1 })],
                        },
                    ],
                },
            ],
        };
        AlterPartitionResponse response;
        try
        {
            response = await SendAsync<AlterPartitionResponse>(request, 3, cancellationToken).ConfigureAwait(false);
        }
        catch (ControllerNotAvailableException)
        {
            return new AlterPartitionOutcome(ErrorCode.NotController, null);
        }

        if (response.ErrorCode != 0)
        {
            return new AlterPartitionOutcome((ErrorCode)response.ErrorCode, null);
        }

        var data = response.Topics.SelectMany(t => t.Partitions).FirstOrDefault(p => p.PartitionIndex == partitionIndex);
        if (data is null)
        {
            return new AlterPartitionOutcome(ErrorCode.UnknownServerError, null);
        }

        return data.ErrorCode != 0
            ? new AlterPartitionOutcome((ErrorCode)data.ErrorCode, null)
            : new AlterPartitionOutcome(ErrorCode.None, new PartitionMetadata(partitionIndex, data.LeaderId, data.LeaderEpoch, data.PartitionEpoch,
                Controller.Image.TryGetTopic(topicId, out var t) && t.Partitions.TryGetValue(partitionIndex, out var current) ? current.Replicas.ToArray() : data.Isr.ToArray(),
                data.Isr.ToArray()));
    }

    /// <summary>
    /// The next block of producer ids for this broker from the active controller (retried while
    /// the controller moves); throws <see cref="ControllerNotAvailableException"/> when none answers.
    /// </summary>
    public async Task<(long Start, int Size)> AllocateProducerIdsAsync(CancellationToken cancellationToken)
    {
        var error = ErrorCode.NotController;
        for (var attempt = 0; attempt < 10; attempt++)
        {
            if (IsActive)
            {
                var block = await Controller.AllocateProducerIdsAsync(NodeId, BrokerEpoch, cancellationToken).ConfigureAwait(false);
                if (block.ErrorCode == ErrorCode.None)
                {
                    return (block.FirstProducerId, block.Size);
                }

                error = block.ErrorCode;
            }
            else
            {
                try
                {
                    var response = await SendAsync<AllocateProducerIdsResponse>(
                        new AllocateProducerIdsRequest { BrokerId = NodeId, BrokerEpoch = BrokerEpoch }, 0, cancellationToken).ConfigureAwait(false);
                    if (response.ErrorCode == 0)
                    {
                        return (response.ProducerIdStart, response.ProducerIdLen);
                    }

                    error = (ErrorCode)response.ErrorCode;
                }
                catch (ControllerNotAvailableException)
                {
                    error = ErrorCode.NotController;
                }
            }

            await Task.Delay(RetryBackoff * (attempt + 1), _time, cancellationToken).ConfigureAwait(false);
        }

        throw new ControllerNotAvailableException($"No producer id block from the controller: {error}.");
    }

    /// <summary>Creates a topic through the active controller (another node) with explicit assignments.</summary>
    public async Task<(ErrorCode ErrorCode, string? Message, Uuid TopicId)> CreateTopicRemotelyAsync(
        string name, IReadOnlyList<IReadOnlyList<int>> replicaAssignment, IReadOnlyDictionary<string, string> configs, CancellationToken cancellationToken)
    {
        var topic = new CreateTopicsRequest.CreatableTopic { Name = name, NumPartitions = -1, ReplicationFactor = -1 };
        for (var p = 0; p < replicaAssignment.Count; p++)
        {
            topic.Assignments.Add(new CreateTopicsRequest.CreatableReplicaAssignment { PartitionIndex = p, BrokerIds = [.. replicaAssignment[p]] });
        }

        foreach (var (key, value) in configs)
        {
            topic.Configs.Add(new CreateTopicsRequest.CreatableTopicConfig { Name = key, Value = value });
        }

        var request = new CreateTopicsRequest { Topics = [topic], timeoutMs = (int)RequestTimeout.TotalMilliseconds };
        try
        {
            var response = await SendAsync<CreateTopicsResponse>(request, 7, cancellationToken).ConfigureAwait(false);
            var result = response.Topics.FirstOrDefault();
            return result is null
                ? (ErrorCode.UnknownServerError, "The controller returned no result.", Uuid.Zero)
                : ((ErrorCode)result.ErrorCode, result.ErrorMessage, result.TopicId);
        }
        catch (ControllerNotAvailableException e)
        {
            return (ErrorCode.NotController, e.Message, Uuid.Zero);
        }
    }

    /// <summary>A registration's endpoints in the metadata record's shape.</summary>
    public static IReadOnlyList<MetadataBrokerEndpoint> ToRegistrationEndpoints(IEnumerable<BrokerEndpoint> endpoints) =>
        [.. endpoints.Select(e => new MetadataBrokerEndpoint(e.ListenerName, e.Host, e.Port, 0))];
}

/// <summary>No active controller is known or it cannot be reached: callers answer NOT_CONTROLLER or retry.</summary>
public sealed class ControllerNotAvailableException : Exception
{
    public ControllerNotAvailableException()
    {
    }

    public ControllerNotAvailableException(string message)
        : base(message)
    {
    }

    public ControllerNotAvailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

internal static partial class ClusterLog
{
    [LoggerMessage(EventId = 5001, Level = LogLevel.Debug, Message = "Forwarding {ApiKey} to the controller failed: {Reason}")]
    public static partial void ForwardFailed(ILogger logger, string apiKey, string reason);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "Broker {NodeId} registered with broker epoch {BrokerEpoch} (incarnation {IncarnationId})")]
    public static partial void Registered(ILogger logger, int nodeId, long brokerEpoch, string incarnationId);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Information, Message = "Broker {NodeId} is unfenced")]
    public static partial void Unfenced(ILogger logger, int nodeId);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Debug, Message = "Broker {NodeId}: {Call} answered {ErrorCode}")]
    public static partial void ControllerError(ILogger logger, int nodeId, string call, string errorCode);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Information, Message = "Broker {NodeId}: controlled shutdown {Outcome}")]
    public static partial void ControlledShutdown(ILogger logger, int nodeId, string outcome);
}
