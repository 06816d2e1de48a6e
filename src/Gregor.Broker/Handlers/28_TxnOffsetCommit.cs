// TxnOffsetCommit v0-4: offsets held by the transaction coordinator until EndTxn commits them to
// the group (an abort drops them). From v3 the consumer's generation, member and instance id are
// checked against the group when the offsets arrive (KIP-447), fencing zombie consumers.
// PRODUCER_FENCED is sent as INVALID_PRODUCER_EPOCH before v2.
using Gregor.Broker.Transactions;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.TxnOffsetCommit, 0, 4)]
public sealed class TxnOffsetCommitHandler : ApiHandler<TxnOffsetCommitRequest>
{
    private readonly BrokerContext _broker;

    public TxnOffsetCommitHandler(BrokerContext broker)
    {
        _broker = broker;
    }

    protected override ValueTask<IResponseMessage?> HandleAsync(RequestContext context, TxnOffsetCommitRequest request, CancellationToken cancellationToken)
    {
        var version = context.ApiVersion;
        var unknown = new HashSet<(string, int)>();
        var offsets = new List<((string Topic, int Partition), PendingOffset)>();
        foreach (var topic in request.Topics)
        {
            _broker.Metadata.TryGetTopic(topic.Name, out var metadata);
            foreach (var p in topic.Partitions)
            {
                if (metadata is null || p.PartitionIndex < 0 || p.PartitionIndex >= metadata.Partitions.Count)
                {
                    unknown.Add((topic.Name, p.PartitionIndex));
                    continue;
                }

                offsets.Add(((topic.Name, p.PartitionIndex), new PendingOffset(p.CommittedOffset, version >= 2 ? p.CommittedLeaderEpoch : -1, p.CommittedMetadata)));
            }
        }

        var error = string.IsNullOrEmpty(request.GroupId) ? ErrorCode.InvalidGroupId
            : version >= 3 ? _broker.Groups.Coordinator.ValidateTransactionalOffsetCommit(request.GroupId, request.GenerationId, request.MemberId, request.GroupInstanceId)
            : ErrorCode.None;
        if (error == ErrorCode.None)
        {
            error = _broker.Transactions.AddPendingOffsets(request.TransactionalId, request.ProducerId, request.ProducerEpoch, request.GroupId, offsets);
        }
        if (error == ErrorCode.ProducerFenced && version < 2)
        {
            error = ErrorCode.InvalidProducerEpoch;
        }

        var response = new TxnOffsetCommitResponse();
        foreach (var topic in request.Topics)
        {
            response.Topics.Add(new TxnOffsetCommitResponse.TxnOffsetCommitResponseTopic
            {
                Name = topic.Name,
                Partitions = topic.Partitions.Select(p => new TxnOffsetCommitResponse.TxnOffsetCommitResponsePartition
                {
                    PartitionIndex = p.PartitionIndex,
                    ErrorCode = (short)(unknown.Contains((topic.Name, p.PartitionIndex)) ? ErrorCode.UnknownTopicOrPartition : error),
                }).ToList(),
            });
        }

        return Respond(response);
    }
}
