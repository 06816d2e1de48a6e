using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Gregor.TestKit;
using Xunit;
using static Gregor.Broker.Tests.Lifecycle.LifecycleHelpers;

namespace Gregor.Broker.Tests.Lifecycle;

public sealed class TopicConfigTests
{
    private static ConfigResource Topic(string name) => new() { Type = ResourceType.Topic, Name = name };

    private static async Task<ConfigEntryResult> DescribeAsync(IAdminClient admin, string topic, string name)
    {
        var described = await admin.DescribeConfigsAsync([Topic(topic)]);
        return described.Single().Entries[name];
    }

    [Fact]
    public async Task IncrementalAlterRetentionIsDescribedAppliedLiveAndSurvivesRestart()
    {
        await using var broker = await InProcessBroker.StartAsync(FastRetention());
        var bs = broker.BootstrapServers;
        await Clients.CreateTopicAsync(bs, "alter-ret", 1, new Dictionary<string, string> { ["segment.bytes"] = "1024" });
        await ProduceAsync(bs, "alter-ret", 0, 40, DateTime.UtcNow.AddHours(-2));
        var log = broker.Server.ReplicaManager.GetPartition("alter-ret", 0)!.Log;

        // Default retention (7 days) keeps two-hour-old records.
        broker.Server.LogManager.RunBackgroundJobs();
        Assert.Equal(0, log.LogStartOffset);

        using (var admin = Clients.Admin(bs))
        {
            Assert.Equal(ConfigSource.DefaultConfig, (await DescribeAsync(admin, "alter-ret", "retention.ms")).Source);
            await admin.IncrementalAlterConfigsAsync(new Dictionary<ConfigResource, List<ConfigEntry>>
            {
                [Topic("alter-ret")] = [new ConfigEntry { Name = "retention.ms", Value = "60000", IncrementalOperation = AlterConfigOpType.Set }],
            });

            var entry = await DescribeAsync(admin, "alter-ret", "retention.ms");
            Assert.Equal("60000", entry.Value);
            Assert.Equal(ConfigSource.DynamicTopicConfig, entry.Source);
        }

        // Applied to the live log without a restart: the old segments go.
        Assert.Equal(60000, log.Config.RetentionMs);
        await EventuallyAsync(() => log.LogStartOffset, s => s > 0, TimeSpan.FromSeconds(10));
        Assert.True(log.LogStartOffset > 0);

        await broker.RestartAsync();
        Assert.Equal(60000, broker.Server.ReplicaManager.GetPartition("alter-ret", 0)!.Log.Config.RetentionMs);
        using (var admin = Clients.Admin(broker.BootstrapServers))
        {
            var entry = await DescribeAsync(admin, "alter-ret", "retention.ms");
            Assert.Equal("60000", entry.Value);
            Assert.Equal(ConfigSource.DynamicTopicConfig, entry.Source);
            // segment.bytes, set at creation, is still an override after the incremental change.
            Assert.Equal("1024", (await DescribeAsync(admin, "alter-ret", "segment.bytes")).Value);
        }
    }

