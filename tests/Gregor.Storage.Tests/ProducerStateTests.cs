using System.Buffers.Binary;
using Gregor.Protocol;
using Gregor.Protocol.Compression;
using Gregor.Protocol.Records;
using Gregor.TestKit;
using static Gregor.Storage.Tests.TestBatches;

namespace Gregor.Storage.Tests;

public sealed class ProducerStateTests : IDisposable
{
    private const long ProducerId = 4000;
    private readonly TempDirectory _temp = new("gregor-producer-state");
    private readonly ManualTimeProvider _time = new();

    private string PartitionDir => Path.Combine(_temp.Path, "orders-0");

    public void Dispose() => _temp.Dispose();

    private Log Open(LogConfig? config = null, bool clean = false) =>
        Log.Open(PartitionDir, config ?? Config(("segment.bytes", "100000")), _time, hadCleanShutdown: clean);

    private long Now => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private byte[] Idempotent(int count, int baseSequence, short epoch = 0, long producerId = ProducerId)
    {
        var builder = new RecordBatchBuilder { ProducerId = producerId, ProducerEpoch = epoch, BaseSequence = baseSequence };
        for (var i = 0; i < count; i++)
        {
            builder.Append(Now, null, System.Text.Encoding.UTF8.GetBytes($"s{baseSequence}-{i}"));
        }

        return builder.Build();
    }

    [Fact]
    public void Consecutive_batches_append_and_a_retry_of_any_of_the_last_five_returns_its_original_offsets()
    {
        using var log = Open();
        var sequence = 0;
        var firstOffsets = new List<long>();
        for (var b = 0; b < 6; b++)
        {
            var info = log.Append(Idempotent(3, sequence), leaderEpoch: 0);
            Assert.Equal(ErrorCode.None, info.Error);
            firstOffsets.Add(info.FirstOffset);
            sequence += 3;
        }

        Assert.Equal(18, log.LogEndOffset);

        // Batch 2 (sequences 6..8, offsets 6..8) is one of the last five: nothing written, original offsets back.
        var retry = log.Append(Idempotent(3, 6), leaderEpoch: 0);
        Assert.Equal(ErrorCode.None, retry.Error);
        Assert.Equal(6, retry.FirstOffset);
        Assert.Equal(8, retry.LastOffset);
        Assert.Equal(0, retry.RecordCount);
        Assert.Equal(18, log.LogEndOffset);

        // Batch 0 fell out of the five retained: it is neither a duplicate nor in sequence.
        var tooOld = log.Append(Idempotent(3, 0), leaderEpoch: 0);
        Assert.Equal(ErrorCode.OutOfOrderSequenceNumber, tooOld.Error);
        Assert.Equal(18, log.LogEndOffset);
        Assert.Equal(5, log.ProducerBatches(ProducerId).Count);
    }

    [Fact]
    public void A_gap_is_out_of_order_an_older_epoch_is_invalid_and_a_new_epoch_must_start_at_zero()
    {
        using var log = Open();
        Assert.Equal(ErrorCode.None, log.Append(Idempotent(2, 0, epoch: 3), 0).Error);

        Assert.Equal(ErrorCode.OutOfOrderSequenceNumber, log.Append(Idempotent(1, 5, epoch: 3), 0).Error);
        Assert.Equal(ErrorCode.InvalidProducerEpoch, log.Append(Idempotent(1, 2, epoch: 2), 0).Error);
        Assert.Equal(ErrorCode.OutOfOrderSequenceNumber, log.Append(Idempotent(1, 2, epoch: 4), 0).Error);
        Assert.Equal(2, log.LogEndOffset);

        // KIP-360: the producer bumps its epoch and restarts its sequence at 0.
        var bumped = log.Append(Idempotent(1, 0, epoch: 4), 0);
        Assert.Equal(ErrorCode.None, bumped.Error);
        Assert.Equal(2, bumped.FirstOffset);
        var producer = Assert.Single(log.ActiveProducers);
        Assert.Equal((short)4, producer.ProducerEpoch);
        Assert.Equal(0, producer.LastSequence);
        Assert.Single(log.ProducerBatches(ProducerId));
    }

