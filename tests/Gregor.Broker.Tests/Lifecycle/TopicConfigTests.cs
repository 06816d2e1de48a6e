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

    /// <summary>
    /// Configs Kafka 4.0 removed, as a Kafka 3.x tool sends them: CreateTopics and both alter APIs
    /// succeed, message.timestamp.difference.max.ms becomes the before/after bounds (and is
    /// enforced), the ignored ones leave no override, and a value 3.x would refuse is INVALID_CONFIG.
    /// </summary>
    [Fact]
    public async Task ConfigsRemovedInKafka4AreAcceptedIgnoredOrMapped()
    {
        await using var broker = await InProcessBroker.StartAsync();
        var bs = broker.BootstrapServers;
        using var admin = Clients.Admin(bs);
        await admin.CreateTopicsAsync([new TopicSpecification
        {
            Name = "removed-configs",
            NumPartitions = 1,
            ReplicationFactor = 1,
            Configs = new Dictionary<string, string>
            {
                ["message.format.version"] = "2.8-IV1",
                ["message.downconversion.enable"] = "true",
                ["message.timestamp.difference.max.ms"] = "60000",
                ["retention.ms"] = "3600000",
            },
        }]);

        var described = (await admin.DescribeConfigsAsync([Topic("removed-configs")])).Single().Entries;
        Assert.False(described.ContainsKey("message.format.version"));
        Assert.False(described.ContainsKey("message.downconversion.enable"));
        Assert.Equal("60000", described["message.timestamp.before.max.ms"].Value);
        Assert.Equal("60000", described["message.timestamp.after.max.ms"].Value);
        Assert.Equal(ConfigSource.DynamicTopicConfig, described["message.timestamp.after.max.ms"].Source);
        Assert.Equal("3600000", described["retention.ms"].Value);
        Assert.Equal(
            ["message.timestamp.after.max.ms", "message.timestamp.before.max.ms", "retention.ms"],
            broker.Server.ReplicaManager.GetPartition("removed-configs", 0)!.Log.Config.Overrides.Keys.Order());

        // The mapped bound is enforced: a record two minutes old is refused.
        using (var producer = new ProducerBuilder<Null, string>(Clients.ProducerConfig(bs)).Build())
        {
            var old = await Assert.ThrowsAsync<ProduceException<Null, string>>(() => producer.ProduceAsync("removed-configs",
                new Message<Null, string> { Value = "old", Timestamp = new Timestamp(DateTime.UtcNow.AddMinutes(-2)) }));
            Assert.Equal(ErrorCode.InvalidTimestamp, old.Error.Code);
            var fresh = await producer.ProduceAsync("removed-configs", new Message<Null, string> { Value = "fresh" });
            Assert.Equal(0, fresh.Offset.Value);
        }

        // Incremental: a difference next to an explicit after bound sets only the before bound;
        // deleting a removed config changes nothing.
        await admin.IncrementalAlterConfigsAsync(new Dictionary<ConfigResource, List<ConfigEntry>>
        {
            [Topic("removed-configs")] =
            [
                new ConfigEntry { Name = "message.timestamp.difference.max.ms", Value = "5000", IncrementalOperation = AlterConfigOpType.Set },
                new ConfigEntry { Name = "message.timestamp.after.max.ms", Value = "1000", IncrementalOperation = AlterConfigOpType.Set },
                new ConfigEntry { Name = "message.format.version", Value = "3.0", IncrementalOperation = AlterConfigOpType.Set },
                new ConfigEntry { Name = "message.downconversion.enable", IncrementalOperation = AlterConfigOpType.Delete },
            ],
        });
        described = (await admin.DescribeConfigsAsync([Topic("removed-configs")])).Single().Entries;
        Assert.Equal("5000", described["message.timestamp.before.max.ms"].Value);
        Assert.Equal("1000", described["message.timestamp.after.max.ms"].Value);
        Assert.Equal("3600000", described["retention.ms"].Value);

        // Values Kafka 3.x refused are still refused, and change nothing.
        var badVersion = await Assert.ThrowsAsync<IncrementalAlterConfigsException>(() =>
            admin.IncrementalAlterConfigsAsync(new Dictionary<ConfigResource, List<ConfigEntry>>
            {
                [Topic("removed-configs")] = [new ConfigEntry { Name = "message.format.version", Value = "latest", IncrementalOperation = AlterConfigOpType.Set }],
            }));
        Assert.Equal(ErrorCode.InvalidConfig, badVersion.Results.Single().Error.Code);
        var appended = await Assert.ThrowsAsync<IncrementalAlterConfigsException>(() =>
            admin.IncrementalAlterConfigsAsync(new Dictionary<ConfigResource, List<ConfigEntry>>
            {
                [Topic("removed-configs")] = [new ConfigEntry { Name = "message.format.version", Value = "3.0", IncrementalOperation = AlterConfigOpType.Append }],
            }));
        Assert.Equal(ErrorCode.InvalidConfig, appended.Results.Single().Error.Code);
        var badCreate = await Assert.ThrowsAsync<CreateTopicsException>(() => admin.CreateTopicsAsync([new TopicSpecification
        {
            Name = "removed-configs-bad",
            NumPartitions = 1,
            ReplicationFactor = 1,
            Configs = new Dictionary<string, string> { ["message.timestamp.difference.max.ms"] = "-5" },
        }]));
        Assert.Equal(ErrorCode.InvalidConfig, badCreate.Results.Single().Error.Code);
        Assert.Equal("5000", (await DescribeAsync(admin, "removed-configs", "message.timestamp.before.max.ms")).Value);
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

        // A Kafka 3.x tool's full set, with a config Kafka 4.0 removed: accepted, the removed one mapped.
        await admin.AlterConfigsAsync(new Dictionary<ConfigResource, List<ConfigEntry>>
        {
            [Topic("legacy")] = [new ConfigEntry { Name = "max.message.bytes", Value = "6000" }, new ConfigEntry { Name = "message.timestamp.difference.max.ms", Value = "7000" }],
        });
        Assert.Equal("6000", (await DescribeAsync(admin, "legacy", "max.message.bytes")).Value);
        Assert.Equal("7000", (await DescribeAsync(admin, "legacy", "message.timestamp.before.max.ms")).Value);
        Assert.Equal("7000", (await DescribeAsync(admin, "legacy", "message.timestamp.after.max.ms")).Value);
    }
#pragma warning restore CS0618
}
