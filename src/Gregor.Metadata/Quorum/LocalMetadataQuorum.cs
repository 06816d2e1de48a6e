using System.Buffers.Binary;
using System.IO.Hashing;

namespace Gregor.Metadata.Quorum;

/// <summary>
/// The quorum of one: the zero-config single node is its own leader in epoch 1 and an append is
/// committed once it is on local disk. With a directory, entries go to <c>quorum.log</c> there
/// (offset, epoch, length, CRC-32C, payload per entry) and are reloaded on start; a torn tail from
/// a crash is truncated, as the Kafka log's recovery does. Without one, the log lives in memory
/// (tests).
/// </summary>
public sealed class LocalMetadataQuorum : IMetadataQuorum
{
    private const int EntryHeaderSize = 8 + 8 + 4 + 4;
    private const long Epoch = 1;

    private readonly string? _path;
    private readonly CommittedLog _log = new();
    private readonly SemaphoreSlim _appendLock = new(1, 1);
    private FileStream? _file;

    public LocalMetadataQuorum(int nodeId, string? directory = null)
    {
        NodeId = nodeId;
        _path = directory is null ? null : Path.Combine(directory, "quorum.log");
    }

    public int NodeId { get; }

    public LeaderAndEpoch Leader { get; private set; } = new(null, 0);

    public bool IsLeader => Leader.LeaderId == NodeId;

    public long HighWatermark => _log.HighWatermark;

    public event Action<LeaderAndEpoch>? LeaderChanged;

    public event Action<long>? Committed;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_path is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
            _file = new FileStream(_path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
            Recover(_file);
        }

        Leader = new LeaderAndEpoch(NodeId, Epoch);
        LeaderChanged?.Invoke(Leader);
        return Task.CompletedTask;
    }

    public async ValueTask<long> AppendAsync(ReadOnlyMemory<byte> entry, CancellationToken cancellationToken)
    {
        if (Leader.LeaderId != NodeId)
        {
            throw new NotControllerException("The local metadata quorum has not started.");
        }

        long offset;
        await _appendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            offset = _log.HighWatermark;
            if (_file is not null)
            {
                var bytes = Frame(offset, entry.Span);
                await _file.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
                _file.Flush(flushToDisk: true);
            }

            _log.Add(new CommittedEntry(offset, Epoch, entry.ToArray()));
        }
        finally
        {
            _appendLock.Release();
        }

        Committed?.Invoke(offset + 1);
        return offset;
    }

    /// <summary>Rewrites the log file without the entries below <paramref name="offset"/> (temporary file, then rename).</summary>
    public void DeleteBefore(long offset)
    {
        _appendLock.Wait();
        try
        {
            // The last entry always stays: it carries the next offset across a restart.
            var kept = _log.DeleteBefore(Math.Min(offset, _log.HighWatermark - 1));
            if (_file is null || _path is null)
            {
                return;
            }

            var temporary = _path + ".cleaned";
            using (var output = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                foreach (var entry in kept)
                {
                    output.Write(Frame(entry.Offset, entry.Payload.Span));
                }

                output.Flush(flushToDisk: true);
            }

            _file.Dispose();
            File.Move(temporary, _path, overwrite: true);
            _file = new FileStream(_path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
            _file.Position = _file.Length;
        }
        finally
        {
            _appendLock.Release();
        }
    }

    public ValueTask WaitForCommittedAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public IReadOnlyList<CommittedEntry> ReadCommitted(long fromOffset, int maxEntries = int.MaxValue) =>
        _log.Read(fromOffset, maxEntries);

    public async ValueTask DisposeAsync()
    {
        if (_file is not null)
        {
            await _file.DisposeAsync().ConfigureAwait(false);
        }

        _appendLock.Dispose();
    }

    private static byte[] Frame(long offset, ReadOnlySpan<byte> payload)
    {
        var bytes = new byte[EntryHeaderSize + payload.Length];
        BinaryPrimitives.WriteInt64BigEndian(bytes, offset);
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(8), Epoch);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(16), payload.Length);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(20), Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, payload));
        payload.CopyTo(bytes.AsSpan(EntryHeaderSize));
        return bytes;
    }

    private void Recover(FileStream file)
    {
        var header = new byte[EntryHeaderSize];
        long valid = 0;
        file.Position = 0;
        while (true)
        {
            if (file.Read(header) < EntryHeaderSize)
            {
                break;
            }

            var offset = BinaryPrimitives.ReadInt64BigEndian(header);
            var epoch = BinaryPrimitives.ReadInt64BigEndian(header.AsSpan(8));
            var length = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(16));
            var crc = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(20));
            // After DeleteBefore the first entry starts anywhere; then offsets are consecutive.
            if (length < 0 || offset < 0 || (valid > 0 && offset != _log.HighWatermark) || length > file.Length - file.Position)
            {
                break;
            }

            var payload = new byte[length];
            file.ReadExactly(payload);
            if (Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, payload) != crc)
            {
                break;
            }

            _log.Add(new CommittedEntry(offset, epoch, payload));
            valid = file.Position;
        }

        file.SetLength(valid);
        file.Position = valid;
    }
}
