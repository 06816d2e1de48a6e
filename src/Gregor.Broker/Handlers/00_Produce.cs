// Produce v0-11. v0-2 are advertised only because librdkafka enables compression when Produce v0
// is listed; Kafka 4 removed them (KIP-896), so they are answered with UNSUPPORTED_VERSION per
// partition. Each partition carries exactly one magic-2 batch (INVALID_RECORD otherwise, as Kafka).
// Topics are never auto-created by produce (Kafka 4). Idempotent producers' sequence numbers
// and epochs are checked by the partition's producer state (storage). Transactional batches are
// verified against the coordinator's partition set (KIP-890 part 1) when this broker coordinates
// the transactional id; a remote coordinator is not asked yet. In a cluster, acks=all answers
// once the high watermark covers the append (or timeout_ms passes: REQUEST_TIMED_OUT).
using System.Runtime.InteropServices;
using Gregor.Broker.Dispatch;
using Gregor.Broker.Metadata;
using Gregor.Broker.Transactions;
using Gregor.Broker.Replica;
using Gregor.Protocol;
using Gregor.Protocol.Messages;
using Gregor.Protocol.Records;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.Produce, 0, 11)]
public sealed class ProduceHandler : ApiHandler<ProduceRequest>
{
    /// <summary>The client id Kafka's own admin tooling uses; only it may produce to internal topics.</summary>
    public const string AdminClientId = "__admin_client";

    private readonly BrokerContext _broker;

    public ProduceHandler(BrokerContext broker)
    {
        _broker = broker;
    }

    protected override ValueTask<IResponseMessage?> HandleAsync(RequestContext context, ProduceRequest request, CancellationToken cancellationToken)
    {
        if (request.TransactionalId is { } transactionalId && _broker.TransactionVerifier is { } verifier
            && !_broker.Transactions.Coordinates(transactionalId)
            && FirstTransactionalBatches(request) is { Count: > 0 } first)
        {
            return new ValueTask<IResponseMessage?>(VerifyThenProduceAsync(context, request, transactionalId, verifier, first, cancellationToken));
        }

        return Produce(context, request, null, cancellationToken);
    }

    /// <summary>
    /// Transactional batches that would start the producer's transaction in their partition (the
    /// leader's log has no ongoing transaction of that producer): what KIP-890 verifies with the
    /// coordinator before appending. Later batches of the same transaction need no check.
    /// </summary>
    private List<(string Topic, int Partition, long ProducerId, short ProducerEpoch)> FirstTransactionalBatches(ProduceRequest request)
    {
        var first = new List<(string Topic, int Partition, long ProducerId, short ProducerEpoch)>();
        foreach (var topicData in request.TopicData)
        {
            foreach (var partitionData in topicData.PartitionData)
            {
                if (partitionData.Records is not { } records || records.Length < RecordBatch.HeaderSize || !RecordBatch.IsTransactional(records.Span)
                    || _broker.ReplicaManager.GetPartition(topicData.Name, partitionData.Index) is not { IsLeader: true } partition)
                {
                    continue;
                }

                var producerId = RecordBatch.ProducerId(records.Span);
                if (!partition.Log.ActiveProducers.Any(p => p.ProducerId == producerId && p.CurrentTxnStartOffset >= 0))
                {
                    first.Add((topicData.Name, partitionData.Index, producerId, RecordBatch.ProducerEpoch(records.Span)));
                }
            }
        }

        return first;
    }

    private async Task<IResponseMessage?> VerifyThenProduceAsync(RequestContext context, ProduceRequest request, string transactionalId,
        RemoteTransactionVerifier verifier, List<(string Topic, int Partition, long ProducerId, short ProducerEpoch)> first, CancellationToken cancellationToken)
    {
        var verdicts = new Dictionary<(string Topic, int Partition), ErrorCode>();
        foreach (var byProducer in first.GroupBy(b => (b.ProducerId, b.ProducerEpoch)))
        {
            var answer = await verifier.VerifyAsync(transactionalId, byProducer.Key.ProducerId, byProducer.Key.ProducerEpoch,
                [.. byProducer.Select(b => (b.Topic, b.Partition))], cancellationToken).ConfigureAwait(false);
            foreach (var (partition, error) in answer)
            {
                // TRANSACTION_ABORTABLE is Produce v11's answer; older versions get INVALID_TXN_STATE, as Kafka converts it.
                verdicts[partition] = error == ErrorCode.TransactionAbortable && context.ApiVersion < 11 ? ErrorCode.InvalidTxnState : error;
            }
        }

        return await Produce(context, request, verdicts, cancellationToken).ConfigureAwait(false);
    }

