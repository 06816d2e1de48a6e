using Gregor.Protocol;
using Gregor.Protocol.Messages;
using Gregor.Protocol.Records;
using Xunit;

namespace Gregor.Broker.Tests.Handlers;

/// <summary>WriteTxnMarkers over the wire: the control batch in the log, the last stable offset, per-partition errors.</summary>
public sealed class WriteTxnMarkersTests : IClassFixture<BrokerFixture>
{
    private readonly BrokerFixture _broker;

    public WriteTxnMarkersTests(BrokerFixture broker)
    {
        _broker = broker;
    }

    private static async Task<long> LastStableOffsetAsync(WireClient client, string topic)
    {
        var request = Requests.ListOffsets(topic, 0, -1);
        request.IsolationLevel = 1; // read_committed: the latest offset is the last stable offset
        var response = await client.SendAsync<ListOffsetsResponse>(request, 5);
        var partition = response.Topics[0].Partitions[0];
        Assert.Equal((short)ErrorCode.None, partition.ErrorCode);
        return partition.Offset;
    }

    [Fact]
    public async Task ACommitMarkerIsAppendedAsAControlBatchAndMovesTheLastStableOffset()
    {
        const string topic = "wtm";
        await using var client = await _broker.ConnectAsync();
        Assert.Equal((short)ErrorCode.None, (await client.SendAsync<CreateTopicsResponse>(Requests.CreateTopic(topic, 1), 7)).Topics[0].ErrorCode);
        var init = await client.SendAsync<InitProducerIdResponse>(new InitProducerIdRequest { TransactionalId = null, TransactionTimeoutMs = 60_000 }, 4);
        var (pid, epoch) = (init.ProducerId, init.ProducerEpoch);

        var batch = new RecordBatchBuilder { ProducerId = pid, ProducerEpoch = epoch, BaseSequence = 0, IsTransactional = true }
            .Append(1_700_000_000_000, null, "a"u8.ToArray())
            .Append(1_700_000_000_000, null, "b"u8.ToArray())
            .Build();
        var produced = await client.SendAsync<ProduceResponse>(Requests.Produce(topic, 0, batch), 9);
        Assert.Equal((short)ErrorCode.None, produced.Responses[0].PartitionResponses[0].ErrorCode);
        Assert.Equal(0, await LastStableOffsetAsync(client, topic));

        var response = await client.SendAsync<WriteTxnMarkersResponse>(new WriteTxnMarkersRequest
        {
            Markers =
            [
                new WriteTxnMarkersRequest.WritableTxnMarker
                {
                    ProducerId = pid,
                    ProducerEpoch = epoch,
                    TransactionResult = true,
                    CoordinatorEpoch = 7,
                    Topics =
                    [
                        new WriteTxnMarkersRequest.WritableTxnMarkerTopic { Name = topic, PartitionIndexes = [0, 5] },
                        new WriteTxnMarkersRequest.WritableTxnMarkerTopic { Name = "wtm-nobody", PartitionIndexes = [0] },
                    ],
                },
            ],
        }, 1);

        var result = Assert.Single(response.Markers);
        Assert.Equal(pid, result.ProducerId);
        Assert.Equal([(short)ErrorCode.None, (short)ErrorCode.UnknownTopicOrPartition], result.Topics[0].Partitions.Select(p => p.ErrorCode));
        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, result.Topics[1].Partitions[0].ErrorCode);
        Assert.Equal(3, await LastStableOffsetAsync(client, topic));

        // The marker in the log: a transactional control batch at offset 2 of the producer, with
        // Kafka's COMMIT key (version 0, type 1) and value (version 0, coordinator epoch 7).
        var log = _broker.Server.LogManager.GetLog(topic, 0)!;
        Assert.Equal(3, log.LogEndOffset);
        using var read = log.Read(2, 1 << 20, log.LogEndOffset, minOneBatch: true);
        var bytes = read.Records.Span;
        Assert.Equal(2, RecordBatch.BaseOffset(bytes));
        Assert.Equal(RecordBatch.SizeInBytes(bytes), bytes.Length);
        Assert.True(RecordBatch.IsControl(bytes));
        Assert.True(RecordBatch.IsTransactional(bytes));
        Assert.Equal(pid, RecordBatch.ProducerId(bytes));
        Assert.Equal(epoch, RecordBatch.ProducerEpoch(bytes));
        using var reader = new RecordReader(bytes);
        Assert.True(reader.TryReadNext(out var record));
        Assert.Equal(new byte[] { 0, 0, 0, 1 }, record.Key.ToArray());
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0, 7 }, record.Value.ToArray());
    }
}
