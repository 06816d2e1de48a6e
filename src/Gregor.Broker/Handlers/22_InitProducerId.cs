// InitProducerId v0-5. Idempotent producers (no transactional id) always get a fresh producer id
// at epoch 0, as Kafka does; the producer bumps its own epoch afterwards (KIP-360) and the
// partition's producer state accepts the bump. Transactional ids need the transaction coordinator,
// which is not implemented yet: they are refused with UNSUPPORTED_VERSION.
using Gregor.Broker.Producer;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.InitProducerId, 0, 5)]
public sealed class InitProducerIdHandler : ApiHandler<InitProducerIdRequest>
{
    private readonly ProducerIdManager _producerIds;

    public InitProducerIdHandler(ProducerIdManager producerIds)
    {
        _producerIds = producerIds;
    }

    protected override ValueTask<IResponseMessage?> HandleAsync(RequestContext context, InitProducerIdRequest request, CancellationToken cancellationToken)
    {
        var response = new InitProducerIdResponse { ProducerId = -1, ProducerEpoch = -1 };
        if (request.TransactionalId is null)
        {
            response.ProducerId = _producerIds.GenerateProducerId();
            response.ProducerEpoch = 0;
        }
        else if (request.TransactionalId.Length == 0)
        {
            response.ErrorCode = (short)ErrorCode.InvalidRequest;
        }
        else
        {
            response.ErrorCode = (short)ErrorCode.UnsupportedVersion;
        }

        return Respond(response);
    }
}
