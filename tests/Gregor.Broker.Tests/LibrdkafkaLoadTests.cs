using Confluent.Kafka;
using Xunit;

namespace Gregor.Broker.Tests;

public class LibrdkafkaLoadTests
{
    [Fact]
    public void BundledLibrdkafkaIsTheOneThatLoads()
    {
        // The glibc-only build from Confluent.Kafka's package must be the one that loads (see
        // Directory.Build.targets); Debian's older librdkafka would report 2.0.x here.
        Assert.StartsWith("2.16", Library.VersionString, StringComparison.Ordinal);
    }
}
