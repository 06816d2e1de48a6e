// AddPartitionsToTxn v0-5. v0-3 are the producer's form (one transactional id); v4-5 the batched
// broker form of KIP-890 (many transactional ids, verify-only checks). PRODUCER_FENCED is sent as
// INVALID_PRODUCER_EPOCH before v2, as Kafka does.
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.AddPartitionsToTxn, 0, 5)]
public sealed class AddPartitionsToTxnHandler : ApiHandler<AddPartitionsToTxnRequest>
{
    private readonly BrokerContext _broker;

    public AddPartitionsToTxnHandler(BrokerContext broker)
    {
        _broker = broker;
    }

    protected override ValueTask<IResponseMessage?> HandleAsync(RequestContext context, AddPartitionsToTxnRequest request, CancellationToken cancellationToken)
    {
        var version = context.ApiVersion;
        var response = new AddPartitionsToTxnResponse();
        if (version < 4)
        {
            response.ResultsByTopicV3AndBelow = Add(request.V3AndBelowTransactionalId, request.V3AndBelowProducerId,
                request.V3AndBelowProducerEpoch, request.V3AndBelowTopics, verifyOnly: false, version);
            return Respond(response);
        }

        foreach (var transaction in request.Transactions)
        {
            response.ResultsByTransaction.Add(new AddPartitionsToTxnResponse.AddPartitionsToTxnResult
            {
                TransactionalId = transaction.TransactionalId,
                TopicResults = Add(transaction.TransactionalId, transaction.ProducerId, transaction.ProducerEpoch, transaction.Topics, transaction.VerifyOnly, version),
            });
        }

        return Respond(response);
    }

    private List<AddPartitionsToTxnResponse.AddPartitionsToTxnTopicResult> Add(string transactionalId, long producerId, short producerEpoch,
        List<AddPartitionsToTxnRequest.AddPartitionsToTxnTopic> topics, bool verifyOnly, short version)
    {
        var partitions = topics.SelectMany(t => t.Partitions.Select(p => (t.Name, p))).ToList();
        var results = new Dictionary<(string Topic, int Partition), ErrorCode>();
        var error = _broker.Transactions.AddPartitions(transactionalId, producerId, producerEpoch, partitions, verifyOnly, results);
        if (error == ErrorCode.ProducerFenced && version < 2)
        {
            error = ErrorCode.InvalidProducerEpoch;
        }

        return topics.Select(t => new AddPartitionsToTxnResponse.AddPartitionsToTxnTopicResult
        {
            Name = t.Name,
            ResultsByPartition = t.Partitions.Select(p => new AddPartitionsToTxnResponse.AddPartitionsToTxnPartitionResult
            {
                PartitionIndex = p,
                PartitionErrorCode = (short)(error != ErrorCode.None ? error : results.GetValueOrDefault((t.Name, p))),
            }).ToList(),
        }).ToList();
    }
}
