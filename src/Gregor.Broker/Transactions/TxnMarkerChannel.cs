using Gregor.Broker.Replica;
using Gregor.Protocol;

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
