using System.Globalization;
using Gregor.Broker.Client;
using Gregor.Metadata.Image;
using Gregor.Metadata.Quorum;
using Gregor.Protocol;
using Gregor.Protocol.Messages;
using Gregor.Protocol.Records;

namespace Gregor.Broker.Cluster;

/// <summary>
/// A broker-only node's way to the metadata log: Fetch v17 for <c>__cluster_metadata</c>
/// partition 0 (by Kafka's fixed topic id) with its replica id, and FetchSnapshot v1 when it is
/// behind the log start, sent to a controller from <c>controller.quorum.bootstrap.servers</c>
/// (the controllers' inter-broker listeners). It sticks to one controller while it answers and
/// moves to the next on a failure, so a stopped controller only costs one failed request.
/// </summary>
public sealed class MetadataLogFetcher : IMetadataLogSource
{
    private const string Purpose = "metadata-log";
    private const short FetchVersion = 17;
    private const short FetchSnapshotVersion = 1;
    private const int MaxWaitMs = 500;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);

    private readonly NodeClientPool _clients;
    private readonly int _nodeId;
    private readonly IReadOnlyList<(string Host, int Port)> _servers;
    private int _current;

    public MetadataLogFetcher(NodeClientPool clients, int nodeId, IReadOnlyList<(string Host, int Port)> servers)
    {
        if (servers.Count == 0)
        {
            throw new ArgumentException("A broker-only node needs controller.quorum.bootstrap.servers.", nameof(servers));
        }

        _clients = clients;
        _nodeId = nodeId;
        _servers = servers;
    }

    /// <summary>Parses <c>controller.quorum.bootstrap.servers</c> (<c>host:port,...</c>).</summary>
    public static IReadOnlyList<(string Host, int Port)> ParseServers(IEnumerable<string> entries)
    {
        var result = new List<(string, int)>();
        foreach (var raw in entries)
        {
            var entry = raw.Trim();
            var colon = entry.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(entry.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            {
                throw new FormatException($"controller.quorum.bootstrap.servers entry '{entry}' is not of the form host:port.");
            }

            result.Add((entry[..colon].Trim('[', ']'), port));
        }

        return result;
    }

    public async Task<MetadataLogFetch> FetchAsync(long fetchOffset, CancellationToken cancellationToken)
    {
        var request = new FetchRequest
        {
            ReplicaState = new FetchRequest.ReplicaStateData { ReplicaId = _nodeId, ReplicaEpoch = -1 },
            MaxWaitMs = MaxWaitMs,
            MinBytes = 1,
            MaxBytes = 8 * 1024 * 1024,
            SessionEpoch = -1,
            Topics =
            [
                new FetchRequest.FetchTopic
                {
                    Topic = MetadataTopic.Name,
                    TopicId = MetadataTopic.Id,
                    Partitions = [new FetchRequest.FetchPartition { Partition = MetadataTopic.Partition, FetchOffset = fetchOffset, PartitionMaxBytes = 8 * 1024 * 1024 }],
                },
            ],
        };
        var response = await SendAsync<FetchResponse>(request, FetchVersion, cancellationToken).ConfigureAwait(false);
        if (response.ErrorCode != 0 || response.Responses.Count != 1 || response.Responses[0].Partitions.Count != 1)
        {
            throw Failed($"Fetch answered error {response.ErrorCode}");
        }

        var partition = response.Responses[0].Partitions[0];
        if (partition.ErrorCode != 0)
        {
            throw Failed($"Fetch answered error {partition.ErrorCode}");
        }

        var leader = new LeaderAndEpoch(partition.CurrentLeader.LeaderId < 0 ? null : partition.CurrentLeader.LeaderId, partition.CurrentLeader.LeaderEpoch);
        if (partition.SnapshotId.EndOffset >= 0)
        {
            return new MetadataLogFetch([], leader, partition.SnapshotId.EndOffset);
        }

        return new MetadataLogFetch(ReadEntries(partition.Records ?? ReadOnlyMemory<byte>.Empty), leader);
    }

    public async Task<MetadataImage> FetchSnapshotAsync(long endOffset, CancellationToken cancellationToken)
    {
        var request = new FetchSnapshotRequest
        {
            ReplicaId = _nodeId,
            Topics =
            [
                new FetchSnapshotRequest.TopicSnapshot
                {
                    Name = MetadataTopic.Name,
                    Partitions =
                    [
                        new FetchSnapshotRequest.PartitionSnapshot
                        {
                            Partition = MetadataTopic.Partition,
                            CurrentLeaderEpoch = -1,
                            SnapshotId = new FetchSnapshotRequest.SnapshotId { EndOffset = endOffset, Epoch = -1 },
                            Position = 0,
                        },
                    ],
                },
            ],
        };
        var response = await SendAsync<FetchSnapshotResponse>(request, FetchSnapshotVersion, cancellationToken).ConfigureAwait(false);
        if (response.ErrorCode != 0 || response.Topics.Count != 1 || response.Topics[0].Partitions.Count != 1)
        {
            throw Failed($"FetchSnapshot answered error {response.ErrorCode}");
        }

        var partition = response.Topics[0].Partitions[0];
        if (partition.ErrorCode != 0 || partition.UnalignedRecords is not { } bytes || bytes.Length != partition.SizeValue)
        {
            throw Failed($"FetchSnapshot answered error {partition.ErrorCode}");
        }

        return MetadataSnapshot.Deserialize(bytes);
    }

    /// <summary>One committed entry per batch: base offset = entry offset, leader epoch = entry epoch, one record = the payload.</summary>
    private static List<CommittedEntry> ReadEntries(ReadOnlyMemory<byte> records)
    {
        var entries = new List<CommittedEntry>();
        var position = 0;
        while (RecordBatchReader.TryReadNext(records.Span, ref position, out var start, out var size))
        {
            var batch = records.Slice(start, size);
            var reader = new RecordReader(batch.Span);
            try
            {
                if (reader.TryReadNext(out var record) && record.HasValue)
                {
                    entries.Add(new CommittedEntry(reader.BaseOffset, RecordBatch.PartitionLeaderEpoch(batch.Span), record.Value.ToArray()));
                }
            }
            finally
            {
                reader.Dispose();
            }
        }

        return entries;
    }

    private async Task<TResponse> SendAsync<TResponse>(IRequestMessage request, short version, CancellationToken cancellationToken)
        where TResponse : class, IResponseMessage
    {
        var (host, port) = _servers[Volatile.Read(ref _current) % _servers.Count];
        try
        {
            return await _clients.SendAsync<TResponse>(host, port, Purpose, request, version, RequestTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Interlocked.Increment(ref _current);
            throw;
        }
    }

    private InvalidOperationException Failed(string message)
    {
        Interlocked.Increment(ref _current);
        return new InvalidOperationException(message);
    }
}
