// DescribeTransactions v0 (KIP-664): the coordinator's state of each transactional id; an unknown
// id gets TRANSACTIONAL_ID_NOT_FOUND.
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.DescribeTransactions, 0, 0)]
public sealed class DescribeTransactionsHandler : ApiHandler<DescribeTransactionsRequest>
{
    private readonly BrokerContext _broker;

    public DescribeTransactionsHandler(BrokerContext broker)
    {
        _broker = broker;
    }

    protected override ValueTask<IResponseMessage?> HandleAsync(RequestContext context, DescribeTransactionsRequest request, CancellationToken cancellationToken)
    {
        var response = new DescribeTransactionsResponse();
        foreach (var id in request.TransactionalIds)
        {
            var state = new DescribeTransactionsResponse.TransactionStateData { TransactionalId = id, TransactionState = "", ProducerId = -1, ProducerEpoch = -1, TransactionStartTimeMs = -1 };
            response.TransactionStates.Add(state);
            if (_broker.Transactions.Describe(id) is not { } txn)
            {
                state.ErrorCode = (short)ErrorCode.TransactionalIdNotFound;
                continue;
            }

            state.TransactionState = txn.State.ToString();
            state.TransactionTimeoutMs = txn.TimeoutMs;
            state.TransactionStartTimeMs = txn.StartTimestamp;
            state.ProducerId = txn.ProducerId;
            state.ProducerEpoch = txn.ProducerEpoch;
            foreach (var byTopic in txn.Partitions.GroupBy(p => p.Topic, StringComparer.Ordinal))
            {
                state.Topics.Add(new DescribeTransactionsResponse.TopicData { Topic = byTopic.Key, Partitions = byTopic.Select(p => p.Partition).ToList() });
            }
        }

        return Respond(response);
    }
}
