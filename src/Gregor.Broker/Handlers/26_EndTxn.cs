// EndTxn v0-5: commit or abort; the coordinator writes the markers to every partition of the
// transaction, then a commit's TxnOffsetCommit offsets are committed to their groups, before the
// answer. v5 (KIP-890) returns the producer id and epoch. PRODUCER_FENCED is sent as
// INVALID_PRODUCER_EPOCH before v2, as Kafka does.
using Gregor.Coordinator;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.EndTxn, 0, 5)]
public sealed class EndTxnHandler : ApiHandler<EndTxnRequest>
{
    private readonly BrokerContext _broker;

    public EndTxnHandler(BrokerContext broker)
    {
        _broker = broker;
    }

    protected override async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, EndTxnRequest request, CancellationToken cancellationToken)
    {
        var (error, producerId, epoch, offsets) = _broker.Transactions.EndTransaction(request.TransactionalId, request.ProducerId, request.ProducerEpoch, request.Committed);
        if (error == ErrorCode.ProducerFenced && context.ApiVersion < 2)
        {
            error = ErrorCode.InvalidProducerEpoch;
        }

        foreach (var group in offsets)
        {
            var topics = group.Offsets
                .GroupBy(kv => kv.Key.Topic, StringComparer.Ordinal)
                .Select(t => new OffsetCommitTopic(t.Key, t.Select(kv => new OffsetCommitPartition(kv.Key.Partition, kv.Value.Offset, kv.Value.LeaderEpoch, kv.Value.Metadata)).ToList()))
                .ToList();
            var result = await _broker.Groups.Coordinator.CommitOffsetsAsync(
                new OffsetCommitInput(group.GroupId, -1, string.Empty, null, -1, topics, Transactional: true), cancellationToken).ConfigureAwait(false);
            var failed = result.Partitions.FirstOrDefault(p => p.Error != ErrorCode.None);
            if (failed is not null)
            {
                // The markers are written; the client retries EndTxn, which is answered as complete.
                BrokerLog.TxnOffsetsFailed(_broker.Logger, request.TransactionalId, group.GroupId, failed.Error.ToString());
            }
        }

        return new EndTxnResponse { ErrorCode = (short)error, ProducerId = producerId, ProducerEpoch = epoch };
    }
}
