using Gregor.Broker.Metadata;
using Gregor.Metadata.Controller;
using Gregor.Metadata.Quorum;
using Gregor.Protocol;
using Gregor.TestKit;
using Xunit;
using ImageEndpoint = Gregor.Metadata.Image.BrokerEndpoint;

namespace Gregor.Broker.Tests.Metadata;

/// <summary>The broker's metadata view over the KRaft image, on the single node's quorum of one.</summary>
public sealed class ImageMetadataViewTests
{
    private static async Task<(LocalMetadataQuorum, QuorumController, ImageMetadataView)> SingleNode(string? directory = null)
    {
        var quorum = new LocalMetadataQuorum(1, directory);
        await quorum.StartAsync(CancellationToken.None);
        var controller = new QuorumController(quorum, new QuorumControllerOptions(), new ManualTimeProvider());
        var registration = await controller.RegisterBrokerAsync(
            new BrokerRegistrationRequestData(1, new Uuid(5, 5), [new ImageEndpoint("PLAINTEXT", "localhost", 9092, 0)]), CancellationToken.None);
        if (controller.Image.Brokers[1].Fenced)
        {
            await controller.BrokerHeartbeatAsync(1, registration.BrokerEpoch, controller.Image.Offset, false, false, CancellationToken.None);
        }

        return (quorum, controller, new ImageMetadataView(controller, "cluster-a"));
    }

    [Fact]
    public async Task TopicsCreatedAndDeletedThroughTheControllerAppearInTheView()
    {
        var (quorum, controller, view) = await SingleNode();
        await using var ownedQuorum = quorum;
        await using var ownedController = controller;

        var changes = new List<(string? Removed, string? Added)>();
        view.TopicsChanged += (removed, added) => changes.Add((removed?.Name, added?.Name));

        Assert.Equal("cluster-a", view.ClusterId);
        Assert.Equal(1, view.ControllerId);
        var broker = Assert.Single(view.AliveBrokers);
        Assert.Equal(9092, broker.EndpointFor("PLAINTEXT")!.Port);

        var created = view.CreateTopic("orders", [[1], [1], [1]], new Dictionary<string, string> { ["cleanup.policy"] = "compact" });
        Assert.Equal(3, created.Partitions.Count);
        Assert.All(created.Partitions, p => Assert.Equal(1, p.LeaderId));
        Assert.Equal("compact", created.Configs["cleanup.policy"]);
        Assert.True(view.TryGetTopic(created.TopicId, out var byId));
        Assert.Same(created, byId);

        var duplicate = Assert.Throws<TopicMetadataException>(() => view.CreateTopic("orders", [[1]], new Dictionary<string, string>()));
        Assert.Equal(ErrorCode.TopicAlreadyExists, duplicate.ErrorCode);

        view.CreateTopic("other", [[1]], new Dictionary<string, string>());
        Assert.Same(created, view.Topics.Single(t => t.Name == "orders"));

        Assert.Same(created, view.DeleteTopic("orders"));
        Assert.Null(view.DeleteTopic("orders"));
        Assert.False(view.TryGetTopic("orders", out _));
        Assert.Equal([(null, "orders"), (null, "other"), ("orders", null)], changes);
    }

    [Fact]
    public async Task ConfigsAreReplacedAndPartitionsAddedAsChangesOfTheSameTopic()
    {
        var (quorum, controller, view) = await SingleNode();
        await using var ownedQuorum = quorum;
        await using var ownedController = controller;
        var created = view.CreateTopic("t", [[1]], new Dictionary<string, string> { ["retention.ms"] = "1000", ["cleanup.policy"] = "compact" });
        var changes = new List<(TopicMetadata? Old, TopicMetadata? New)>();
        view.TopicsChanged += (old, now) => changes.Add((old, now));

        var altered = view.AlterTopicConfigs("t", new Dictionary<string, string> { ["retention.ms"] = "2000" });
        Assert.Equal(new Dictionary<string, string> { ["retention.ms"] = "2000" }, altered.Configs);
        Assert.Equal(created.TopicId, altered.TopicId);

        var grown = view.AddPartitions("t", [[1], [1]]);
        Assert.Equal([0, 1, 2], grown.Partitions.Select(p => p.PartitionIndex));
        Assert.Equal(1, grown.Partitions[2].LeaderId);

        Assert.Equal(ErrorCode.UnknownTopicOrPartition,
            Assert.Throws<TopicMetadataException>(() => view.AddPartitions("missing", [[1]])).ErrorCode);
        Assert.Equal(ErrorCode.InvalidReplicaAssignment,
            Assert.Throws<TopicMetadataException>(() => view.AddPartitions("t", [[9]])).ErrorCode);
        Assert.Equal([(created, altered), (altered, grown)], changes.Select(c => (c.Old!, c.New!)));
    }

    [Fact]
    public async Task TheViewIsRebuiltFromTheMetadataLogAfterARestart()
    {
        using var dir = new TempDirectory();
        Uuid topicId;
        {
            var (quorum, controller, view) = await SingleNode(dir.Path);
            topicId = view.CreateTopic("kept", [[1], [1]], new Dictionary<string, string>()).TopicId;
            await controller.DisposeAsync();
            await quorum.DisposeAsync();
        }

        {
            var (quorum, controller, view) = await SingleNode(dir.Path);
            await using var ownedQuorum = quorum;
            await using var ownedController = controller;
            Assert.True(view.TryGetTopic("kept", out var kept));
            Assert.Equal(topicId, kept.TopicId);
            Assert.Equal(2, kept.Partitions.Count);
            Assert.Single(view.AliveBrokers);
        }
    }
}
