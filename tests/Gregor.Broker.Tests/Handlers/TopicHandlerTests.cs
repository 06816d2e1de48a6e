using Gregor.Protocol;
using Gregor.Protocol.Messages;
using Xunit;

namespace Gregor.Broker.Tests.Handlers;

/// <summary>Metadata, CreateTopics, DeleteTopics, DescribeConfigs, ListOffsets and DescribeCluster.</summary>
public sealed class TopicHandlerTests : IClassFixture<BrokerFixture>
{
    private readonly BrokerFixture _broker;

    public TopicHandlerTests(BrokerFixture broker)
    {
        _broker = broker;
    }

    [Fact]
    public async Task MetadataAutoCreatesWhenAllowed()
    {
        await using var client = await _broker.ConnectAsync();
        var response = await client.SendAsync<MetadataResponse>(Requests.Metadata(true, "auto-created"), 12);
        var topic = Assert.Single(response.Topics);
        Assert.Equal((short)ErrorCode.None, topic.ErrorCode);
        Assert.False(topic.TopicId.IsZero);
        var partition = Assert.Single(topic.Partitions);
        Assert.Equal(1, partition.LeaderId);
        Assert.Equal([1], partition.IsrNodes);
        Assert.Equal(int.MinValue, topic.TopicAuthorizedOperations);

        var broker = Assert.Single(response.Brokers);
        Assert.Equal(1, broker.NodeId);
        Assert.Equal(_broker.Server.BoundEndpoints[0].Port, broker.Port);
        Assert.Equal(1, response.ControllerId);
        Assert.False(string.IsNullOrEmpty(response.ClusterId));
    }

    [Fact]
    public async Task InternalTopicsAreAutoCreatedWithTheirOwnSettingsAndRefuseClientProduce()
    {
        await using var client = await _broker.ConnectAsync();
        var response = await client.SendAsync<MetadataResponse>(Requests.Metadata(true, "__consumer_offsets"), 12);
        var topic = Assert.Single(response.Topics);
        Assert.Equal((short)ErrorCode.None, topic.ErrorCode);
        Assert.True(topic.IsInternal);
        Assert.Equal(50, topic.Partitions.Count);

        var configs = await client.SendAsync<DescribeConfigsResponse>(new DescribeConfigsRequest
        {
            Resources = [new() { ResourceType = 2, ResourceName = "__consumer_offsets", ConfigurationKeys = ["cleanup.policy"] }],
        }, 4);
        Assert.Equal("compact", Assert.Single(configs.Results[0].Configs).Value);

        var produce = await client.SendAsync<ProduceResponse>(Requests.Produce("__consumer_offsets", 0, Requests.Batch(1)), 9);
        Assert.Equal((short)ErrorCode.InvalidTopicException, produce.Responses[0].PartitionResponses[0].ErrorCode);
    }

