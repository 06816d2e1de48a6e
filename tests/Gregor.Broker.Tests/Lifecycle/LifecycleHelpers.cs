using Confluent.Kafka;
using Gregor.TestKit;

namespace Gregor.Broker.Tests.Lifecycle;

internal static class LifecycleHelpers
{
    /// <summary>Broker settings that make retention run often and deleted files go at once.</summary>
    public static Dictionary<string, string> FastRetention() => new()
    {
        ["log.retention.check.interval.ms"] = "100",
        ["log.segment.delete.delay.ms"] = "0",
    };

    /// <summary>Produces <paramref name="count"/> records of ~100 bytes with the given create time.</summary>
    public static async Task ProduceAsync(string bootstrap, string topic, int partition, int count, DateTime? timestamp = null, string prefix = "v")
    {
        using var producer = new ProducerBuilder<string, string>(Clients.ProducerConfig(bootstrap)).Build();
        var ts = timestamp is { } t ? new Timestamp(t, TimestampType.CreateTime) : Timestamp.Default;
        var value = new string('x', 80);
        for (var i = 0; i < count; i++)
        {
            // One batch per record keeps segments small and many (deletion is per segment).
            await producer.ProduceAsync(new TopicPartition(topic, partition),
                new Message<string, string> { Key = $"k{i}", Value = $"{prefix}{i}-{value}", Timestamp = ts });
        }
    }

    public static async Task<T> EventuallyAsync<T>(Func<T> probe, Func<T, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var value = probe();
            if (done(value) || DateTime.UtcNow > deadline)
            {
                return value;
            }

            await Task.Delay(50);
        }
    }
}
