using Gregor.Protocol;
using Gregor.Protocol.Records;
using Gregor.Storage.Checkpoints;
using Gregor.TestKit;
using static Gregor.Storage.Tests.TestBatches;

namespace Gregor.Storage.Tests;

/// <summary>The follower side of the log: truncation to the leader's epoch boundary and a full restart at the leader's log start.</summary>
public sealed class LogReplicationTests : IDisposable
{
    private readonly TempDirectory _directory = new("gregor-log-replication");

    private string PartitionDir => Path.Combine(_directory.Path, "topic-0");

    public void Dispose() => _directory.Dispose();

    private Log Open() =>
        Log.Open(PartitionDir, Config(("segment.bytes", "1024"), ("index.interval.bytes", "100")), TimeProvider.System, recoveryPoint: 0, hadCleanShutdown: false);

    [Fact]
    public void Truncating_a_divergent_tail_drops_its_epochs_and_the_log_then_follows_the_new_leader()
    {
        using var log = Open();
        log.Append(Batch(3), leaderEpoch: 0);
        log.Append(Batch(4), leaderEpoch: 1);
        log.HighWatermark = 3;
        Assert.Equal((1, 7L), log.LeaderEpochCache.EndOffsetFor(1, log.LogEndOffset));

        // The leader of epoch 2 ends epoch 0 at offset 3: everything of epoch 1 here diverges.
        log.Truncate(3);
        Assert.Equal(3, log.LogEndOffset);
        Assert.Equal(0, log.LeaderEpochCache.LatestEpoch);
        Assert.Equal(3, log.HighWatermark);

        var fromLeader = Batch(2);
        RecordBatch.SetBaseOffset(fromLeader, 3);
        RecordBatch.SetPartitionLeaderEpoch(fromLeader, 2);
        RecordBatch.RewriteCrc(fromLeader);
        Assert.Equal(ErrorCode.None, log.Append(fromLeader, 2, AppendOrigin.Replication).Error);
        Assert.Equal(5, log.LogEndOffset);
        Assert.Equal([new EpochEntry(0, 0), new EpochEntry(2, 3)], log.LeaderEpochCache.Epochs);
    }

    [Fact]
    public void TruncateFullyAndStartAt_empties_the_log_and_restarts_it_at_the_leaders_log_start()
    {
        using (var log = Open())
        {
            for (var i = 0; i < 20; i++)
            {
                log.Append(Batch(2), leaderEpoch: 0);
            }

            log.HighWatermark = 40;
            Assert.True(log.SegmentCount > 1);

            log.TruncateFullyAndStartAt(100);
            Assert.Equal((100L, 100L, 100L), (log.LogStartOffset, log.LogEndOffset, log.HighWatermark));
            Assert.Equal(1, log.SegmentCount);
            Assert.Empty(log.LeaderEpochCache.Epochs);
            Assert.Empty(ReadAll(log, 100));

            var fromLeader = Batch(3);
            RecordBatch.SetBaseOffset(fromLeader, 100);
            RecordBatch.SetPartitionLeaderEpoch(fromLeader, 5);
            RecordBatch.RewriteCrc(fromLeader);
            Assert.Equal(ErrorCode.None, log.Append(fromLeader, 5, AppendOrigin.Replication).Error);
            Assert.Equal(103, log.LogEndOffset);
        }

        // And it stays that way across a restart.
        using var reopened = Open();
        Assert.Equal((100L, 103L), (reopened.LogStartOffset, reopened.LogEndOffset));
        Assert.Equal([100L, 101L, 102L], ReadAll(reopened, 100).Keys);
    }
}
