// TxnOffsetCommit v0-5: the group coordinator writes the offsets to the group's __consumer_offsets
// partition as a transactional batch of the producer and keeps them pending until the
// transaction's marker arrives there (commit materialises, abort drops them), so they survive a
// restart. The transaction is checked first with its coordinator (producer current, group added by
// AddOffsetsToTxn), as Kafka 4.0's group coordinator verifies a transactional write: a local call
// while this node coordinates the transactional id, else AddPartitionsToTxn v5 (verify only) to
// the broker that does. v5 (KIP-890 part 2) has the coordinator add the group's partition to the
// transaction itself instead.
// From v3 the consumer's generation, member and instance id are checked against the group
// (KIP-447), fencing zombie consumers. PRODUCER_FENCED is sent as INVALID_PRODUCER_EPOCH before v2.
using Gregor.Broker.Metadata;
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
            error = await CheckTransactionAsync(request, version, _broker.Groups.Coordinator.PartitionFor(request.GroupId), cancellationToken).ConfigureAwait(false);
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

    private async ValueTask<ErrorCode> CheckTransactionAsync(TxnOffsetCommitRequest request, short version, int offsetsPartition, CancellationToken cancellationToken)
    {
        var transactions = _broker.Transactions;
        if (_broker.TransactionVerifier is not { } remote || transactions.Coordinates(request.TransactionalId))
        {
            return version >= 5
                ? transactions.AddOffsets(request.TransactionalId, request.ProducerId, request.ProducerEpoch, offsetsPartition)
                : transactions.VerifyOffsetsPartition(request.TransactionalId, request.ProducerId, request.ProducerEpoch, offsetsPartition);
        }

        // The transactional id is coordinated by another broker (the usual case on a cluster).
        var verdicts = await remote.VerifyAsync(request.TransactionalId, request.ProducerId, request.ProducerEpoch,
            [(TopicNames.GroupMetadataTopicName, offsetsPartition)], cancellationToken, verifyOnly: version < 5).ConfigureAwait(false);
        return verdicts.Values.Single() switch
        {
            // The group is not in the transaction (AddOffsetsToTxn was not called).
            ErrorCode.TransactionAbortable => ErrorCode.InvalidTxnState,

            // The coordinator could not be asked: the client finds the group coordinator again and retries.
            ErrorCode.NotEnoughReplicas => ErrorCode.CoordinatorNotAvailable,
            var other => other,
        };
    }
}
