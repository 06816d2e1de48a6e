using Gregor.Protocol;

namespace Gregor.Coordinator.Tests;

/// <summary>A coordinator on a manual clock and an in-memory __consumer_offsets, with every partition loaded.</summary>
internal sealed class Harness : IDisposable
{
    public static readonly Uuid TopicA = new(0x1111, 0x2222);
    public static readonly Uuid TopicB = new(0x3333, 0x4444);

    public Harness(GroupCoordinatorConfig? config = null, InMemoryCoordinatorLog? log = null, ManualTimeProvider? time = null)
    {
        Config = config ?? new GroupCoordinatorConfig { GroupInitialRebalanceDelayMs = 0 };
        Log = log ?? new InMemoryCoordinatorLog();
        Time = time ?? new ManualTimeProvider();
        Topics.AddOrUpdate(new TopicInfo(TopicA, "topic-a", 6));
        Topics.AddOrUpdate(new TopicInfo(TopicB, "topic-b", 3));
        Coordinator = new GroupCoordinator(Config, Log, Topics, Time);
        for (var p = 0; p < Config.OffsetsTopicNumPartitions; p++)
        {
            Coordinator.LoadPartitionAsync(p).GetAwaiter().GetResult();
        }
    }

    public GroupCoordinatorConfig Config { get; }

    public InMemoryCoordinatorLog Log { get; }

    public ManualTimeProvider Time { get; }

    public StaticTopicMetadataSource Topics { get; } = new();

    public GroupCoordinator Coordinator { get; }

    /// <summary>A second coordinator over the same log and clock, as after a broker restart.</summary>
    public Harness Restart()
    {
        Coordinator.Dispose();
        return new Harness(Config, Log, Time);
    }

    public void Dispose() => Coordinator.Dispose();

    public static byte[] Subscription(params string[] topics)
    {
        // ConsumerProtocolSubscription v0: version, topics, user data (null).
        var bytes = new List<byte> { 0, 0 };
        bytes.AddRange(BigEndian(topics.Length));
        foreach (var t in topics)
        {
            bytes.Add((byte)(t.Length >> 8));
            bytes.Add((byte)t.Length);
            bytes.AddRange(System.Text.Encoding.UTF8.GetBytes(t));
        }

        bytes.AddRange(BigEndian(-1));
        return [.. bytes];
    }

    private static byte[] BigEndian(int v) => [(byte)(v >> 24), (byte)(v >> 16), (byte)(v >> 8), (byte)v];

    public static JoinGroupInput Join(string group, string memberId = "", string? instanceId = null, int sessionTimeoutMs = 10_000, int rebalanceTimeoutMs = 30_000, bool requireKnownMemberId = false, params GroupProtocol[] protocols) =>
        new(group, memberId, instanceId, "consumer", protocols.Length > 0 ? protocols : [new GroupProtocol("range", Subscription("topic-a"))], sessionTimeoutMs, rebalanceTimeoutMs, "client", "/127.0.0.1", requireKnownMemberId);

    /// <summary>Joins a new dynamic member the KIP-394 way (MEMBER_ID_REQUIRED first) and returns its pending join.</summary>
    public Task<JoinGroupResult> JoinNew(string group, int sessionTimeoutMs = 10_000, int rebalanceTimeoutMs = 30_000)
    {
        var first = Coordinator.JoinGroupAsync(Join(group, requireKnownMemberId: true, sessionTimeoutMs: sessionTimeoutMs, rebalanceTimeoutMs: rebalanceTimeoutMs)).GetAwaiter().GetResult();
        Assert.Equal(ErrorCode.MemberIdRequired, first.Error);
        Assert.NotEmpty(first.MemberId);
        return Coordinator.JoinGroupAsync(Join(group, first.MemberId, requireKnownMemberId: true, sessionTimeoutMs: sessionTimeoutMs, rebalanceTimeoutMs: rebalanceTimeoutMs));
    }

    public static T Done<T>(Task<T> task)
    {
        Assert.True(task.Wait(TimeSpan.FromSeconds(5)), "the coordinator did not answer");
        return task.Result;
    }

    public ConsumerGroupHeartbeatResult Heartbeat(string group, string memberId, int epoch, IReadOnlyList<string>? topics = null, IReadOnlyList<TopicIdPartitions>? owned = null, string? instanceId = null, string? assignor = null) =>
        Done(Coordinator.ConsumerGroupHeartbeatAsync(new ConsumerGroupHeartbeatInput(
            group, memberId, epoch, instanceId, null, epoch == 0 ? 30_000 : -1, topics ?? (epoch == 0 ? ["topic-a"] : null), null, assignor, owned ?? (epoch == 0 ? [] : null), "client", "/127.0.0.1")));
}
