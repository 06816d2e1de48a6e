using Gregor.Protocol;

namespace Gregor.Broker.Metadata;

/// <summary>One partition as the metadata layer knows it: who leads it, in which leader epoch, and who replicates it.</summary>
public sealed record PartitionMetadata(
    int PartitionIndex,
    int LeaderId,
    int LeaderEpoch,
    int PartitionEpoch,
    IReadOnlyList<int> Replicas,
    IReadOnlyList<int> Isr);

/// <summary>A topic as the metadata layer knows it. Immutable: a change publishes a new instance.</summary>
public sealed record TopicMetadata(
    string Name,
    Uuid TopicId,
    IReadOnlyList<PartitionMetadata> Partitions,
    IReadOnlyDictionary<string, string> Configs)
{
    public bool IsInternal => TopicNames.IsInternal(Name);

    public short ReplicationFactor => Partitions.Count == 0 ? (short)0 : (short)Partitions[0].Replicas.Count;
}

/// <summary>A broker as clients see it: one endpoint per listener name.</summary>
public sealed record BrokerEndpoint(string ListenerName, string Host, int Port);

public sealed record BrokerNode(int NodeId, string? Rack, IReadOnlyList<BrokerEndpoint> Endpoints)
{
    public BrokerEndpoint? EndpointFor(string listenerName)
    {
        foreach (var endpoint in Endpoints)
        {
            if (string.Equals(endpoint.ListenerName, listenerName, StringComparison.OrdinalIgnoreCase))
            {
                return endpoint;
            }
        }

        return null;
    }
}
