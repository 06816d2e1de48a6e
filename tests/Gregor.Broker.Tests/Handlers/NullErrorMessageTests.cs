using System.Diagnostics;
using System.Text.Json;
using Gregor.Broker.Tests.Groups;
using Gregor.Protocol;
using Gregor.Protocol.Messages;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Broker.Tests.Handlers;

/// <summary>
/// A nullable error message is null on success, never "" (Kafka's handlers set it from an error
/// that has no message). These are the responses Gregor serves whose definitions default the
/// message to "": CreateTopics, DescribeConfigs, AlterConfigs, IncrementalAlterConfigs,
/// FindCoordinator (the top-level field up to v3, per key from v4), and CreatePartitions.
/// </summary>
public sealed class NullErrorMessageTests
{
    private const string Python = "/usr/bin/python3";

    [Fact]
    public async Task KafkaPythonAdminResultsCarryNullMessagesOnSuccess()
    {
        Assert.True(File.Exists(Python), "kafka-python is missing: apt-get install python3-kafka (.ci/run installs it).");
        await using var broker = await InProcessBroker.StartAsync();
        var script = Path.Combine(OtherClientGroupTests.ClientsDirectory(), "kafka_python_admin_messages.py");
        using var process = Process.Start(new ProcessStartInfo(Python, $"{script} {broker.BootstrapServers} py-messages")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {await error}");

        var results = (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonDocument.Parse(line).RootElement)
            .ToDictionary(e => e[0].GetString()!, e => (Code: e[2].GetInt32(), Message: e[3]));
        Assert.Equal(["AlterConfigs", "CreatePartitions", "CreateTopics", "DescribeConfigs"], results.Keys.Order());
        Assert.All(results, r =>
        {
            Assert.Equal(0, r.Value.Code);
            Assert.True(r.Value.Message.ValueKind == JsonValueKind.Null, $"{r.Key}: error_message is {r.Value.Message.GetRawText()}, not null");
        });
    }

    [Theory]
    [InlineData((short)2)]
    [InlineData((short)7)]
    public async Task CreateTopicsSuccessHasANullMessageAndAFailureHasOne(short version)
    {
        await using var broker = await InProcessBroker.StartAsync();
        await using var client = await WireClient.ConnectAsync(broker.Server.BoundEndpoints[0]);
        var request = new CreateTopicsRequest { Topics = [new() { Name = "null-msg", NumPartitions = 1, ReplicationFactor = 1 }] };
        var created = await client.SendAsync<CreateTopicsResponse>(request, version);
        Assert.Equal((short)ErrorCode.None, created.Topics[0].ErrorCode);
        Assert.Null(created.Topics[0].ErrorMessage);

        var again = await client.SendAsync<CreateTopicsResponse>(request, version);
        Assert.Equal((short)ErrorCode.TopicAlreadyExists, again.Topics[0].ErrorCode);
        Assert.False(string.IsNullOrEmpty(again.Topics[0].ErrorMessage));
    }

    [Theory]
    [InlineData((short)1)]
    [InlineData((short)4)]
    public async Task DescribeConfigsSuccessHasANullMessage(short version)
    {
        await using var broker = await InProcessBroker.StartAsync();
        await Clients.CreateTopicAsync(broker.BootstrapServers, "null-msg-configs", 1);
        await using var client = await WireClient.ConnectAsync(broker.Server.BoundEndpoints[0]);
        var described = await client.SendAsync<DescribeConfigsResponse>(new DescribeConfigsRequest
        {
            Resources =
            [
                new() { ResourceType = 2, ResourceName = "null-msg-configs", ConfigurationKeys = null },
                new() { ResourceType = 4, ResourceName = broker.Server.NodeId.ToString(System.Globalization.CultureInfo.InvariantCulture), ConfigurationKeys = ["log.retention.ms"] },
                new() { ResourceType = 2, ResourceName = "no-such-topic", ConfigurationKeys = null },
            ],
        }, version);
        Assert.Equal([(short)ErrorCode.None, (short)ErrorCode.None, (short)ErrorCode.UnknownTopicOrPartition], described.Results.Select(r => r.ErrorCode));
        Assert.Null(described.Results[0].ErrorMessage);
        Assert.Null(described.Results[1].ErrorMessage);
        Assert.False(string.IsNullOrEmpty(described.Results[2].ErrorMessage));
    }

    [Fact]
    public async Task IncrementalAlterConfigsSuccessHasANullMessage()
    {
        await using var broker = await InProcessBroker.StartAsync();
        await Clients.CreateTopicAsync(broker.BootstrapServers, "null-msg-alter", 1);
        await using var client = await WireClient.ConnectAsync(broker.Server.BoundEndpoints[0]);
        var altered = await client.SendAsync<IncrementalAlterConfigsResponse>(new IncrementalAlterConfigsRequest
        {
            Resources = [new() { ResourceType = 2, ResourceName = "null-msg-alter", Configs = [new() { Name = "retention.ms", ConfigOperation = 0, Value = "60000" }] }],
        }, 1);
        Assert.Equal((short)ErrorCode.None, altered.Responses[0].ErrorCode);
        Assert.Null(altered.Responses[0].ErrorMessage);
    }

    [Theory]
    [InlineData((short)1)]
    [InlineData((short)3)]
    [InlineData((short)4)]
    public async Task FindCoordinatorSuccessHasANullMessage(short version)
    {
        await using var broker = await InProcessBroker.StartAsync();
        await using var client = await WireClient.ConnectAsync(broker.Server.BoundEndpoints[0]);
        var request = version >= 4
            ? new FindCoordinatorRequest { KeyType = 0, CoordinatorKeys = ["null-msg-group"] }
            : new FindCoordinatorRequest { KeyType = 0, Key = "null-msg-group" };

        // The first call may create __consumer_offsets; wait until the coordinator is there.
        FindCoordinatorResponse found;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            found = await client.SendAsync<FindCoordinatorResponse>(request, version);
            var code = version >= 4 ? found.Coordinators[0].ErrorCode : found.ErrorCode;
            if (code == (short)ErrorCode.None || DateTime.UtcNow > deadline)
            {
                Assert.Equal((short)ErrorCode.None, code);
                break;
            }

            await Task.Delay(50);
        }

        Assert.Null(version >= 4 ? found.Coordinators[0].ErrorMessage : found.ErrorMessage);
    }
}
