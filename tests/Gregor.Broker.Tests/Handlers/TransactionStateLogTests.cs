using System.Buffers.Binary;
using Gregor.Broker.Transactions;
using Gregor.Protocol.Messages;
using Xunit;

namespace Gregor.Broker.Tests.Handlers;

/// <summary><c>__transaction_state</c> records in Kafka's byte layout.</summary>
public sealed class TransactionStateLogTests
{
    [Fact]
    public void KeyAndValueUseKafkasVersionZeroLayout()
    {
        Assert.Equal(new byte[] { 0, 0, 0, 2, (byte)'t', (byte)'x' }, ReplicaTransactionStateLog.KeyBytes("tx"));

        var value = ReplicaTransactionStateLog.ValueBytes(new TransactionLogValue
        {
            ProducerId = 7,
            ProducerEpoch = 3,
            TransactionTimeoutMs = 60_000,
            TransactionStatus = (sbyte)TransactionState.Ongoing,
            TransactionPartitions = [new TransactionLogValue.PartitionsSchema { Topic = "t", PartitionIds = [0, 2] }],
            TransactionLastUpdateTimestampMs = 100,
            TransactionStartTimestampMs = 90,
        });
        var span = value.AsSpan();
        Assert.Equal(0, BinaryPrimitives.ReadInt16BigEndian(span));
        Assert.Equal(7, BinaryPrimitives.ReadInt64BigEndian(span[2..]));
        Assert.Equal(3, BinaryPrimitives.ReadInt16BigEndian(span[10..]));
        Assert.Equal(60_000, BinaryPrimitives.ReadInt32BigEndian(span[12..]));
        Assert.Equal(1, span[16]); // Ongoing is Kafka's state 1
        Assert.Equal(1, BinaryPrimitives.ReadInt32BigEndian(span[17..]));
        Assert.Equal(1, BinaryPrimitives.ReadInt16BigEndian(span[21..]));
        Assert.Equal((byte)'t', span[23]);
        Assert.Equal(2, BinaryPrimitives.ReadInt32BigEndian(span[24..]));
        Assert.Equal(2, BinaryPrimitives.ReadInt32BigEndian(span[32..]));
        Assert.Equal(100, BinaryPrimitives.ReadInt64BigEndian(span[36..]));
        Assert.Equal(90, BinaryPrimitives.ReadInt64BigEndian(span[44..]));
        Assert.Equal(52, span.Length);
    }

    [Theory]
    [InlineData("txn-r", 25)]
    [InlineData("", 0)]
    [InlineData("a-longer-transactional-id-0123456789", 27)]
    public void PartitionForIsKafkasAbsJavaHashCodeModuloPartitions(string id, int expected)
    {
        // Expected values computed independently from Java's String.hashCode definition.
        Assert.Equal(expected, ReplicaTransactionStateLog.PartitionFor(id, 50));
    }
}
