// EndTxn v0-5: commit or abort; the coordinator writes the markers to every partition of the
// transaction before the answer, including the __consumer_offsets partitions of groups whose
// TxnOffsetCommit offsets the marker materialises (commit) or drops (abort). v5 (KIP-890) returns
// the producer id and epoch. PRODUCER_FENCED is sent as INVALID_PRODUCER_EPOCH before v2, as Kafka does.
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

    protected override ValueTask<IResponseMessage?> HandleAsync(RequestContext context, EndTxnRequest request, CancellationToken cancellationToken)
    {
        var (error, producerId, epoch) = _broker.Transactions.EndTransaction(request.TransactionalId, request.ProducerId, request.ProducerEpoch, request.Committed);
        if (error == ErrorCode.ProducerFenced && context.ApiVersion < 2)
        {
            error = ErrorCode.InvalidProducerEpoch;
        }

        return Respond(new EndTxnResponse { ErrorCode = (short)error, ProducerId = producerId, ProducerEpoch = epoch });
    }
}
