// AddOffsetsToTxn v0-4: the group's offsets join the transaction (SendOffsetsToTransaction's first
// step): as in Kafka, the group's __consumer_offsets partition becomes a partition of the
// transaction, so EndTxn writes its marker there. PRODUCER_FENCED is sent as INVALID_PRODUCER_EPOCH before v2, as Kafka does.
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.AddOffsetsToTxn, 0, 4)]
public sealed class AddOffsetsToTxnHandler : ApiHandler<AddOffsetsToTxnRequest>
{
    private readonly BrokerContext _broker;

    public AddOffsetsToTxnHandler(BrokerContext broker)
    {
        _broker = broker;
    }

    protected override ValueTask<IResponseMessage?> HandleAsync(RequestContext context, AddOffsetsToTxnRequest request, CancellationToken cancellationToken)
    {
        var error = string.IsNullOrEmpty(request.GroupId)
            ? ErrorCode.InvalidGroupId
            : _broker.Transactions.AddOffsets(request.TransactionalId, request.ProducerId, request.ProducerEpoch, _broker.Groups.Coordinator.PartitionFor(request.GroupId));
        if (error == ErrorCode.ProducerFenced && context.ApiVersion < 2)
        {
            error = ErrorCode.InvalidProducerEpoch;
        }

        return Respond(new AddOffsetsToTxnResponse { ErrorCode = (short)error });
    }
}