    private ValueTask<IResponseMessage?> Produce(RequestContext context, ProduceRequest request,
        Dictionary<(string Topic, int Partition), ErrorCode>? remoteVerdicts, CancellationToken cancellationToken)
    {
        var version = context.ApiVersion;
        var acks = request.Acks;
        var response = new ProduceResponse();
        var anyError = false;
        List<(ProduceResponse.PartitionProduceResponse Response, string Topic, int Partition, long RequiredOffset)>? awaitingAcks = null;
        foreach (var topicData in request.TopicData)
        {
            var topicResponse = new ProduceResponse.TopicProduceResponse { Name = topicData.Name };
            response.Responses.Add(topicResponse);
            var topicKnown = _broker.Metadata.TryGetTopic(topicData.Name, out _);
            // Kafka lets clients append to internal topics only under the admin client id; the
            // coordinators write there through the replica manager, not through produce.
            var internalRefused = TopicNames.IsInternal(topicData.Name) && context.ClientId != AdminClientId;
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
                else if (internalRefused)
                {
                    result = ProducePartitionResult.Error(ErrorCode.InvalidTopicException, $"Cannot append to internal topic {topicData.Name}");
                }
                else if (!topicKnown)
                {
                    result = ProducePartitionResult.Error(ErrorCode.UnknownTopicOrPartition,
                        $"This server does not host this topic-partition.");
                }
                else if (RecordBatchValidator.ValidateProduceShape(partitionData.Records is { } r ? r.Span : default, version, out var recordsMessage) is var recordsError && recordsError != ErrorCode.None)
                {
                    result = ProducePartitionResult.Error(recordsError, recordsMessage);
                }
                else if (partitionData.Records is not { } records)
                {
                    result = ProducePartitionResult.Error(ErrorCode.InvalidRecord);
                }
                else if (request.TransactionalId is { } transactionalId
                    && (remoteVerdicts is not null && remoteVerdicts.TryGetValue((topicData.Name, partitionData.Index), out var remoteError)
                        ? remoteError
                        : _broker.Transactions.VerifyTransactionalProduce(transactionalId, records.Span, topicData.Name, partitionData.Index, version)) is var txnError
                    && txnError != ErrorCode.None)
                {
                    result = ProducePartitionResult.Error(txnError, $"The partition is not part of transaction {transactionalId} (or its coordinator could not tell).");
                }
                else
                {
                    // The records are a slice of the request frame, which the network layer lends us
                    // writable: storage patches base offsets and leader epochs in place.
                    result = _broker.ReplicaManager.AppendRecords(topicData.Name, partitionData.Index, MemoryMarshal.AsMemory(records), acks);
                }

                anyError |= result.ErrorCode != ErrorCode.None;
                var partitionResponse = ToResponse(partitionData.Index, result, version);
                topicResponse.PartitionResponses.Add(partitionResponse);
                if (acks == -1 && result.ErrorCode == ErrorCode.None && result.LastOffset >= 0 && _broker.ReplicaManager.Replication is not null)
                {
                    (awaitingAcks ??= []).Add((partitionResponse, topicData.Name, partitionData.Index, result.LastOffset + 1));
                }
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

        if (awaitingAcks is not null)
        {
            return new ValueTask<IResponseMessage?>(AwaitAcksAsync(response, awaitingAcks, TimeSpan.FromMilliseconds(Math.Max(0, request.TimeoutMs)), cancellationToken));
        }

        return Respond(response);
    }

    private async Task<IResponseMessage?> AwaitAcksAsync(
        ProduceResponse response,
        List<(ProduceResponse.PartitionProduceResponse Response, string Topic, int Partition, long RequiredOffset)> awaitingAcks,
        TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        var waits = awaitingAcks
            .Select(a => _broker.ReplicaManager.WaitForAcksAsync(a.Topic, a.Partition, a.RequiredOffset, timeout, cancellationToken))
            .ToArray();
        var errors = await Task.WhenAll(waits).ConfigureAwait(false);
        for (var i = 0; i < errors.Length; i++)
        {
            if (errors[i] != ErrorCode.None)
            {
                awaitingAcks[i].Response.ErrorCode = (short)errors[i];
            }
        }

        return response;
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
