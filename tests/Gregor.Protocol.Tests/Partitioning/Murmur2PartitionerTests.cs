using System.Text;
using Gregor.Protocol.Partitioning;
using Xunit;

namespace Gregor.Protocol.Tests.Partitioning;

public class Murmur2PartitionerTests
{
    // Values the Java client's Utils.murmur2 produces for these keys.
    [Theory]
    [InlineData("21", -973932308)]
    [InlineData("foobar", -790332482)]
    [InlineData("a-little-bit-long-string", -985981536)]
    [InlineData("a-little-bit-longer-string", -1486304829)]
    [InlineData("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971)]
    [InlineData("abc", 479470107)]
    public void HashMatchesTheJavaClient(string key, int expected)
    {
        Assert.Equal(expected, Murmur2Partitioner.Hash(Encoding.UTF8.GetBytes(key)));
    }

    [Fact]
    public void PartitionIsNonNegativeAndStable()
    {
        for (var i = 0; i < 10_000; i++)
        {
            var key = Encoding.UTF8.GetBytes($"key-{i}");
            var p = Murmur2Partitioner.Partition(key, 6);
            Assert.InRange(p, 0, 5);
            Assert.Equal(p, Murmur2Partitioner.Partition(key, 6));
        }
    }
}
