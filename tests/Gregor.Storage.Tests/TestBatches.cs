using System.Buffers;
using System.Text;
using Gregor.Protocol.Records;
using Gregor.Storage.Internal;

namespace Gregor.Storage.Tests;

internal static class TestBatches
{
    /// <summary>A produce-style batch (base offset 0) of <paramref name="count"/> records with
    /// timestamps <paramref name="firstTimestamp"/>, +1, +2, ... and values "v{tag}-{i}".</summary>
    public static byte[] Batch(int count, long firstTimestamp = 1_000, string tag = "", int valueSize = 0,
        CompressionType compression = CompressionType.None)
    {
        var builder = new RecordBatchBuilder { CompressionType = compression };
        for (var i = 0; i < count; i++)
        {
            var value = Encoding.UTF8.GetBytes($"v{tag}-{i}");
            if (valueSize > value.Length)
            {
                Array.Resize(ref value, valueSize);
            }

            builder.Append(firstTimestamp + i, Encoding.UTF8.GetBytes($"k{i}"), value);
        }

        var writer = new ArrayBufferWriter<byte>();
        builder.Build(writer);
        return writer.WrittenSpan.ToArray();
    }

    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    public static LogConfig Config(params (string Key, string Value)[] overrides) =>
        LogConfig.Create(new Dictionary<string, string>(), overrides.ToDictionary(o => o.Key, o => o.Value));

    /// <summary>Every batch in a read result: (base offset, last offset, record count).</summary>
    public static List<(long BaseOffset, long LastOffset, int Count)> Batches(ReadOnlySpan<byte> data)
    {
        var result = new List<(long, long, int)>();
        var position = 0;
        while (RecordBatchReader.TryReadNext(data, ref position, out var start, out var size))
        {
            var batch = data.Slice(start, size);
            Assert.True(RecordBatch.IsValid(batch), "a batch read back must be intact");
            result.Add((RecordBatch.BaseOffset(batch), RecordBatch.LastOffset(batch), RecordBatch.RecordCount(batch)));
        }

        Assert.Equal(data.Length, position);
        return result;
    }

    /// <summary>Values of the records in a read result, by offset.</summary>
    public static SortedDictionary<long, string> Values(ReadOnlySpan<byte> data)
    {
        var result = new SortedDictionary<long, string>();
        var position = 0;
        while (RecordBatchReader.TryReadNext(data, ref position, out var start, out var size))
        {
            using var reader = new RecordReader(data.Slice(start, size));
            while (reader.TryReadNext(out var record))
            {
                result[record.Offset(reader.BaseOffset)] = Encoding.UTF8.GetString(record.Value).TrimEnd('\0');
            }
        }

        return result;
    }

    /// <summary>Reads the whole log from <paramref name="from"/> to its end in small steps, as a consumer would.</summary>
    public static SortedDictionary<long, string> ReadAll(Log log, long from = -1)
    {
        var all = new SortedDictionary<long, string>();
        var next = from < 0 ? log.LogStartOffset : from;
        while (next < log.LogEndOffset)
        {
            using var read = log.Read(next, 4096, log.LogEndOffset, minOneBatch: true);
            Assert.Equal(Gregor.Protocol.ErrorCode.None, read.Error);
            Assert.True(read.Length > 0, $"no progress at offset {next}");
            foreach (var (offset, value) in Values(read.Records.Span))
            {
                if (offset >= next)
                {
                    all[offset] = value;
                }
            }

            next = all.Keys.Max() + 1;
        }

        return all;
    }
}
