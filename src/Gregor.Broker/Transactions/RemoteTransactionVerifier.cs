using Gregor.Broker.Client;
using Gregor.Broker.Metadata;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Transactions;

/// <summary>
/// KIP-890 part 1 for a transactional id coordinated by another broker: the partition leader asks
/// that coordinator, with the batched broker form of AddPartitionsToTxn (v4+, verify only),
/// whether the producer's ongoing transaction holds the partitions before appending the first
/// transactional batch of the transaction there. The group coordinator asks the same for
/// TxnOffsetCommit's <c>__consumer_offsets</c> partition, and from TxnOffsetCommit v5 (KIP-890
/// part 2) has the coordinator add it (<c>verifyOnly</c> false) instead.
/// </summary>
public sealed class RemoteTransactionVerifier
{
    private const short AddPartitionsToTxnVersion = 5;
    private readonly IMetadataView _metadata;
    private readonly NodeClientPool _clients;
    private readonly string _interBrokerListenerName;
    private readonly int _transactionStatePartitions;
    private readonly TimeSpan _timeout;

    public RemoteTransactionVerifier(IMetadataView metadata, NodeClientPool clients, string interBrokerListenerName, int transactionStatePartitions, TimeSpan timeout)
    {
        _metadata = metadata;
        _clients = clients;
        _interBrokerListenerName = interBrokerListenerName;
        _transactionStatePartitions = transactionStatePartitions;
        _timeout = timeout;
    }

    /// <summary>
    /// The coordinator's verdict per partition. A coordinator that cannot be asked answers
    /// NOT_ENOUGH_REPLICAS for every partition, the retriable error Kafka's leaders return then.
    /// </summary>
    public async Task<Dictionary<(string Topic, int Partition), ErrorCode>> VerifyAsync(
        string transactionalId, long producerId, short producerEpoch, IReadOnlyList<(string Topic, int Partition)> partitions, CancellationToken cancellationToken,
        bool verifyOnly = true)
    {
        var verdicts = partitions.ToDictionary(p => p, _ => ErrorCode.NotEnoughReplicas);
        var partitionCount = _metadata.TryGetTopic(TopicNames.TransactionStateTopicName, out var state) && state.Partitions.Count > 0
            ? state.Partitions.Count
            : _transactionStatePartitions;
        var statePartition = ReplicaTransactionStateLog.PartitionFor(transactionalId, partitionCount);
        if (state is null || statePartition >= state.Partitions.Count
            || _metadata.AliveBrokers.FirstOrDefault(b => b.NodeId == state.Partitions[statePartition].LeaderId)?.EndpointFor(_interBrokerListenerName) is not { } endpoint)
        {
            return verdicts;
        }

        var request = new AddPartitionsToTxnRequest
        {
            Transactions =
            [
                new AddPartitionsToTxnRequest.AddPartitionsToTxnTransaction
                {
                    TransactionalId = transactionalId,
                    ProducerId = producerId,
                    ProducerEpoch = producerEpoch,
                    VerifyOnly = verifyOnly,
                    Topics = partitions.GroupBy(p => p.Topic, StringComparer.Ordinal)
                        .Select(g => new AddPartitionsToTxnRequest.AddPartitionsToTxnTopic { Name = g.Key, Partitions = g.Select(p => p.Partition).ToList() })
                        .ToList(),
                },
            ],
        };
        AddPartitionsToTxnResponse response;
        try
        {
            response = await _clients.SendAsync<AddPartitionsToTxnResponse>(endpoint.Host, endpoint.Port, "txn-verification", request, AddPartitionsToTxnVersion, _timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (NodeConnectionException)
        {
            return verdicts;
        }

        foreach (var result in response.ResultsByTransaction)
        {
            foreach (var topic in result.TopicResults)
            {
                foreach (var partition in topic.ResultsByPartition)
                {
                    var key = (topic.Name, partition.PartitionIndex);
                    if (verdicts.ContainsKey(key))
                    {
                        verdicts[key] = Map((ErrorCode)partition.PartitionErrorCode);
                    }
                }
            }
        }

        return verdicts;
    }

    /// <summary>Coordinator-side errors a producer should retry become NOT_ENOUGH_REPLICAS, as Kafka's leaders convert them.</summary>
    private static ErrorCode Map(ErrorCode error) => error switch
    {
        ErrorCode.NotCoordinator or ErrorCode.CoordinatorNotAvailable or ErrorCode.CoordinatorLoadInProgress or ErrorCode.ConcurrentTransactions => ErrorCode.NotEnoughReplicas,
        _ => error,
    };
}
