using BenchmarkDotNet.Attributes;
using Gregor.Protocol.Records;
using Gregor.Storage;

namespace Gregor.Benchmarks.Storage;

/// <summary>
/// The log's hot paths with a 1 MB batch of 1,000-byte records: an append (validate + CRC, offsets
/// written in place, one positional write) and a fetch-sized read (index lookup, header scan, one
/// copy into a pooled buffer). Compare with the CRC-only cost in RecordBatchBenchmarks and the
/// machine's raw write speed.
/// </summary>
[MemoryDiagnoser]
[InvocationCount(32)]
public class LogBenchmarks
{
    private string _dir = "";
    private Log _log = null!;
    private byte[] _batch = [];

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), $"gregor-bench-{Guid.NewGuid():N}");
        var builder = new RecordBatchBuilder();
        var value = new byte[1000];
        new Random(42).NextBytes(value);
        for (var i = 0; i < 1000; i++)
        {
            builder.Append(1_700_000_000_000 + i, BitConverter.GetBytes(i), value);
        }

        _batch = builder.Build();
        _log = Log.Open(Path.Combine(_dir, "bench-0"),
            LogConfig.Create(new Dictionary<string, string>(), new Dictionary<string, string> { ["segment.bytes"] = "268435456" }),
            TimeProvider.System);
        for (var i = 0; i < 32; i++)
        {
            AppendOnce();
        }
    }

    // Bound the disk used: every iteration starts from the same small log.
    [IterationSetup(Target = nameof(Append))]
    public void ResetLog() => _log.Truncate(32_000);

    [Benchmark]
    public long Append() => AppendOnce();

    [Benchmark]
    public int Read()
    {
        using var read = _log.Read(10_500, 1024 * 1024 + 100_000, long.MaxValue, minOneBatch: true);
        return read.Length;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _log.Delete();
        Directory.Delete(_dir, recursive: true);
    }

    private long AppendOnce()
    {
        // A produced batch has base offset 0; the previous append wrote its offset in place.
        RecordBatch.SetBaseOffset(_batch, 0);
        return _log.Append(_batch, 0).LastOffset;
    }
}