    [Fact]
    public void An_unknown_producer_is_accepted_at_any_sequence_and_non_idempotent_batches_are_not_tracked()
    {
        using var log = Open();
        Assert.Equal(ErrorCode.None, log.Append(Idempotent(2, 1234), 0).Error);
        Assert.Equal(ErrorCode.None, log.Append(Batch(2), 0).Error);
        Assert.Equal(ErrorCode.None, log.Append(Batch(2), 0).Error);
        var producer = Assert.Single(log.ActiveProducers);
        Assert.Equal(1235, producer.LastSequence);
        Assert.Equal(6, log.LogEndOffset);
    }

    [Fact]
    public void Sequence_numbers_wrap_after_int_max_value()
    {
        using var log = Open();
        Assert.Equal(ErrorCode.None, log.Append(Idempotent(2, int.MaxValue - 1), 0).Error);
        // The batch holding MaxValue-1 and MaxValue ends the sequence space; the next starts at 0.
        Assert.Equal(ErrorCode.OutOfOrderSequenceNumber, log.Append(Idempotent(1, 1), 0).Error);
        Assert.Equal(ErrorCode.None, log.Append(Idempotent(3, 0), 0).Error);

        // A batch that itself wraps (MaxValue-1, MaxValue, 0) is a duplicate when retried.
        using var log2 = Log.Open(Path.Combine(_temp.Path, "wrap-0"), Config(), _time);
        Assert.Equal(ErrorCode.None, log2.Append(Idempotent(1, int.MaxValue - 2), 0).Error);
        Assert.Equal(ErrorCode.None, log2.Append(Idempotent(3, int.MaxValue - 1), 0).Error);
        Assert.Equal(0, log2.ProducerBatches(ProducerId)[^1].LastSequence);
        var retry = log2.Append(Idempotent(3, int.MaxValue - 1), 0);
        Assert.Equal(ErrorCode.None, retry.Error);
        Assert.Equal(1, retry.FirstOffset);
        Assert.Equal(4, log2.LogEndOffset);
        Assert.Equal(ErrorCode.None, log2.Append(Idempotent(1, 1), 0).Error);
    }

