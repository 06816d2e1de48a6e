// DescribeLogDirs v0-4 (v2+ flexible). Every log dir with the partitions it holds (all, or those
// asked for), their size on disk and the replica's lag (0 on a leader). v3 adds a top-level error
// code; v4 the log dir's total and usable bytes.
using Gregor.Protocol;
using Gregor.Protocol.Messages;

namespace Gregor.Broker.Handlers;

[ApiHandler(ApiKey.DescribeLogDirs, 0, 4)]
public sealed class DescribeLogDirsHandler : ApiHandler<DescribeLogDirsRequest>
{
    private readonly BrokerContext _broker;

    public DescribeLogDirsHandler(BrokerContext broker)
    {
        _broker = broker;
    }

    protected override ValueTask<IResponseMessage?> HandleAsync(RequestContext context, DescribeLogDirsRequest request, CancellationToken cancellationToken)
    {
        Dictionary<string, HashSet<int>>? wanted = null;
        if (request.Topics is { } topics)
        {
            wanted = new Dictionary<string, HashSet<int>>(StringComparer.Ordinal);
            foreach (var t in topics)
            {
                if (!wanted.TryGetValue(t.Topic, out var set))
                {
                    wanted[t.Topic] = set = [];
                }

                set.UnionWith(t.Partitions);
            }
        }

        var response = new DescribeLogDirsResponse { ErrorCode = (short)ErrorCode.None };
        var partitions = _broker.ReplicaManager.Partitions
            .Where(p => !p.IsDeleted && (wanted is null || wanted.TryGetValue(p.Topic, out var set) && set.Contains(p.PartitionIndex)))
            .ToList();
        foreach (var logDir in _broker.ReplicaManager.LogManager.LogDirs)
        {
            var result = new DescribeLogDirsResponse.DescribeLogDirsResult
            {
                ErrorCode = (short)ErrorCode.None,
                LogDir = logDir,
            };
            try
            {
                var drive = new DriveInfo(logDir);
                result.TotalBytes = drive.TotalSize;
                result.UsableBytes = drive.AvailableFreeSpace;
            }
            catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
            {
                result.TotalBytes = -1;
                result.UsableBytes = -1;
            }

            foreach (var group in partitions
                .Where(p => string.Equals(Path.GetDirectoryName(p.Log.Dir), logDir, StringComparison.Ordinal))
                .GroupBy(p => p.Topic, StringComparer.Ordinal)
                .OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                var topic = new DescribeLogDirsResponse.DescribeLogDirsTopic { Name = group.Key };
                foreach (var p in group.OrderBy(p => p.PartitionIndex))
                {
                    topic.Partitions.Add(new DescribeLogDirsResponse.DescribeLogDirsPartition
                    {
                        PartitionIndex = p.PartitionIndex,
                        PartitionSize = p.Log.Size,
                        OffsetLag = p.IsLeader ? 0 : Math.Max(p.HighWatermark - p.LogEndOffset, 0),
                        IsFutureKey = false,
                    });
                }

                result.Topics.Add(topic);
            }

            response.Results.Add(result);
        }

        return Respond(response);
    }
}
