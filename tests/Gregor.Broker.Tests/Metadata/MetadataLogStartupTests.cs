using Gregor.Broker.Metadata;
using Gregor.Host;
using Gregor.Protocol;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Broker.Tests.Metadata;

/// <summary>The lone node on its metadata log: the old topic file is imported once, and restarts leave epochs alone.</summary>
public sealed class MetadataLogStartupTests
{
    private static BrokerServer NewServer(string directory) => new(new Dictionary<string, string>
    {
        ["listeners"] = "PLAINTEXT://127.0.0.1:0",
        ["log.dirs"] = directory,
    });

    [Fact]
    public async Task AnExistingTopicFileIsImportedWithIdsEpochsAndConfigs()
    {
        using var directory = new TempDirectory("gregor-import");
        var store = new TopicMetadataStore(directory.Path, "", 1);
        store.Load();
        var created = store.CreateTopic("legacy", [[1], [1]], new Dictionary<string, string> { ["retention.ms"] = "4242" });

        await using var server = NewServer(directory.Path);
        await server.StartAsync();
        Assert.True(server.Metadata.TryGetTopic("legacy", out var topic));
        Assert.Equal(created.TopicId, topic.TopicId);
        Assert.Equal(2, topic.Partitions.Count);
        Assert.Equal("4242", topic.Configs["retention.ms"]);
        Assert.Equal(1, topic.Partitions[1].LeaderId);
        Assert.NotNull(server.ReplicaManager.GetPartition("legacy", 1));
        Assert.Equal(4242, server.ReplicaManager.GetPartition("legacy", 1)!.Log.Config.RetentionMs);
        Assert.Equal([1], server.Metadata.AliveBrokers.Select(b => b.NodeId));
        Assert.Equal(1, server.Metadata.ControllerId);
    }

    [Fact]
    public async Task RestartsDoNotBumpLeaderEpochsAndTheFileIsNotImportedTwice()
    {
        using var directory = new TempDirectory("gregor-epochs");
        Uuid id;
        await using (var first = NewServer(directory.Path))
        {
            await first.StartAsync();
            id = first.Metadata is ITopicMetadataWriter writer ? writer.CreateTopic("steady", [[1]], new Dictionary<string, string>()).TopicId : Uuid.Zero;
        }

        // A topic file appearing later (a copied-in older data dir) is not imported over the log.
        var store = new TopicMetadataStore(directory.Path, "", 1);
        store.Load();
        store.CreateTopic("late", [[1]], new Dictionary<string, string>());

        for (var restart = 0; restart < 2; restart++)
        {
            await using var server = NewServer(directory.Path);
            await server.StartAsync();
            Assert.True(server.Metadata.TryGetTopic("steady", out var topic));
            Assert.Equal(id, topic.TopicId);
            Assert.Equal((1, 0), (topic.Partitions[0].LeaderId, topic.Partitions[0].LeaderEpoch));
            Assert.False(server.Metadata.TryGetTopic("late", out _));
        }
    }
}
