// Produce v0-11. v0-2 are advertised only because librdkafka enables compression when Produce v0
// is listed; Kafka 4 removed them (KIP-896), so they are answered with UNSUPPORTED_VERSION per
// partition. Topics are never auto-created by produce (Kafka 4). Transactions are not implemented
// yet; idempotent producers append but sequence numbers are not checked.
using System.Runtime.InteropServices;
using Gregor.Broker.Dispatch;
using Gregor.Broker.Replica;
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.Produce, 0, 11)]
public sealed class ProduceHandler : ApiHandler<ProduceRequest>
{
    private readonly BrokerContext _broker;

    public ProduceHandler(BrokerContext broker)
    {
        _broker = broker;
    }

    protected override ValueTask<IResponseMessage?> HandleAsync(RequestContext context, ProduceRequest request, CancellationToken cancellationToken)
    {
        var version = context.ApiVersion;
        var acks = request.Acks;
        var response = new ProduceResponse();
        var anyError = false;
        foreach (var topicData in request.TopicData)
        {
            var topicResponse = new ProduceResponse.TopicProduceResponse { Name = topicData.Name };
            response.Responses.Add(topicResponse);
            var topicKnown = _broker.Metadata.TryGetTopic(topicData.Name, out _);
            foreach (var partitionData in topicData.PartitionData)
            {
                ProducePartitionResult result;
                if (version < 3)
                {
                    result = ProducePartitionResult.Error(ErrorCode.UnsupportedVersion);
                }
                else if (acks is not (0 or 1 or -1))
                {
                    result = ProducePartitionResult.Error(ErrorCode.InvalidRequiredAcks);
                }
                else if (!topicKnown)
                {
                    result = ProducePartitionResult.Error(ErrorCode.UnknownTopicOrPartition,
                        $"This server does not host this topic-partition.");
                }
                else if (partitionData.Records is not { Length: > 0 } records)
                {
                    // An empty record set appends nothing; Kafka answers NONE with unknown offsets.
                    result = new ProducePartitionResult(ErrorCode.None, null, -1, -1, -1, null);
                }
                else
                {
                    // The records are a slice of the request frame, which the network layer lends us
                    // writable: storage patches base offsets and leader epochs in place.
                    result = _broker.ReplicaManager.AppendRecords(topicData.Name, partitionData.Index, MemoryMarshal.AsMemory(records), acks);
                }

                anyError |= result.ErrorCode != ErrorCode.None;
                topicResponse.PartitionResponses.Add(ToResponse(partitionData.Index, result, version));
            }
        }

        if (acks == 0)
        {
            // With acks=0 the client reads no response; Kafka closes the connection on an error
            // so the client at least notices (and refreshes its metadata).
            if (anyError)
            {
                throw new InvalidRequestException("Closing the connection after a failed produce with acks=0.");
            }

            return Respond(null);
        }

        return Respond(response);
    }

    private static ProduceResponse.PartitionProduceResponse ToResponse(int index, ProducePartitionResult result, short version)
    {
        var partition = new ProduceResponse.PartitionProduceResponse
        {
            Index = index,
            ErrorCode = (short)result.ErrorCode,
            BaseOffset = result.BaseOffset,
            LogAppendTimeMs = result.LogAppendTime,
            LogStartOffset = result.LogStartOffset,
        };
        if (version >= 8)
        {
            partition.ErrorMessage = result.ErrorMessage;
            if (result.RecordErrors is { } errors)
            {
                foreach (var error in errors)
                {
                    partition.RecordErrors.Add(new ProduceResponse.BatchIndexAndErrorMessage
                    {
                        BatchIndex = error.BatchIndex,
                        BatchIndexErrorMessage = error.Message,
                    });
                }
            }
        }

        return partition;
    }
}
