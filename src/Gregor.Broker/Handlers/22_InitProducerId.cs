// InitProducerId v0-5. Idempotent producers (no transactional id) always get a fresh producer id
// at epoch 0, as Kafka does; the producer bumps its own epoch afterwards (KIP-360) and the
// partition's producer state accepts the bump. A transactional id goes to the transaction
// coordinator: same producer id, bumped epoch, older instances fenced. PRODUCER_FENCED is sent as
// INVALID_PRODUCER_EPOCH before v4 (older clients do not know it).
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.InitProducerId, 0, 5)]
public sealed class InitProducerIdHandler : ApiHandler<InitProducerIdRequest>
{
    private readonly BrokerContext _broker;

    public InitProducerIdHandler(BrokerContext broker)
    {
        _broker = broker;
    }

    protected override ValueTask<IResponseMessage?> HandleAsync(RequestContext context, InitProducerIdRequest request, CancellationToken cancellationToken)
    {
        var response = new InitProducerIdResponse { ProducerId = -1, ProducerEpoch = -1 };
        if (request.TransactionalId is null)
        {
            response.ProducerId = _broker.ProducerIds.GenerateProducerId();
            response.ProducerEpoch = 0;
        }
        else if (request.TransactionalId.Length == 0)
        {
            response.ErrorCode = (short)ErrorCode.InvalidRequest;
        }
        else
        {
            var (error, producerId, epoch) = _broker.Transactions.InitProducerId(request.TransactionalId, request.TransactionTimeoutMs, request.ProducerId, request.ProducerEpoch);
            response.ErrorCode = (short)(error == ErrorCode.ProducerFenced && context.ApiVersion < 4 ? ErrorCode.InvalidProducerEpoch : error);
            response.ProducerId = producerId;
            response.ProducerEpoch = epoch;
        }

        return Respond(response);
    }
}
