using Gregor.Broker.Metadata;
using Gregor.Broker.Producer;
using Gregor.Broker.Replica;
using Gregor.Broker.Transactions;
using Gregor.Protocol;
using Gregor.Protocol.Messages;
using Gregor.Storage;
using Gregor.TestKit;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Gregor.Broker.Tests.Handlers;

/// <summary><c>transactional.id.expiration.ms</c> on an injected clock: idle ids are forgotten with a tombstone, open ones are kept.</summary>
public sealed class TransactionalIdExpirationTests : IDisposable
{
    private readonly TempDirectory _directory = new("gregor-txn-expiration");
    private readonly ManualTimeProvider _time = new();
    private readonly LogManager _logManager;
    private readonly ReplicaManager _replicaManager;

    public TransactionalIdExpirationTests()
    {
        _logManager = new LogManager(new LogManagerOptions { LogDirs = [_directory.Path], NodeId = 1 }, _time, NullLoggerFactory.Instance);
        _logManager.Startup();
        _replicaManager = new ReplicaManager(1, _logManager, new Dictionary<string, string>(), _time);
        _replicaManager.ApplyTopic(new TopicMetadata("t", Uuid.NewRandom(), [new PartitionMetadata(0, 1, 0, 0, [1], [1])], new Dictionary<string, string>()));
    }

    public void Dispose()
    {
        _replicaManager.Dispose();
        _logManager.Shutdown();
        _directory.Dispose();
    }

    /// <summary>The coordinator's records kept in memory, in order, as <c>__transaction_state</c> would hold them.</summary>
    private sealed class RecordingStateLog : ITransactionStateLog
    {
        public List<(string TransactionalId, TransactionLogValue? Value)> Records { get; } = [];

        public void Write(string transactionalId, TransactionLogValue? value) => Records.Add((transactionalId, value));

        public IEnumerable<(string TransactionalId, TransactionLogValue? Value)> ReadAll() => [.. Records];
    }

    private TransactionCoordinator Coordinator(RecordingStateLog log) =>
        new(new ProducerIdManager(_directory.Path), _replicaManager, _time, NullLogger.Instance, stateLog: log,
            transactionalIdExpirationMs: 60_000, removeExpiredTransactionalIdsIntervalMs: 10_000);

    [Fact]
    public void AnIdleTransactionalIdExpiresWithATombstoneAndStartsFreshWhileAnOpenOneIsKept()
    {
        var log = new RecordingStateLog();
        using var coordinator = Coordinator(log);
        var (error, pid, epoch) = coordinator.InitProducerId("idle", 30_000, -1, -1);
        Assert.Equal(ErrorCode.None, error);
        Assert.Equal(ErrorCode.None, coordinator.AddPartitions("idle", pid, epoch, [("t", 0)], verifyOnly: false, []));
        Assert.Equal(ErrorCode.None, coordinator.EndTransaction("idle", pid, epoch, commit: true).Error);
        var (_, openPid, openEpoch) = coordinator.InitProducerId("open", 900_000, -1, -1);
        Assert.Equal(ErrorCode.None, coordinator.AddPartitions("open", openPid, openEpoch, [("t", 0)], verifyOnly: false, []));

        _time.Advance(TimeSpan.FromSeconds(50));
        Assert.NotNull(coordinator.Describe("idle"));

        _time.Advance(TimeSpan.FromSeconds(20));
        Assert.Null(coordinator.Describe("idle"));
        Assert.Equal(TransactionState.Ongoing, coordinator.Describe("open")!.State);
        Assert.Equal(("idle", (TransactionLogValue?)null), log.Records[^1]);

        // The id starts afresh: a new producer id at epoch 0, and the old producer is unknown.
        var (again, freshPid, freshEpoch) = coordinator.InitProducerId("idle", 30_000, -1, -1);
        Assert.Equal(ErrorCode.None, again);
        Assert.NotEqual(pid, freshPid);
        Assert.Equal(0, freshEpoch);
        Assert.Equal(ErrorCode.InvalidProducerIdMapping, coordinator.EndTransaction("idle", pid, epoch, commit: true).Error);

        // A coordinator replaying the log does not bring the expired state back.
        coordinator.Dispose();
        using var restarted = Coordinator(log);
        Assert.Equal(freshPid, restarted.Describe("idle")!.ProducerId);
        Assert.Equal(TransactionState.Ongoing, restarted.Describe("open")!.State);
    }
}
