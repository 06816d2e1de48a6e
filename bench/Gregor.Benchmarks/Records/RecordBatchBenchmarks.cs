using BenchmarkDotNet.Attributes;
using Gregor.Protocol;
using Gregor.Protocol.Compression;
using Gregor.Protocol.Records;

namespace Gregor.Benchmarks.Records;

/// <summary>
/// The produce path's per-batch work: what a 1 MB batch of 1,000-byte records (rdkafka_performance's
/// shape) costs to validate, shallow and deep, and to decompress with each codec.
/// </summary>
[MemoryDiagnoser]
public class RecordBatchBenchmarks
{
    private readonly Dictionary<CompressionType, byte[]> _batches = [];
    private PooledBufferWriter _scratch = null!;

    [Params(CompressionType.None, CompressionType.Lz4, CompressionType.Zstd, CompressionType.Snappy, CompressionType.Gzip)]
    public CompressionType Compression { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        var builder = new RecordBatchBuilder { CompressionType = Compression, ProducerId = 1, ProducerEpoch = 0, BaseSequence = 0 };
        for (var i = 0; i < 1000; i++)
        {
            // Half text, half noise, so the codecs have something to do but cannot cheat.
            var value = new byte[1000];
            random.NextBytes(value.AsSpan(500));
            "the quick brown fox jumps over the lazy dog "u8.CopyTo(value);
            builder.Append(1_700_000_000_000 + i, BitConverter.GetBytes(i), value);
        }

        _batches[Compression] = builder.Build();
        _scratch = new PooledBufferWriter(2 * 1024 * 1024);
    }

    [GlobalCleanup]
    public void Cleanup() => _scratch.Dispose();

    [Benchmark]
    public ErrorCode ValidateShallow() => RecordBatchValidator.Validate(_batches[Compression], out _, deepCheck: false);

    [Benchmark]
    public ErrorCode ValidateDeep() => RecordBatchValidator.Validate(_batches[Compression], out _, deepCheck: true);

    [Benchmark]
    public int Decompress()
    {
        _scratch.Clear();
        CompressionCodecs.Decompress(Compression, _batches[Compression].AsSpan(RecordBatch.HeaderSize), _scratch);
        return _scratch.WrittenCount;
    }
}
