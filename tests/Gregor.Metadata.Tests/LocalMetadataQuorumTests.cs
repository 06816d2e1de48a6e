using Gregor.Metadata.Quorum;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Metadata.Tests;

public sealed class LocalMetadataQuorumTests
{
    [Fact]
    public async Task TheQuorumOfOneLeadsCommitsAndReadsInOrder()
    {
        await using var quorum = new LocalMetadataQuorum(nodeId: 3);
        await Assert.ThrowsAsync<NotControllerException>(async () => await quorum.AppendAsync(new byte[] { 1 }, CancellationToken.None));
        var committed = new List<long>();
        quorum.Committed += committed.Add;
        await quorum.StartAsync(CancellationToken.None);

        Assert.Equal(new LeaderAndEpoch(3, 1), quorum.Leader);
        Assert.True(quorum.IsLeader);
        Assert.Equal(0, await quorum.AppendAsync(new byte[] { 10 }, CancellationToken.None));
        Assert.Equal(1, await quorum.AppendAsync(new byte[] { 11, 12 }, CancellationToken.None));
        Assert.Equal(2, await quorum.AppendAsync(new byte[] { 13 }, CancellationToken.None));

        Assert.Equal(3, quorum.HighWatermark);
        Assert.Equal([1L, 2L, 3L], committed);
        var fromOne = quorum.ReadCommitted(1);
        Assert.Equal([1L, 2L], fromOne.Select(e => e.Offset));
        Assert.Equal(new byte[] { 11, 12 }, fromOne[0].Payload.ToArray());
        Assert.Single(quorum.ReadCommitted(0, maxEntries: 1));
        Assert.Empty(quorum.ReadCommitted(3));
    }

    [Fact]
    public async Task EntriesSurviveARestartAndATornTailIsTruncated()
    {
        using var dir = new TempDirectory();
        await using (var quorum = new LocalMetadataQuorum(1, dir.Path))
        {
            await quorum.StartAsync(CancellationToken.None);
            await quorum.AppendAsync(new byte[] { 1, 2, 3 }, CancellationToken.None);
            await quorum.AppendAsync(new byte[] { 4, 5 }, CancellationToken.None);
        }

        var path = Path.Combine(dir.Path, "quorum.log");
        var length = new FileInfo(path).Length;
        Assert.Equal(24 + 3 + 24 + 2, length);

        // A crash in the middle of the second entry's write.
        using (var file = new FileStream(path, FileMode.Open))
        {
            file.SetLength(length - 1);
        }

        await using (var quorum = new LocalMetadataQuorum(1, dir.Path))
        {
            await quorum.StartAsync(CancellationToken.None);
            Assert.Equal(1, quorum.HighWatermark);
            Assert.Equal(new byte[] { 1, 2, 3 }, quorum.ReadCommitted(0).Single().Payload.ToArray());
            Assert.Equal(1, await quorum.AppendAsync(new byte[] { 6 }, CancellationToken.None));
        }

        await using (var quorum = new LocalMetadataQuorum(1, dir.Path))
        {
            await quorum.StartAsync(CancellationToken.None);
            Assert.Equal([0L, 1L], quorum.ReadCommitted(0).Select(e => e.Offset));
            Assert.Equal(new byte[] { 6 }, quorum.ReadCommitted(1).Single().Payload.ToArray());
        }
    }
}
