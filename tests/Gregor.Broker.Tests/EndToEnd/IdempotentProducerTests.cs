using System.Text;
using Confluent.Kafka;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Broker.Tests.EndToEnd;

/// <summary>librdkafka's idempotent producer (enable.idempotence=true) against Gregor.</summary>
public class IdempotentProducerTests
{
    [Fact]
    public async Task IdempotentProducerWritesEveryRecordOnceInOrder()
    {
        const string topic = "idempotent-plain";
        const int count = 500;
        await using var broker = await InProcessBroker.StartAsync();
        await Clients.CreateTopicAsync(broker.BootstrapServers, topic, 2);

        var config = Clients.ProducerConfig(broker.BootstrapServers);
        config.EnableIdempotence = true;
        using (var producer = new ProducerBuilder<string, string>(config).Build())
        {
            for (var i = 0; i < count; i++)
            {
                producer.Produce(topic, new Message<string, string> { Key = $"k{i % 7}", Value = $"v{i}" },
                    report => Assert.Equal(ErrorCode.NoError, report.Error.Code));
            }

            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }

        var records = Clients.ReadAll(broker.BootstrapServers, topic, 2, TimeSpan.FromSeconds(20));
        Assert.Equal(count, records.Count);
        Assert.Equal(count, records.Select(r => Encoding.UTF8.GetString(r.Message.Value!)).Distinct().Count());
        // Per key, the order of sending holds.
        foreach (var group in records.GroupBy(r => Encoding.UTF8.GetString(r.Message.Key!)))
        {
            var values = group.OrderBy(r => r.Offset.Value).Select(r => int.Parse(Encoding.UTF8.GetString(r.Message.Value!)[1..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(values.Order().ToList(), values);
        }

        using var admin = Clients.Admin(broker.BootstrapServers);
        var log = broker.Server.LogManager.GetLog(topic, 0)!;
        var producerState = Assert.Single(log.ActiveProducers);
        Assert.True(producerState.ProducerId >= 0);
    }

    [Fact]
    public async Task ARetryAfterTheConnectionWasCutPastTheAppendIsNotDuplicated()
    {
        const string topic = "idempotent-cut";
        const int count = 200;
        await using var proxy = new CuttingProxy(producesToCut: 2);
        await using var broker = await InProcessBroker.StartAsync(new Dictionary<string, string>
        {
            ["advertised.listeners"] = $"PLAINTEXT://127.0.0.1:{proxy.Port}",
        });
        proxy.Start(broker.Server.BoundEndpoints[0]);
        Assert.Equal($"127.0.0.1:{proxy.Port}", broker.BootstrapServers);
        await Clients.CreateTopicAsync(broker.BootstrapServers, topic, 1);

        var config = Clients.ProducerConfig(broker.BootstrapServers);
        config.EnableIdempotence = true;
        var delivered = new List<long>();
        using (var producer = new ProducerBuilder<string, string>(config).Build())
        {
            for (var i = 0; i < count; i++)
            {
                producer.Produce(topic, new Message<string, string> { Key = "k", Value = $"v{i}" }, report =>
                {
                    Assert.Equal(ErrorCode.NoError, report.Error.Code);
                    lock (delivered)
                    {
                        delivered.Add(report.Offset.Value);
                    }
                });
                if (i % 50 == 49)
                {
                    // Separate batches, so the cut requests are not the only ones.
                    producer.Flush(TimeSpan.FromSeconds(30));
                }
            }

            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }

        Assert.Equal(2, proxy.Cuts);
        Assert.Equal(Enumerable.Range(0, count).Select(i => (long)i), delivered.Order());
        var log = broker.Server.LogManager.GetLog(topic, 0)!;
        Assert.Equal(count, log.LogEndOffset);
        var records = Clients.ReadAll(broker.BootstrapServers, topic, 1, TimeSpan.FromSeconds(20));
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"v{i}"), records.Select(r => Encoding.UTF8.GetString(r.Message.Value!)));
    }
}