    [Fact]
    public async Task IncrementalOperationsAppendSubtractDeleteAndValidateOnly()
    {
        await using var broker = await InProcessBroker.StartAsync();
        var bs = broker.BootstrapServers;
        await Clients.CreateTopicAsync(bs, "ops", 1, new Dictionary<string, string> { ["retention.ms"] = "1000000" });
        using var admin = Clients.Admin(bs);

        async Task AlterAsync(bool validateOnly, params ConfigEntry[] entries) =>
            await admin.IncrementalAlterConfigsAsync(
                new Dictionary<ConfigResource, List<ConfigEntry>> { [Topic("ops")] = [.. entries] },
                new IncrementalAlterConfigsOptions { ValidateOnly = validateOnly });

        await AlterAsync(false, new ConfigEntry { Name = "cleanup.policy", Value = "compact", IncrementalOperation = AlterConfigOpType.Append });
        Assert.Equal("delete,compact", (await DescribeAsync(admin, "ops", "cleanup.policy")).Value);
        Assert.True(broker.Server.ReplicaManager.GetPartition("ops", 0)!.Log.Config.Compact);

        await AlterAsync(false, new ConfigEntry { Name = "cleanup.policy", Value = "delete", IncrementalOperation = AlterConfigOpType.Subtract });
        Assert.Equal("compact", (await DescribeAsync(admin, "ops", "cleanup.policy")).Value);

        await AlterAsync(false, new ConfigEntry { Name = "retention.ms", IncrementalOperation = AlterConfigOpType.Delete });
        var retention = await DescribeAsync(admin, "ops", "retention.ms");
        Assert.Equal("604800000", retention.Value);
        Assert.Equal(ConfigSource.DefaultConfig, retention.Source);

        await AlterAsync(true, new ConfigEntry { Name = "retention.ms", Value = "5000", IncrementalOperation = AlterConfigOpType.Set });
        Assert.Equal("604800000", (await DescribeAsync(admin, "ops", "retention.ms")).Value);

        var bad = await Assert.ThrowsAsync<IncrementalAlterConfigsException>(() =>
            AlterAsync(false, new ConfigEntry { Name = "retention.ms", Value = "soon", IncrementalOperation = AlterConfigOpType.Set }));
        Assert.Equal(ErrorCode.InvalidConfig, bad.Results.Single().Error.Code);

        var notList = await Assert.ThrowsAsync<IncrementalAlterConfigsException>(() =>
            AlterAsync(false, new ConfigEntry { Name = "retention.ms", Value = "5", IncrementalOperation = AlterConfigOpType.Append }));
        Assert.Equal(ErrorCode.InvalidConfig, notList.Results.Single().Error.Code);

        var unknown = await Assert.ThrowsAsync<IncrementalAlterConfigsException>(() =>
            admin.IncrementalAlterConfigsAsync(new Dictionary<ConfigResource, List<ConfigEntry>>
            {
                [Topic("no-such-topic")] = [new ConfigEntry { Name = "retention.ms", Value = "5", IncrementalOperation = AlterConfigOpType.Set }],
            }));
        Assert.Equal(ErrorCode.UnknownTopicOrPart, unknown.Results.Single().Error.Code);

        // Gregor has no dynamic broker configs; Kafka answers INVALID_REQUEST for those it cannot update.
        var brokerAlter = await Assert.ThrowsAsync<IncrementalAlterConfigsException>(() =>
            admin.IncrementalAlterConfigsAsync(new Dictionary<ConfigResource, List<ConfigEntry>>
            {
                [new ConfigResource { Type = ResourceType.Broker, Name = "1" }] = [new ConfigEntry { Name = "log.dirs", Value = "/tmp/x", IncrementalOperation = AlterConfigOpType.Set }],
            }));
        Assert.Equal(ErrorCode.InvalidRequest, brokerAlter.Results.Single().Error.Code);
    }

#pragma warning disable CS0618 // AlterConfigsAsync is deprecated in the client, still used by tools.
    [Fact]
    public async Task LegacyAlterConfigsReplacesAllOverrides()
    {
        await using var broker = await InProcessBroker.StartAsync();
        var bs = broker.BootstrapServers;
        await Clients.CreateTopicAsync(bs, "legacy", 1, new Dictionary<string, string> { ["retention.ms"] = "1000000", ["segment.bytes"] = "100000" });
        using var admin = Clients.Admin(bs);
        await admin.AlterConfigsAsync(new Dictionary<ConfigResource, List<ConfigEntry>>
        {
            [Topic("legacy")] = [new ConfigEntry { Name = "max.message.bytes", Value = "5000" }],
        });

        Assert.Equal("5000", (await DescribeAsync(admin, "legacy", "max.message.bytes")).Value);
        Assert.Equal(ConfigSource.DefaultConfig, (await DescribeAsync(admin, "legacy", "retention.ms")).Source);
        Assert.Equal(ConfigSource.DefaultConfig, (await DescribeAsync(admin, "legacy", "segment.bytes")).Source);
        Assert.Equal(5000, broker.Server.ReplicaManager.GetPartition("legacy", 0)!.Log.Config.MaxMessageBytes);

        var bad = await Assert.ThrowsAsync<AlterConfigsException>(() => admin.AlterConfigsAsync(new Dictionary<ConfigResource, List<ConfigEntry>>
        {
            [Topic("legacy")] = [new ConfigEntry { Name = "no.such.config", Value = "1" }],
        }));
        Assert.Equal(ErrorCode.InvalidConfig, bad.Results.Single().Error.Code);
        Assert.Equal("5000", (await DescribeAsync(admin, "legacy", "max.message.bytes")).Value);
    }
#pragma warning restore CS0618
}
