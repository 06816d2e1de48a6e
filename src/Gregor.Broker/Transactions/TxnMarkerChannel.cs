using Gregor.Broker.Metadata;
using Gregor.Broker.Replica;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Transactions;

/// <summary>One producer's COMMIT or ABORT marker for a set of partitions (an entry of WriteTxnMarkers).</summary>
public sealed record TxnMarkerEntry(long ProducerId, short ProducerEpoch, int CoordinatorEpoch, bool Commit, IReadOnlyList<(string Topic, int Partition)> Partitions);

/// <summary>
/// How the transaction coordinator gets its markers written: to the leader of each partition
/// (Kafka's TransactionMarkerChannelManager sends WriteTxnMarkers to every leader). The coordinator
/// groups the partitions by leader and calls once per node.
/// </summary>
public interface ITxnMarkerChannel
{
    /// <summary>Writes the markers on node <paramref name="nodeId"/>, the leader of every partition named; the error of each partition.</summary>
    ValueTask<IReadOnlyDictionary<(string Topic, int Partition), ErrorCode>> WriteMarkersAsync(int nodeId, IReadOnlyList<TxnMarkerEntry> markers, CancellationToken cancellationToken = default);
}

/// <summary>Markers for partitions this broker leads: appended directly through the replica manager.</summary>
public sealed class LocalTxnMarkerChannel : ITxnMarkerChannel
{
    private readonly ReplicaManager _replicaManager;

    public LocalTxnMarkerChannel(ReplicaManager replicaManager)
    {
        _replicaManager = replicaManager;
    }

    public ValueTask<IReadOnlyDictionary<(string Topic, int Partition), ErrorCode>> WriteMarkersAsync(int nodeId, IReadOnlyList<TxnMarkerEntry> markers, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Write(_replicaManager, markers));

    /// <summary>Appends every marker as this partition's leader (also the WriteTxnMarkers handler's work).</summary>
    public static IReadOnlyDictionary<(string Topic, int Partition), ErrorCode> Write(ReplicaManager replicaManager, IReadOnlyList<TxnMarkerEntry> markers)
    {
        var results = new Dictionary<(string Topic, int Partition), ErrorCode>();
        foreach (var marker in markers)
        {
            foreach (var (topic, partition) in marker.Partitions)
            {
                results[(topic, partition)] = replicaManager.WriteTxnMarker(topic, partition, marker.ProducerId, marker.ProducerEpoch, marker.CoordinatorEpoch, marker.Commit);
            }
        }

        return results;
    }
}

/// <summary>
/// Markers for partitions led by any node: this node's are appended locally, another node's are
/// sent to it as one WriteTxnMarkers v1 request (Kafka's TransactionMarkerChannelManager). A node
/// that cannot be reached answers every partition with the error, which the coordinator logs.
/// </summary>
public sealed class RemoteTxnMarkerChannel : ITxnMarkerChannel
{
    private readonly int _localNodeId;
    private readonly ITxnMarkerChannel _local;
    private readonly Func<int, BrokerEndpoint?> _endpointOf;
    private readonly Func<BrokerEndpoint, WriteTxnMarkersRequest, CancellationToken, Task<WriteTxnMarkersResponse>> _send;

    /// <param name="endpointOf">The inter-broker endpoint of a node (from the metadata), null when it is not alive.</param>
    /// <param name="send">Sends one WriteTxnMarkers v1 request to a node (the broker's inter-broker client).</param>
    public RemoteTxnMarkerChannel(int localNodeId, ITxnMarkerChannel local, Func<int, BrokerEndpoint?> endpointOf,
        Func<BrokerEndpoint, WriteTxnMarkersRequest, CancellationToken, Task<WriteTxnMarkersResponse>> send)
    {
        _localNodeId = localNodeId;
        _local = local;
        _endpointOf = endpointOf;
        _send = send;
    }

    /// <summary>The leader of each partition from the metadata, for the coordinator's grouping (-1 without a leader).</summary>
    public static Func<string, int, int> LeaderFrom(IMetadataView metadata) => (topic, partition) =>
        metadata.TryGetTopic(topic, out var t) && partition >= 0 && partition < t.Partitions.Count ? t.Partitions[partition].LeaderId : -1;

    public async ValueTask<IReadOnlyDictionary<(string Topic, int Partition), ErrorCode>> WriteMarkersAsync(int nodeId, IReadOnlyList<TxnMarkerEntry> markers, CancellationToken cancellationToken = default)
    {
        if (nodeId < 0 || nodeId == _localNodeId)
        {
            return await _local.WriteMarkersAsync(nodeId, markers, cancellationToken).ConfigureAwait(false);
        }

        var all = markers.SelectMany(m => m.Partitions).Distinct().ToList();
        if (_endpointOf(nodeId) is not { } endpoint)
        {
            // Kafka retries once the partition has a live leader; the coordinator logs this one.
            return all.ToDictionary(p => p, _ => ErrorCode.NotLeaderOrFollower);
        }

        var request = new WriteTxnMarkersRequest
        {
            Markers = [.. markers.Select(m => new WriteTxnMarkersRequest.WritableTxnMarker
            {
                ProducerId = m.ProducerId,
                ProducerEpoch = m.ProducerEpoch,
                TransactionResult = m.Commit,
                CoordinatorEpoch = m.CoordinatorEpoch,
                Topics = [.. m.Partitions.GroupBy(p => p.Topic, StringComparer.Ordinal).Select(g => new WriteTxnMarkersRequest.WritableTxnMarkerTopic
                {
                    Name = g.Key,
                    PartitionIndexes = [.. g.Select(p => p.Partition)],
                })],
            })],
        };

        WriteTxnMarkersResponse response;
        try
        {
            response = await _send(endpoint, request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Whatever the transport failed with (connect, timeout, closed connection), the markers
            // are not written; Kafka would retry them, here the coordinator logs each partition.
            return all.ToDictionary(p => p, _ => ErrorCode.NetworkException);
        }

        var results = all.ToDictionary(p => p, _ => ErrorCode.UnknownServerError);
        foreach (var marker in response.Markers)
        {
            foreach (var topic in marker.Topics)
            {
                foreach (var partition in topic.Partitions)
                {
                    results[(topic.Name, partition.PartitionIndex)] = (ErrorCode)partition.ErrorCode;
                }
            }
        }

        return results;
    }
}

/// <summary>The broker's wiring of <see cref="RemoteTxnMarkerChannel"/> over its node-to-node client.</summary>
public static class TxnMarkerChannels
{
    /// <summary>
    /// Markers to each partition's leader from the metadata: local ones appended here, others sent
    /// as WriteTxnMarkers v1 on the inter-broker listener over a "txn-markers" connection.
    /// </summary>
    public static RemoteTxnMarkerChannel Create(int localNodeId, ReplicaManager replicaManager, IMetadataView metadata,
        string interBrokerListenerName, Client.NodeClientPool clients, TimeSpan requestTimeout) =>
        new(localNodeId, new LocalTxnMarkerChannel(replicaManager),
            node => metadata.AliveBrokers.FirstOrDefault(b => b.NodeId == node)?.EndpointFor(interBrokerListenerName),
            (endpoint, request, ct) => clients.SendAsync<WriteTxnMarkersResponse>(endpoint.Host, endpoint.Port, "txn-markers", request, 1, requestTimeout, ct));
}
