using Gregor.Broker.Metadata;
using Gregor.Broker.Transactions;
using Gregor.Protocol;
using Gregor.Protocol.Messages;
using Gregor.Protocol.Records;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Broker.Tests.Handlers;

/// <summary>The remote marker channel: another node's partitions get a WriteTxnMarkers request, this node's are written locally.</summary>
public sealed class TxnMarkerChannelTests
{
    private sealed class RecordingChannel : ITxnMarkerChannel
    {
        public List<int> Calls { get; } = [];

        public ValueTask<IReadOnlyDictionary<(string Topic, int Partition), ErrorCode>> WriteMarkersAsync(int nodeId, IReadOnlyList<TxnMarkerEntry> markers, CancellationToken cancellationToken = default)
        {
            Calls.Add(nodeId);
            return ValueTask.FromResult<IReadOnlyDictionary<(string Topic, int Partition), ErrorCode>>(markers.SelectMany(m => m.Partitions).ToDictionary(p => p, _ => ErrorCode.None));
        }
    }

    [Fact]
    public async Task MarkersForAnotherNodeAreSentAsWriteTxnMarkersAndLandInItsLog()
    {
        const string topic = "remote-markers";
        await using var leader = await InProcessBroker.StartAsync();
        await using var client = await WireClient.ConnectAsync(leader.Server.BoundEndpoints[0]);
        Assert.Equal((short)ErrorCode.None, (await client.SendAsync<CreateTopicsResponse>(Requests.CreateTopic(topic, 1), 7)).Topics[0].ErrorCode);
        var init = await client.SendAsync<InitProducerIdResponse>(new InitProducerIdRequest { TransactionalId = null, TransactionTimeoutMs = 60_000 }, 4);
        var batch = new RecordBatchBuilder { ProducerId = init.ProducerId, ProducerEpoch = init.ProducerEpoch, BaseSequence = 0, IsTransactional = true }
            .Append(1_700_000_000_000, null, "x"u8.ToArray())
            .Build();
        Assert.Equal((short)ErrorCode.None, (await client.SendAsync<ProduceResponse>(Requests.Produce(topic, 0, batch), 9)).Responses[0].PartitionResponses[0].ErrorCode);
        var log = leader.Server.LogManager.GetLog(topic, 0)!;
        Assert.Equal(0, log.FirstUnstableOffset);

        // The broker's own node-to-node client carries the request, as TxnMarkerChannels.Create wires it.
        var endpoint = leader.Server.BoundEndpoints[0];
        await using var clients = new Gregor.Broker.Client.NodeClientPool("gregor-broker-1");
        var local = new RecordingChannel();
        var channel = new RemoteTxnMarkerChannel(1, local,
            node => node == 2 ? new BrokerEndpoint("PLAINTEXT", endpoint.Address.ToString(), endpoint.Port) : null,
            (ep, request, ct) => clients.SendAsync<WriteTxnMarkersResponse>(ep.Host, ep.Port, "txn-markers", request, 1, TimeSpan.FromSeconds(10), ct));

        var marker = new TxnMarkerEntry(init.ProducerId, init.ProducerEpoch, 0, Commit: true, [(topic, 0), (topic, 4)]);
        var remote = await channel.WriteMarkersAsync(2, [marker]);
        Assert.Equal(ErrorCode.None, remote[(topic, 0)]);
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, remote[(topic, 4)]);
        Assert.Equal(-1, log.FirstUnstableOffset);
        Assert.Equal(2, log.LogEndOffset);
        Assert.Empty(local.Calls);

        // This node's partitions stay local; a node without an endpoint (not alive) answers NOT_LEADER_OR_FOLLOWER.
        Assert.Equal(ErrorCode.None, (await channel.WriteMarkersAsync(1, [marker]))[(topic, 0)]);
        Assert.Equal([1], local.Calls);
        Assert.Equal(ErrorCode.NotLeaderOrFollower, (await channel.WriteMarkersAsync(3, [marker]))[(topic, 0)]);
    }
}