    [Fact]
    public void Close_writes_a_snapshot_in_kafkas_format_and_reopen_loads_it()
    {
        using (var log = Open())
        {
            Assert.Equal(ErrorCode.None, log.Append(Idempotent(3, 0, epoch: 7), 0).Error);
            Assert.Equal(ErrorCode.None, log.Append(Idempotent(2, 3, epoch: 7), 0).Error);
        }

        var path = Path.Combine(PartitionDir, "00000000000000000005.snapshot");
        var bytes = File.ReadAllBytes(path);
        // version 1, CRC-32C of what follows it, one entry of 46 bytes.
        Assert.Equal(2 + 4 + 4 + 46, bytes.Length);
        Assert.Equal(1, BinaryPrimitives.ReadInt16BigEndian(bytes));
        Assert.Equal(Crc32C.Compute(bytes.AsSpan(6)), BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(2)));
        Assert.Equal(1, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(6)));
        var entry = bytes.AsSpan(10);
        Assert.Equal(ProducerId, BinaryPrimitives.ReadInt64BigEndian(entry));
        Assert.Equal(7, BinaryPrimitives.ReadInt16BigEndian(entry[8..]));
        Assert.Equal(4, BinaryPrimitives.ReadInt32BigEndian(entry[10..])); // last sequence
        Assert.Equal(4, BinaryPrimitives.ReadInt64BigEndian(entry[14..])); // last offset
        Assert.Equal(1, BinaryPrimitives.ReadInt32BigEndian(entry[22..])); // offset delta
        Assert.Equal(-1, BinaryPrimitives.ReadInt32BigEndian(entry[34..])); // coordinator epoch
        Assert.Equal(-1, BinaryPrimitives.ReadInt64BigEndian(entry[38..])); // no open transaction

        using var reopened = Open(clean: true);
        var retry = reopened.Append(Idempotent(2, 3, epoch: 7), 0);
        Assert.Equal(ErrorCode.None, retry.Error);
        Assert.Equal(3, retry.FirstOffset);
        Assert.Equal(5, reopened.LogEndOffset);
        Assert.Equal(ErrorCode.OutOfOrderSequenceNumber, reopened.Append(Idempotent(1, 9, epoch: 7), 0).Error);
        Assert.Equal(ErrorCode.None, reopened.Append(Idempotent(1, 5, epoch: 7), 0).Error);
    }

    [Fact]
    public void Without_snapshots_recovery_rebuilds_the_state_from_the_log_and_a_corrupt_snapshot_is_ignored()
    {
        using (var log = Open(Config(("segment.bytes", "300"))))
        {
            for (var s = 0; s < 30; s += 2)
            {
                Assert.Equal(ErrorCode.None, log.Append(Idempotent(2, s), 0).Error);
            }

            Assert.True(log.SegmentCount > 2);
            Assert.True(log.ProducerSnapshotOffsets.Count >= 2, "a snapshot is taken at each roll");
        }

        foreach (var file in Directory.GetFiles(PartitionDir, "*.snapshot"))
        {
            File.Delete(file);
        }

        using (var rebuilt = Open(Config(("segment.bytes", "300"))))
        {
            var retry = rebuilt.Append(Idempotent(2, 26), 0);
            Assert.Equal(26, retry.FirstOffset);
            Assert.Equal(30, rebuilt.LogEndOffset);
            Assert.Equal(5, rebuilt.ProducerBatches(ProducerId).Count);
        }

        // Corrupt the newest snapshot: it is dropped and the state comes from the log instead.
        var newest = Directory.GetFiles(PartitionDir, "*.snapshot").Order(StringComparer.Ordinal).Last();
        var data = File.ReadAllBytes(newest);
        data[^1] ^= 0xFF;
        File.WriteAllBytes(newest, data);
        using var recovered = Open(Config(("segment.bytes", "300")));
        Assert.Equal(ErrorCode.None, recovered.Append(Idempotent(1, 30), 0).Error);
        Assert.Equal(31, recovered.LogEndOffset);
    }

    [Fact]
    public void Idle_producers_expire_after_producer_id_expiration_ms()
    {
        using var log = Open();
        log.ProducerIdExpirationMs = 60_000;
        Assert.Equal(ErrorCode.None, log.Append(Idempotent(1, 0), 0).Error);
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(ErrorCode.None, log.Append(Idempotent(1, 0, producerId: 9), 0).Error);
        _time.Advance(TimeSpan.FromSeconds(31));

        Assert.Equal(1, log.RemoveExpiredProducers());
        Assert.Equal(9, Assert.Single(log.ActiveProducers).ProducerId);
        // Once forgotten, the producer is unknown and accepted at any sequence (as Kafka).
        Assert.Equal(ErrorCode.None, log.Append(Idempotent(1, 77), 0).Error);
    }

    [Fact]
    public void Follower_truncation_reloads_the_state_below_the_new_log_end()
    {
        using var log = Open();
        Assert.Equal(ErrorCode.None, log.Append(Idempotent(2, 0), 0).Error);
        log.TakeProducerSnapshot();
        Assert.Equal(ErrorCode.None, log.Append(Idempotent(2, 2), 0).Error);
        log.Truncate(2);

        Assert.Equal(1, Assert.Single(log.ActiveProducers).LastSequence);
        Assert.Equal(ErrorCode.None, log.Append(Idempotent(2, 2), 0).Error);
        Assert.Equal(4, log.LogEndOffset);
    }

    private byte[] Transactional(int count, int baseSequence, long producerId = ProducerId)
    {
        var builder = new RecordBatchBuilder { ProducerId = producerId, ProducerEpoch = 0, BaseSequence = baseSequence, IsTransactional = true };
        for (var i = 0; i < count; i++)
        {
            builder.Append(Now, null, System.Text.Encoding.UTF8.GetBytes($"t{baseSequence}-{i}"));
        }

        return builder.Build();
    }

    private byte[] Marker(bool commit, long producerId = ProducerId) =>
        RecordBatchBuilder.BuildControlBatch(commit ? ControlRecordType.Commit : ControlRecordType.Abort, producerId, 0, 3, Now);

    [Fact]
    public void Open_transactions_hold_the_first_unstable_offset_and_aborts_go_to_the_txnindex_in_kafkas_format()
    {
        using (var log = Open())
        {
            Assert.Equal(ErrorCode.None, log.Append(Batch(2, firstTimestamp: Now), 0).Error);
            Assert.Equal(ErrorCode.None, log.Append(Transactional(3, 0), 0).Error);
            Assert.Equal(ErrorCode.None, log.Append(Transactional(1, 0, producerId: 77), 0).Error);
            Assert.Equal(2, log.FirstUnstableOffset);
            Assert.Equal(ErrorCode.None, log.Append(Marker(commit: false), 0, AppendOrigin.Coordinator).Error);
            Assert.Equal(5, log.FirstUnstableOffset);
            Assert.Equal(ErrorCode.None, log.Append(Marker(commit: true, producerId: 77), 0, AppendOrigin.Coordinator).Error);
            Assert.Equal(-1, log.FirstUnstableOffset);

            var aborted = Assert.Single(log.CollectAbortedTransactions(0, long.MaxValue));
            Assert.Equal(new AbortedTxn(ProducerId, 2, 6, 5), aborted);
            Assert.Empty(log.CollectAbortedTransactions(7, long.MaxValue));
            Assert.Empty(log.CollectAbortedTransactions(0, 2));
            Assert.Equal(3, log.ActiveProducers.Single(p => p.ProducerId == ProducerId).CoordinatorEpoch);
        }

        var index = File.ReadAllBytes(Path.Combine(PartitionDir, "00000000000000000000.txnindex"));
        Assert.Equal(34, index.Length);
        Assert.Equal(0, BinaryPrimitives.ReadInt16BigEndian(index));
        Assert.Equal(ProducerId, BinaryPrimitives.ReadInt64BigEndian(index.AsSpan(2)));
        Assert.Equal(2, BinaryPrimitives.ReadInt64BigEndian(index.AsSpan(10)));
        Assert.Equal(6, BinaryPrimitives.ReadInt64BigEndian(index.AsSpan(18)));
        Assert.Equal(5, BinaryPrimitives.ReadInt64BigEndian(index.AsSpan(26)));

        // Reopened from the snapshot and the .txnindex, and rebuilt from the log without them.
        using (var reopened = Open(clean: true))
        {
            Assert.Single(reopened.CollectAbortedTransactions(0, long.MaxValue));
            Assert.Equal(-1, reopened.FirstUnstableOffset);
            Assert.Equal(ErrorCode.None, reopened.Append(Transactional(1, 3), 0).Error);
            Assert.Equal(8, reopened.FirstUnstableOffset);
        }

        foreach (var file in Directory.GetFiles(PartitionDir, "*.snapshot").Concat(Directory.GetFiles(PartitionDir, "*.txnindex")))
        {
            File.Delete(file);
        }

        using var rebuilt = Open();
        Assert.Equal(new AbortedTxn(ProducerId, 2, 6, 5), Assert.Single(rebuilt.CollectAbortedTransactions(0, long.MaxValue)));
        Assert.Equal(8, rebuilt.FirstUnstableOffset);
    }
}
