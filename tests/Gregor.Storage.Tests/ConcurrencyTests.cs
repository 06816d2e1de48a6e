using Gregor.Protocol;
using Gregor.Protocol.Records;
using Gregor.TestKit;
using static Gregor.Storage.Tests.TestBatches;

namespace Gregor.Storage.Tests;

public sealed class ConcurrencyTests : IDisposable
{
    private readonly TempDirectory _temp = new("gregor-concurrency");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Reads_during_appends_and_rolls_only_see_whole_intact_batches()
    {
        using var log = Log.Open(Path.Combine(_temp.Path, "race-0"), Config(("segment.bytes", "8192"), ("index.interval.bytes", "256")), TimeProvider.System);
        const int Batches = 2_000;
        var writer = Task.Run(() =>
        {
            for (var i = 0; i < Batches; i++)
            {
                Assert.Equal(ErrorCode.None, log.Append(Batch(i % 4 + 1, valueSize: 40), 0).Error);
            }
        });

        var readers = Enumerable.Range(0, 2).Select(r => Task.Run(() =>
        {
            long next = 0;
            var reads = 0;
            while (!writer.IsCompleted || next < log.LogEndOffset)
            {
                var end = log.LogEndOffset;
                using var read = log.Read(next, 3000, end, minOneBatch: true);
                Assert.Equal(ErrorCode.None, read.Error);
                var span = read.Records.Span;
                var position = 0;
                var first = true;
                while (RecordBatchReader.TryReadNext(span, ref position, out var start, out var size))
                {
                    var batch = span.Slice(start, size);
                    Assert.True(RecordBatch.IsValid(batch));
                    if (first)
                    {
                        // The batch containing the requested offset, as Kafka returns it.
                        Assert.InRange(next, RecordBatch.BaseOffset(batch), RecordBatch.LastOffset(batch));
                        first = false;
                    }
                    else
                    {
                        Assert.Equal(next, RecordBatch.BaseOffset(batch));
                    }

                    next = RecordBatch.LastOffset(batch) + 1;
                }

                Assert.Equal(span.Length, position);
                reads++;
            }

            return next;
        })).ToArray();

        await writer;
        var ends = await Task.WhenAll(readers);
        Assert.All(ends, e => Assert.Equal(log.LogEndOffset, e));
        Assert.True(log.SegmentCount > 5);
    }
}
