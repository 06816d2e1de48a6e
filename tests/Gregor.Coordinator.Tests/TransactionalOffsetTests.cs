using Gregor.Protocol;
using static Gregor.Coordinator.Tests.Harness;

namespace Gregor.Coordinator.Tests;

/// <summary>TxnOffsetCommit: pending per producer until the marker, written as the producer's records, replayed on load.</summary>
public sealed class TransactionalOffsetTests
{
    private const long ProducerA = 1000;
    private const long ProducerB = 2000;

    private static TxnOffsetCommitInput TxnCommit(long producerId, string group, int partition, long offset) =>
        new(group, producerId, 0, -1, string.Empty, null, [new OffsetCommitTopic("topic-a", [new OffsetCommitPartition(partition, offset, 3, "txn")])]);

    private static FetchedOffset Fetch(Harness h, string group, int partition, bool requireStable) =>
        h.Coordinator.FetchOffsets(new OffsetFetchInput(group, [new OffsetFetchTopic("topic-a", [partition])], requireStable)).Offsets[0];

    [Fact]
    public void Pending_offsets_are_invisible_until_the_commit_marker_and_dropped_by_an_abort()
    {
        using var h = new Harness();
        Assert.All(Done(h.Coordinator.CommitTransactionalOffsetsAsync(TxnCommit(ProducerA, "g", 0, 10))).Partitions, p => Assert.Equal(ErrorCode.None, p.Error));
        Assert.All(Done(h.Coordinator.CommitTransactionalOffsetsAsync(TxnCommit(ProducerB, "g", 1, 20))).Partitions, p => Assert.Equal(ErrorCode.None, p.Error));

        // The records went to the group's partition tagged with the producer id.
        var partition = h.Coordinator.PartitionFor("g");
        Assert.Equal([ProducerA, ProducerB], h.Log.Records(partition).Select(r => r.ProducerId));

        Assert.Equal(-1, Fetch(h, "g", 0, requireStable: false).Offset);
        Assert.Equal(ErrorCode.UnstableOffsetCommit, Fetch(h, "g", 0, requireStable: true).Error);
        Assert.True(h.Coordinator.HasPendingTransactionalOffset("g", "topic-a", 0));

        h.Coordinator.CompleteTransaction(partition, ProducerA, TransactionResult.Commit);
        h.Coordinator.CompleteTransaction(partition, ProducerB, TransactionResult.Abort);
        var committed = Fetch(h, "g", 0, requireStable: true);
        Assert.Equal((ErrorCode.None, 10L, 3, "txn"), (committed.Error, committed.Offset, committed.LeaderEpoch, committed.Metadata));
        Assert.Equal((ErrorCode.None, -1L), (Fetch(h, "g", 1, requireStable: true).Error, Fetch(h, "g", 1, requireStable: true).Offset));
    }

    [Fact]
    public void Loading_replays_transactional_records_and_markers_and_keeps_open_ones_pending()
    {
        var h = new Harness();
        var partition = h.Coordinator.PartitionFor("g");
        Done(h.Coordinator.CommitTransactionalOffsetsAsync(TxnCommit(ProducerA, "g", 0, 10)));
        Done(h.Coordinator.CommitTransactionalOffsetsAsync(TxnCommit(ProducerB, "g", 1, 20)));
        Done(h.Coordinator.CommitTransactionalOffsetsAsync(TxnCommit(ProducerA + 1, "g", 2, 30)));

        // As the partition leader writes them: A commits, B aborts, A+1 has no marker yet.
        h.Log.AppendAsync(partition, [CoordinatorRecord.EndTransaction(ProducerA, TransactionResult.Commit), CoordinatorRecord.EndTransaction(ProducerB, TransactionResult.Abort)]).AsTask().Wait();

        using var restarted = h.Restart();
        Assert.Equal(10, Fetch(restarted, "g", 0, requireStable: true).Offset);
        Assert.Equal((ErrorCode.None, -1L), (Fetch(restarted, "g", 1, requireStable: true).Error, Fetch(restarted, "g", 1, requireStable: true).Offset));
        Assert.Equal(ErrorCode.UnstableOffsetCommit, Fetch(restarted, "g", 2, requireStable: true).Error);

        // The marker that comes after the restart completes it.
        restarted.Coordinator.CompleteTransaction(partition, ProducerA + 1, TransactionResult.Commit);
        Assert.Equal(30, Fetch(restarted, "g", 2, requireStable: true).Offset);
    }

    [Fact]
    public void Offset_expiry_keeps_a_group_an_open_transaction_commits_to()
    {
        using var h = new Harness();
        Done(h.Coordinator.CommitOffsetsAsync(new OffsetCommitInput("g", -1, string.Empty, null, -1, [new OffsetCommitTopic("topic-a", [new OffsetCommitPartition(0, 5, -1, null)])])));
        Done(h.Coordinator.CommitTransactionalOffsetsAsync(TxnCommit(ProducerA, "g", 1, 10)));
        Done(h.Coordinator.CommitOffsetsAsync(new OffsetCommitInput("other", -1, string.Empty, null, -1, [new OffsetCommitTopic("topic-a", [new OffsetCommitPartition(0, 5, -1, null)])])));

        h.Time.Advance(TimeSpan.FromMinutes(h.Config.OffsetsRetentionMinutes + 1));
        h.Coordinator.ExpireOffsets();

        // The committed offsets expired; "other" is gone, "g" stays while its transaction is open.
        Assert.Equal(["g"], h.Coordinator.ListGroups().Groups.Select(g => g.GroupId));
        Assert.Equal(-1, Fetch(h, "g", 0, requireStable: false).Offset);
        h.Coordinator.CompleteTransaction(h.Coordinator.PartitionFor("g"), ProducerA, TransactionResult.Commit);
        Assert.Equal(10, Fetch(h, "g", 1, requireStable: true).Offset);
    }
}
