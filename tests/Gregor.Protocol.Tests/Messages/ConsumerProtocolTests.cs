using Gregor.Protocol.Messages;
using Gregor.Protocol.Primitives;
using Xunit;

namespace Gregor.Protocol.Tests.Messages;

public sealed class ConsumerProtocolTests
{
    [Fact]
    public void SubscriptionV1Bytes()
    {
        var subscription = new ConsumerProtocolSubscription
        {
            Topics = { "t" },
            UserData = null,
            OwnedPartitions = { new ConsumerProtocolSubscription.TopicPartition { Topic = "t", Partitions = { 0 } } },
        };
        var expected = Convert.FromHexString(
            "0001" + // version
            "00000001" + "000174" + // topics ["t"]
            "ffffffff" + // user data null
            "00000001" + "000174" + "00000001" + "00000000"); // owned t-0
        Assert.Equal(expected, ConsumerProtocol.Write(subscription, 1));

        var read = ConsumerProtocol.ReadSubscription(expected, out var version);
        Assert.Equal(1, version);
        Assert.Equal("t", Assert.Single(read.Topics));
        Assert.Equal(0, Assert.Single(Assert.Single(read.OwnedPartitions).Partitions));
    }

    [Fact]
    public void NewerVersionsAreReadAsTheHighestKnown()
    {
        var assignment = new ConsumerProtocolAssignment
        {
            AssignedPartitions = { new ConsumerProtocolAssignment.TopicPartition { Topic = "orders", Partitions = { 1, 2 } } },
        };
        var bytes = ConsumerProtocol.Write(assignment, 3);
        // Pretend a future client wrote v9 with an extra trailing field.
        var future = bytes.Concat(new byte[] { 0, 0, 0, 42 }).ToArray();
        future[1] = 9;
        var read = ConsumerProtocol.ReadAssignment(future, out var version);
        Assert.Equal(3, version);
        Assert.Equal(new[] { 1, 2 }, read.AssignedPartitions[0].Partitions);

        future[0] = 0xff; // negative version
        Assert.Throws<ProtocolException>(() => ConsumerProtocol.ReadAssignment(future, out _));
    }
}
