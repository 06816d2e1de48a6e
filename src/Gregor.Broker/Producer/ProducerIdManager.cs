using System.Globalization;

namespace Gregor.Broker.Producer;

/// <summary>
/// Hands out producer ids from blocks (Kafka's ProducerIdManager). The end of the reserved block
/// is persisted before any id in it is used, so a restart continues after it and never hands out
/// an id twice. On a single node the block lives in a local file; with a controller quorum the
/// blocks will come from AllocateProducerIds instead.
/// </summary>
public sealed class ProducerIdManager
{
    /// <summary>Kafka's block size (ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE).</summary>
    public const int BlockSize = 1000;

    public const string FileName = "producer-id-block";

    private readonly Lock _lock = new();
    private readonly string _path;
    private readonly Func<(long Start, int Size)>? _allocateBlock;
    private long _next;
    private long _blockEnd;

    public ProducerIdManager(string dir)
    {
        _path = Path.Combine(dir, FileName);
        var persisted = File.Exists(_path)
            ? long.Parse(File.ReadAllText(_path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture)
            : 0;
        _next = persisted;
        _blockEnd = persisted;
    }

    /// <summary>
    /// A cluster member's manager: each block comes from the active controller (AllocateProducerIds,
    /// KIP-730), which keeps ids unique across brokers; <paramref name="allocateBlock"/> throws when
    /// no block can be had.
    /// </summary>
    public ProducerIdManager(Func<(long Start, int Size)> allocateBlock)
    {
        _path = string.Empty;
        _allocateBlock = allocateBlock;
    }

    public long GenerateProducerId()
    {
        lock (_lock)
        {
            if (_next >= _blockEnd && _allocateBlock is not null)
            {
                var (start, size) = _allocateBlock();
                _next = start;
                _blockEnd = start + size;
            }
            else if (_next >= _blockEnd)
            {
                var end = _next + BlockSize;
                Persist(end);
                _blockEnd = end;
            }

            return _next++;
        }
    }

    // tmp + fsync + rename: a crash leaves the old or the new block end, never a torn number.
    private void Persist(long blockEnd)
    {
        var tmp = _path + ".tmp";
        using (var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(System.Text.Encoding.ASCII.GetBytes(blockEnd.ToString(CultureInfo.InvariantCulture)));
            stream.Flush(flushToDisk: true);
        }

        File.Move(tmp, _path, overwrite: true);
    }
}
