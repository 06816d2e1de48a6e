// TxnOffsetCommit v0-5: the group coordinator writes the offsets to the group's __consumer_offsets
// partition as a transactional batch of the producer and keeps them pending until the
// transaction's marker arrives there (commit materialises, abort drops them), so they survive a
// restart. The transaction is checked first (producer current, group added by AddOffsetsToTxn);
// v5 (KIP-890 part 2) adds the group's partition to the transaction itself, as the broker's
// AddPartitionsToTxn would (a local call while this node coordinates the transactional id).
// From v3 the consumer's generation, member and instance id are checked against the group
// (KIP-447), fencing zombie consumers. PRODUCER_FENCED is sent as INVALID_PRODUCER_EPOCH before v2.
using Gregor.Coordinator;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.TxnOffsetCommit, 0, 5)]
public sealed class TxnOffsetCommitHandler : ApiHandler<TxnOffsetCommitRequest>
{
    private readonly BrokerContext _broker;

    public TxnOffsetCommitHandler(BrokerContext broker)
    {
        _broker = broker;
    }

    protected override async ValueTask<IResponseMessage?> HandleAsync(RequestContext context, TxnOffsetCommitRequest request, CancellationToken cancellationToken)
    {
        var version = context.ApiVersion;
        var errors = new Dictionary<(string, int), ErrorCode>();
        var topics = new List<OffsetCommitTopic>();
        foreach (var topic in request.Topics)
        {
            _broker.Metadata.TryGetTopic(topic.Name, out var metadata);
            var partitions = new List<OffsetCommitPartition>();
            foreach (var p in topic.Partitions)
            {
                if (metadata is null || p.PartitionIndex < 0 || p.PartitionIndex >= metadata.Partitions.Count)
                {
                    errors[(topic.Name, p.PartitionIndex)] = ErrorCode.UnknownTopicOrPartition;
                    continue;
                }

                partitions.Add(new OffsetCommitPartition(p.PartitionIndex, p.CommittedOffset, version >= 2 ? p.CommittedLeaderEpoch : -1, p.CommittedMetadata));
            }

            if (partitions.Count > 0)
            {
                topics.Add(new OffsetCommitTopic(topic.Name, partitions));
            }
        }

        var error = string.IsNullOrEmpty(request.GroupId) ? ErrorCode.InvalidGroupId : ErrorCode.None;
        if (error == ErrorCode.None)
        {
            var offsetsPartition = _broker.Groups.Coordinator.PartitionFor(request.GroupId);
            error = version >= 5
                ? _broker.Transactions.AddOffsets(request.TransactionalId, request.ProducerId, request.ProducerEpoch, offsetsPartition)
                : _broker.Transactions.VerifyOffsetsPartition(request.TransactionalId, request.ProducerId, request.ProducerEpoch, offsetsPartition);
        }

        if (error == ErrorCode.None && topics.Count > 0)
        {
            var result = await _broker.Groups.Coordinator.CommitTransactionalOffsetsAsync(new TxnOffsetCommitInput(
                request.GroupId, request.ProducerId, request.ProducerEpoch,
                version >= 3 ? request.GenerationId : -1, version >= 3 ? request.MemberId : string.Empty, version >= 3 ? request.GroupInstanceId : null,
                topics), cancellationToken).ConfigureAwait(false);
            foreach (var p in result.Partitions)
            {
                errors[(p.Topic, p.Partition)] = p.Error;
            }
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
                    ErrorCode = (short)(errors.TryGetValue((topic.Name, p.PartitionIndex), out var e) && e != ErrorCode.None ? e : error),
                }).ToList(),
            });
        }

        return response;
    }
}
