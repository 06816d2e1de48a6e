using Gregor.Broker.Client;
using Gregor.Broker.Metadata;
using Gregor.Protocol;

namespace Gregor.Broker.Replica;

/// <summary>What the controller answered to an ISR change: the partition as it now stands, or Kafka's error.</summary>
public readonly record struct AlterPartitionOutcome(ErrorCode ErrorCode, PartitionMetadata? Partition);

/// <summary>
/// How a partition leader asks the active controller to change the ISR (Kafka's AlterPartition,
/// with the leader epoch and partition epoch it bases the change on). Implemented by the cluster
/// layer: locally when this node is the active controller, over the network otherwise.
/// </summary>
public interface IAlterPartitionChannel
{
    Task<AlterPartitionOutcome> AlterPartitionAsync(
        string topic, Uuid topicId, int partitionIndex, int leaderEpoch, int partitionEpoch, IReadOnlyList<int> newIsr, CancellationToken cancellationToken);
}

/// <summary>What a replica manager needs to replicate: where the other brokers are and how to reach the controller.</summary>
public sealed class ReplicationSettings
{
    /// <summary>Alive brokers and their endpoints (leaders to fetch from).</summary>
    public required IMetadataView Metadata { get; init; }

    /// <summary>The listener followers fetch through (<c>inter.broker.listener.name</c>).</summary>
    public required string InterBrokerListenerName { get; init; }

    public required IAlterPartitionChannel AlterPartition { get; init; }

    public required NodeClientPool Clients { get; init; }
}
