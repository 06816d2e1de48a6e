using Confluent.Kafka.Admin;
using Gregor.Broker.Client;
using Gregor.Broker.Tests.Handlers;
using Gregor.Protocol;
using Gregor.Protocol.Messages;
using Gregor.Protocol.Records;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Broker.Tests.Cluster;

/// <summary>
/// KIP-890 part 1 across brokers: a partition leader that does not coordinate the transactional id
/// asks the coordinator (AddPartitionsToTxn v5, verify only) before appending the first batch of a
/// transaction, and refuses a partition the transaction never added.
/// </summary>
public sealed class RemoteTransactionVerificationTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task ALeaderThatIsNotTheCoordinatorAsksItBeforeAppending()
    {
        const string topic = "remote-verify";
        const string transactionalId = "remote-verify-t";
        await using var cluster = await InProcessCluster.StartAsync(3, new Dictionary<string, string> { ["transaction.state.log.num.partitions"] = "1" });
        await cluster.WaitForBrokersAsync();
        using (var admin = Clients.Admin(cluster.BootstrapServers))
        {
            await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = 3, ReplicationFactor = 3 }]);
        }

        await using var pool = new NodeClientPool("remote-verification-test");
        var any = cluster.RunningServers[0];
        var (anyHost, anyPort) = HostPort(any.BootstrapServers);

        // FindCoordinator creates __transaction_state on first use; retry until its leader is known.
        FindCoordinatorResponse.Coordinator coordinator;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var found = await pool.SendAsync<FindCoordinatorResponse>(anyHost, anyPort, "t",
                new FindCoordinatorRequest { KeyType = 1, CoordinatorKeys = [transactionalId] }, 4, Timeout, CancellationToken.None);
            coordinator = found.Coordinators[0];
            if (coordinator.ErrorCode == (short)ErrorCode.None || DateTime.UtcNow > deadline)
            {
                break;
            }

            await Task.Delay(200);
        }

        Assert.Equal((short)ErrorCode.None, coordinator.ErrorCode);
        InitProducerIdResponse init;
        do
        {
            init = await pool.SendAsync<InitProducerIdResponse>(coordinator.Host, coordinator.Port, "t",
                new InitProducerIdRequest { TransactionalId = transactionalId, TransactionTimeoutMs = 60_000 }, 4, Timeout, CancellationToken.None);
            if (init.ErrorCode != (short)ErrorCode.None)
            {
                await Task.Delay(200);
            }
        }
        while (init.ErrorCode != (short)ErrorCode.None && DateTime.UtcNow < deadline);

        Assert.Equal((short)ErrorCode.None, init.ErrorCode);

        // Two partitions led by brokers other than the coordinator: one added to the transaction, one not.
        Assert.True(any.Metadata.TryGetTopic(topic, out var metadata));
        var others = metadata.Partitions.Where(p => p.LeaderId != coordinator.NodeId).ToList();
        Assert.True(others.Count >= 2, "round robin gives two of three leaderships to the other brokers");
        var (added, notAdded) = (others[0], others[1]);
        var addResponse = await pool.SendAsync<AddPartitionsToTxnResponse>(coordinator.Host, coordinator.Port, "t", new AddPartitionsToTxnRequest
        {
            V3AndBelowTransactionalId = transactionalId,
            V3AndBelowProducerId = init.ProducerId,
            V3AndBelowProducerEpoch = init.ProducerEpoch,
            V3AndBelowTopics = [new AddPartitionsToTxnRequest.AddPartitionsToTxnTopic { Name = topic, Partitions = [added.PartitionIndex] }],
        }, 3, Timeout, CancellationToken.None);
        Assert.Equal((short)ErrorCode.None, addResponse.ResultsByTopicV3AndBelow[0].ResultsByPartition[0].PartitionErrorCode);

        async Task<short> ProduceAsync(int partition, int leader, short version)
        {
            var batch = new RecordBatchBuilder { ProducerId = init.ProducerId, ProducerEpoch = init.ProducerEpoch, BaseSequence = 0, IsTransactional = true }
                .Append(1_700_000_000_000, null, "v"u8.ToArray())
                .Build();
            var request = Requests.Produce(topic, partition, batch);
            request.TransactionalId = transactionalId;
            var (host, port) = HostPort(cluster.Server(leader).BootstrapServers);
            var response = await pool.SendAsync<ProduceResponse>(host, port, "t", request, version, Timeout, CancellationToken.None);
            return response.Responses[0].PartitionResponses[0].ErrorCode;
        }

        Assert.Equal((short)ErrorCode.TransactionAbortable, await ProduceAsync(notAdded.PartitionIndex, notAdded.LeaderId, 11));
        Assert.Equal((short)ErrorCode.InvalidTxnState, await ProduceAsync(notAdded.PartitionIndex, notAdded.LeaderId, 9));
        Assert.Equal(0, cluster.Server(notAdded.LeaderId).LogManager.GetLog(topic, notAdded.PartitionIndex)!.LogEndOffset);
        Assert.Equal((short)ErrorCode.None, await ProduceAsync(added.PartitionIndex, added.LeaderId, 11));
        Assert.Equal(1, cluster.Server(added.LeaderId).LogManager.GetLog(topic, added.PartitionIndex)!.LogEndOffset);
    }

    private static (string Host, int Port) HostPort(string bootstrap)
    {
        var colon = bootstrap.LastIndexOf(':');
        return (bootstrap[..colon], int.Parse(bootstrap[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }
}
