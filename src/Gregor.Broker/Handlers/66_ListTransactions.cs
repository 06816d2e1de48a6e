// ListTransactions v0-1 (KIP-664): the transactional ids this coordinator knows, filtered by state
// (names it does not know are echoed in UnknownStateFilters), producer id and, from v1 (KIP-994),
// by running longer than the duration filter.
using Gregor.Broker.Transactions;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.ListTransactions, 0, 1)]
public sealed class ListTransactionsHandler : ApiHandler<ListTransactionsRequest>
{
    private readonly BrokerContext _broker;

    public ListTransactionsHandler(BrokerContext broker)
    {
        _broker = broker;
    }

    protected override ValueTask<IResponseMessage?> HandleAsync(RequestContext context, ListTransactionsRequest request, CancellationToken cancellationToken)
    {
        var response = new ListTransactionsResponse();
        var states = new HashSet<TransactionState>();
        foreach (var name in request.StateFilters)
        {
            if (Enum.TryParse<TransactionState>(name, ignoreCase: false, out var state) && Enum.IsDefined(state))
            {
                states.Add(state);
            }
            else
            {
                response.UnknownStateFilters.Add(name);
            }
        }

        var producerIds = request.ProducerIdFilters.ToHashSet();
        var duration = context.ApiVersion >= 1 ? request.DurationFilter : -1;
        var now = _broker.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var txn in _broker.Transactions.List())
        {
            if ((request.StateFilters.Count > 0 && !states.Contains(txn.State))
                || (producerIds.Count > 0 && !producerIds.Contains(txn.ProducerId))
                || (duration >= 0 && (txn.StartTimestamp < 0 || now - txn.StartTimestamp < duration)))
            {
                continue;
            }

            response.TransactionStates.Add(new ListTransactionsResponse.TransactionStateData
            {
                TransactionalId = txn.TransactionalId,
                ProducerId = txn.ProducerId,
                TransactionState = txn.State.ToString(),
            });
        }

        return Respond(response);
    }
}