    [Fact]
    public async Task MetadataDoesNotCreateWhenNotAllowedAndRejectsBadNames()
    {
        await using var client = await _broker.ConnectAsync();
        var response = await client.SendAsync<MetadataResponse>(Requests.Metadata(false, "not-created", "bad/name"), 12);
        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, response.Topics[0].ErrorCode);
        Assert.Equal((short)ErrorCode.InvalidTopicException, response.Topics[1].ErrorCode);
    }

    [Fact]
    public async Task MetadataByTopicIdAndAllTopics()
    {
        await using var client = await _broker.ConnectAsync();
        var created = await client.SendAsync<CreateTopicsResponse>(Requests.CreateTopic("meta-by-id", 3), 7);
        var topicId = created.Topics[0].TopicId;

        var byId = await client.SendAsync<MetadataResponse>(new MetadataRequest { Topics = [new() { TopicId = topicId, Name = null }] }, 12);
        Assert.Equal("meta-by-id", byId.Topics[0].Name);
        Assert.Equal(3, byId.Topics[0].Partitions.Count);

        var unknownId = await client.SendAsync<MetadataResponse>(new MetadataRequest { Topics = [new() { TopicId = Uuid.NewRandom(), Name = null }] }, 12);
        Assert.Equal((short)ErrorCode.UnknownTopicId, unknownId.Topics[0].ErrorCode);

        var all = await client.SendAsync<MetadataResponse>(new MetadataRequest { Topics = null }, 12);
        Assert.Contains(all.Topics, t => t.Name == "meta-by-id");
        var v0 = await client.SendAsync<MetadataResponse>(new MetadataRequest { Topics = [] }, 0);
        Assert.Contains(v0.Topics, t => t.Name == "meta-by-id");
    }

    [Fact]
    public async Task MetadataV13AddsTheTopLevelErrorCode()
    {
        await using var client = await _broker.ConnectAsync();
        var request = new MetadataRequest { Topics = null };
        var v12Correlation = await client.WriteRequestAsync(request, 12);
        var v12 = await client.ReadFrameAsync();
        // Metadata v13's request is v12's (KIP-1102 changed only the response).
        await client.WriteRequestAsync(request, 12, headerVersionNumber: 13);
        var v13 = await client.ReadFrameAsync();
        Assert.NotNull(v12);
        Assert.NotNull(v13);
        Assert.Equal(v12.Length + 2, v13.Length);
        // Same body up to the trailing tagged fields, then ErrorCode 0 and the (empty) tagged fields.
        Assert.Equal(v12.AsSpan(4, v12.Length - 5).ToArray(), v13.AsSpan(4, v12.Length - 5).ToArray());
        Assert.Equal(new byte[] { 0, 0, 0 }, v13.AsSpan(v13.Length - 3).ToArray());
        Assert.Equal(v12Correlation + 1, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(v13));
    }

    [Fact]
    public async Task CreateTopicsRules()
    {
        await using var client = await _broker.ConnectAsync();
        var ok = await client.SendAsync<CreateTopicsResponse>(Requests.CreateTopic("create-rules", 2, -1, false, ("retention.ms", "1000")), 7);
        var result = Assert.Single(ok.Topics);
        Assert.Equal((short)ErrorCode.None, result.ErrorCode);
        Assert.Equal(2, result.NumPartitions);
        Assert.Equal(1, result.ReplicationFactor);
        Assert.False(result.TopicId.IsZero);
        var retention = Assert.Single(result.Configs!, c => c.Name == "retention.ms");
        Assert.Equal("1000", retention.Value);
        Assert.Equal(1, retention.ConfigSource); // DYNAMIC_TOPIC_CONFIG

        Assert.Equal((short)ErrorCode.TopicAlreadyExists, (await client.SendAsync<CreateTopicsResponse>(Requests.CreateTopic("create-rules"), 7)).Topics[0].ErrorCode);
        Assert.Equal((short)ErrorCode.InvalidReplicationFactor, (await client.SendAsync<CreateTopicsResponse>(Requests.CreateTopic("create-rf3", 1, 3), 7)).Topics[0].ErrorCode);
        Assert.Equal((short)ErrorCode.InvalidPartitions, (await client.SendAsync<CreateTopicsResponse>(Requests.CreateTopic("create-p0", 0), 7)).Topics[0].ErrorCode);
        Assert.Equal((short)ErrorCode.InvalidTopicException, (await client.SendAsync<CreateTopicsResponse>(Requests.CreateTopic("bad name!"), 7)).Topics[0].ErrorCode);
        Assert.Equal((short)ErrorCode.None, (await client.SendAsync<CreateTopicsResponse>(Requests.CreateTopic("create_collide"), 7)).Topics[0].ErrorCode);
        // '.' and '_' collide in metric names, so Kafka refuses the second.
        Assert.Equal((short)ErrorCode.InvalidTopicException, (await client.SendAsync<CreateTopicsResponse>(Requests.CreateTopic("create.collide"), 7)).Topics[0].ErrorCode);
        Assert.Equal((short)ErrorCode.InvalidConfig, (await client.SendAsync<CreateTopicsResponse>(Requests.CreateTopic("create-badcfg", 1, 1, false, ("retention.ms", "soon")), 7)).Topics[0].ErrorCode);
        Assert.Equal((short)ErrorCode.InvalidConfig, (await client.SendAsync<CreateTopicsResponse>(Requests.CreateTopic("create-unknowncfg", 1, 1, false, ("no.such.config", "1")), 7)).Topics[0].ErrorCode);

        var assignment = Requests.CreateTopic("create-assigned", -1, -1);
        assignment.Topics[0].Assignments.Add(new CreateTopicsRequest.CreatableReplicaAssignment { PartitionIndex = 0, BrokerIds = [2] });
        Assert.Equal((short)ErrorCode.InvalidReplicaAssignment, (await client.SendAsync<CreateTopicsResponse>(assignment, 7)).Topics[0].ErrorCode);

        var validateOnly = await client.SendAsync<CreateTopicsResponse>(Requests.CreateTopic("create-validate-only", 4, 1, validateOnly: true), 7);
        Assert.Equal((short)ErrorCode.None, validateOnly.Topics[0].ErrorCode);
        Assert.Equal(4, validateOnly.Topics[0].NumPartitions);
        var metadata = await client.SendAsync<MetadataResponse>(Requests.Metadata(false, "create-validate-only"), 12);
        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, metadata.Topics[0].ErrorCode);
    }

    [Fact]
    public async Task DeleteTopicsByNameAndById()
    {
        await using var client = await _broker.ConnectAsync();
        await client.SendAsync<CreateTopicsResponse>(Requests.CreateTopic("delete-by-name"), 7);
        var byId = (await client.SendAsync<CreateTopicsResponse>(Requests.CreateTopic("delete-by-id"), 7)).Topics[0].TopicId;
        await client.SendAsync<ProduceResponse>(Requests.Produce("delete-by-name", 0, Requests.Batch(1)), 9);

        var v5 = await client.SendAsync<DeleteTopicsResponse>(new DeleteTopicsRequest { TopicNames = ["delete-by-name", "delete-missing"], TimeoutMs = 1000 }, 5);
        Assert.Equal((short)ErrorCode.None, v5.Responses.Single(r => r.Name == "delete-by-name").ErrorCode);
        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, v5.Responses.Single(r => r.Name == "delete-missing").ErrorCode);

        var v6 = await client.SendAsync<DeleteTopicsResponse>(new DeleteTopicsRequest { Topics = [new() { Name = null, TopicId = byId }], TimeoutMs = 1000 }, 6);
        Assert.Equal((short)ErrorCode.None, v6.Responses[0].ErrorCode);
        Assert.Equal("delete-by-id", v6.Responses[0].Name);

        var metadata = await client.SendAsync<MetadataResponse>(Requests.Metadata(false, "delete-by-name", "delete-by-id"), 12);
        Assert.All(metadata.Topics, t => Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, t.ErrorCode));
        Assert.False(Directory.Exists(Path.Combine(_broker.DataDirectory, "delete-by-name-0")));

        // A re-created topic starts empty, with a new id.
        var recreated = await client.SendAsync<CreateTopicsResponse>(Requests.CreateTopic("delete-by-name"), 7);
        Assert.Equal((short)ErrorCode.None, recreated.Topics[0].ErrorCode);
        var latest = await client.SendAsync<ListOffsetsResponse>(Requests.ListOffsets("delete-by-name", 0, -1), 7);
        Assert.Equal(0, latest.Topics[0].Partitions[0].Offset);
    }

    [Fact]
    public async Task ListOffsetsEarliestLatestAndByTimestamp()
    {
        await using var client = await _broker.ConnectAsync();
        await client.SendAsync<CreateTopicsResponse>(Requests.CreateTopic("list-offsets"), 7);
        await client.SendAsync<ProduceResponse>(Requests.Produce("list-offsets", 0, Requests.Batch(5, timestamp: 1000)), 9);
        await client.SendAsync<ProduceResponse>(Requests.Produce("list-offsets", 0, Requests.Batch(5, timestamp: 2000)), 9);

        async Task<ListOffsetsResponse.ListOffsetsPartitionResponse> List(long timestamp, short version = 7) =>
            (await client.SendAsync<ListOffsetsResponse>(Requests.ListOffsets("list-offsets", 0, timestamp), version)).Topics[0].Partitions[0];

        Assert.Equal(0, (await List(-2)).Offset);
        Assert.Equal(10, (await List(-1)).Offset);
        Assert.Equal(10, (await List(-1, 1)).Offset);
        var byTime = await List(2002);
        Assert.Equal(7, byTime.Offset);
        Assert.Equal(2002, byTime.Timestamp);
        Assert.Equal(0, byTime.LeaderEpoch);
        var max = await List(-3);
        Assert.Equal(9, max.Offset);
        Assert.Equal(2004, max.Timestamp);
        Assert.Equal(-1, (await List(99_999)).Offset);

        var unknown = await client.SendAsync<ListOffsetsResponse>(Requests.ListOffsets("list-offsets-nope", 0, -1), 7);
        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, unknown.Topics[0].Partitions[0].ErrorCode);
    }

    [Fact]
    public async Task DescribeConfigsForTopicsAndTheBroker()
    {
        await using var client = await _broker.ConnectAsync();
        await client.SendAsync<CreateTopicsResponse>(Requests.CreateTopic("describe-configs", 1, 1, false, ("cleanup.policy", "compact")), 7);
        var response = await client.SendAsync<DescribeConfigsResponse>(new DescribeConfigsRequest
        {
            Resources =
            [
                new() { ResourceType = 2, ResourceName = "describe-configs", ConfigurationKeys = null },
                new() { ResourceType = 4, ResourceName = "1", ConfigurationKeys = ["num.partitions", "log.dirs"] },
                new() { ResourceType = 2, ResourceName = "describe-missing", ConfigurationKeys = null },
            ],
            IncludeSynonyms = true,
        }, 4);

        var topic = response.Results[0];
        Assert.Equal((short)ErrorCode.None, topic.ErrorCode);
        var policy = topic.Configs.Single(c => c.Name == "cleanup.policy");
        Assert.Equal("compact", policy.Value);
        Assert.Equal(1, policy.ConfigSource);
        Assert.Equal(7, policy.ConfigType); // LIST
        Assert.Null(policy.Documentation);
        Assert.Equal(["cleanup.policy", "log.cleanup.policy"], policy.Synonyms.Select(s => s.Name));
        var retention = topic.Configs.Single(c => c.Name == "retention.ms");
        Assert.Equal("604800000", retention.Value);
        Assert.Equal(5, retention.ConfigSource); // DEFAULT_CONFIG
        Assert.Equal(5, retention.ConfigType); // LONG

        var broker = response.Results[1];
        Assert.Equal((short)ErrorCode.None, broker.ErrorCode);
        Assert.Equal("1", broker.Configs.Single(c => c.Name == "num.partitions").Value);
        Assert.Equal(4, broker.Configs.Single(c => c.Name == "num.partitions").ConfigSource); // STATIC_BROKER_CONFIG

        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, response.Results[2].ErrorCode);
    }

    [Fact]
    public async Task FindCoordinatorAnswersThisBroker()
    {
        await using var client = await _broker.ConnectAsync();
        var port = _broker.Server.BoundEndpoints[0].Port;
        var v3 = await client.SendAsync<FindCoordinatorResponse>(new FindCoordinatorRequest { Key = "group-a", KeyType = 0 }, 3);
        Assert.Equal((short)ErrorCode.None, v3.ErrorCode);
        Assert.Equal(1, v3.NodeId);
        Assert.Equal(port, v3.Port);

        var v6 = await client.SendAsync<FindCoordinatorResponse>(new FindCoordinatorRequest { KeyType = 1, CoordinatorKeys = ["txn-a", ""] }, 6);
        Assert.Equal(2, v6.Coordinators.Count);
        Assert.Equal((short)ErrorCode.None, v6.Coordinators[0].ErrorCode);
        Assert.Equal(port, v6.Coordinators[0].Port);
        Assert.Equal((short)ErrorCode.InvalidRequest, v6.Coordinators[1].ErrorCode);
    }

    [Fact]
    public async Task DescribeClusterListsThisBroker()
    {
        await using var client = await _broker.ConnectAsync();
        var response = await client.SendAsync<DescribeClusterResponse>(new DescribeClusterRequest { EndpointType = 1 }, 1);
        Assert.Equal((short)ErrorCode.None, response.ErrorCode);
        var broker = Assert.Single(response.Brokers);
        Assert.Equal(1, broker.BrokerId);
        Assert.Equal(_broker.Server.BoundEndpoints[0].Port, broker.Port);
        Assert.Equal(1, response.ControllerId);

        var controllers = await client.SendAsync<DescribeClusterResponse>(new DescribeClusterRequest { EndpointType = 2 }, 1);
        Assert.Equal((short)ErrorCode.MismatchedEndpointType, controllers.ErrorCode);
    }
}
