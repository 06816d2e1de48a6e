using System.Text;
using Gregor.Protocol.Compression;
using Gregor.Protocol.Records;
using Xunit;

namespace Gregor.Protocol.Tests.Records;

/// <summary>
/// Batches exactly as librdkafka 2.0.2 (kcat) produced them, captured from a segment file:
/// <c>printf 'k1:1 R\nk2:2 R\n:3 R\n' | kcat -P -z CODEC -K: -H trace=abc -H empty= -X linger.ms=100</c>
/// with R = "gregor speaks kafka " eight times.
/// </summary>
public class LibrdkafkaGoldenBatchTests
{
    private static readonly byte[] Uncompressed = Convert.FromBase64String(
        """
        AAAAAAAAAAAAAAJpAAAAAAJSzlbLAAAAAAACAAABoh0cj38AAAGiHRyPf///////////////////AAAAA/gCAAAABGsxxAIxIGdy
        ZWdvciBzcGVha3Mga2Fma2EgZ3JlZ29yIHNwZWFrcyBrYWZrYSBncmVnb3Igc3BlYWtzIGthZmthIGdyZWdvciBzcGVha3Mga2Fm
        a2EgZ3JlZ29yIHNwZWFrcyBrYWZrYSBncmVnb3Igc3BlYWtzIGthZmthIGdyZWdvciBzcGVha3Mga2Fma2EgZ3JlZ29yIHNwZWFr
        cyBrYWZrYSAECnRyYWNlBmFiYwplbXB0eQD4AgAAAgRrMsQCMiBncmVnb3Igc3BlYWtzIGthZmthIGdyZWdvciBzcGVha3Mga2Fm
        a2EgZ3JlZ29yIHNwZWFrcyBrYWZrYSBncmVnb3Igc3BlYWtzIGthZmthIGdyZWdvciBzcGVha3Mga2Fma2EgZ3JlZ29yIHNwZWFr
        cyBrYWZrYSBncmVnb3Igc3BlYWtzIGthZmthIGdyZWdvciBzcGVha3Mga2Fma2EgBAp0cmFjZQZhYmMKZW1wdHkA9AIAAAQAxAIz
        IGdyZWdvciBzcGVha3Mga2Fma2EgZ3JlZ29yIHNwZWFrcyBrYWZrYSBncmVnb3Igc3BlYWtzIGthZmthIGdyZWdvciBzcGVha3Mg
        a2Fma2EgZ3JlZ29yIHNwZWFrcyBrYWZrYSBncmVnb3Igc3BlYWtzIGthZmthIGdyZWdvciBzcGVha3Mga2Fma2EgZ3JlZ29yIHNw
        ZWFrcyBrYWZrYSAECnRyYWNlBmFiYwplbXB0eQA=
        """.Replace("\n", "", StringComparison.Ordinal));

    private static readonly byte[] Gzip = Convert.FromBase64String(
        """
        AAAAAAAAAAAAAACXAAAAAAJa9MyMAAEAAAACAAABoh0ckVYAAAGiHRyRVv//////////////////AAAAAx+LCAAAAAAAAAP7wcTA
        wMCSbXiEyVAhvSg1Pb9IobggNTG7WCE7MS07cVCJsXCVFCUmp7IlJiVzpeYWlFQy/AC6nokl2+gIk9Ggcilxrv8CdD0LwxEm40Hl
        TuLcDgDIoaJBOAIAAA==
        """.Replace("\n", "", StringComparison.Ordinal));

    private static readonly byte[] Snappy = Convert.FromBase64String(
        """
        AAAAAAAAAAAAAAChAAAAAALul3mwAAIAAAACAAABoh0ckcQAAAGiHRyRxP//////////////////AAAAA7gEePgCAAAABGsxxAIx
        IGdyZWdvciBzcGVha3Mga2Fma2H+FAD+FAAyFABEBAp0cmFjZQZhYmMKZW1wdHkAAb4YAgRrMsQCMv6qAP6qADKqAE5KAUa+ACD0
        AgAABADEAjNSMABORAD+FADeFABGvAA=
        """.Replace("\n", "", StringComparison.Ordinal));

    private static readonly byte[] Zstd = Convert.FromBase64String(
        """
        AAAAAAAAAAAAAACQAAAAAALdWr22AAQAAAACAAABoh0ckucAAAGiHRyS5///////////////////AAAAAyi1L/0AWLUCAFJEEBrQ
        pQNAAQ0ArAn3HRKS55ZqLwCUDAtdIDLNFMGd0f5x7s7i7T8bTRFKkJCAolyNYO6QW9imKlZWkXSlYu7Mou2/BQCwn1EXNB4ADVK0
        DOVWHDWd
        """.Replace("\n", "", StringComparison.Ordinal));

    public static TheoryData<string, CompressionType> Batches() => new()
    {
        { nameof(Uncompressed), CompressionType.None },
        { nameof(Gzip), CompressionType.Gzip },
        { nameof(Snappy), CompressionType.Snappy },
        { nameof(Zstd), CompressionType.Zstd },
    };

    private static byte[] Batch(string name) => name switch
    {
        nameof(Uncompressed) => Uncompressed,
        nameof(Gzip) => Gzip,
        nameof(Snappy) => Snappy,
        nameof(Zstd) => Zstd,
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Batches))]
    public void A_librdkafka_batch_validates_and_decodes(string name, CompressionType compression)
    {
        var batch = Batch(name);
        Assert.Equal(RecordBatch.SizeInBytes(batch), batch.Length);
        Assert.Equal(compression, RecordBatch.CompressionType(batch));
        Assert.Equal(TimestampType.CreateTime, RecordBatch.TimestampType(batch));
        Assert.Equal(RecordBatch.NoProducerId, RecordBatch.ProducerId(batch));
        Assert.Equal(RecordBatch.NoSequence, RecordBatch.BaseSequence(batch));
        Assert.Equal(3, RecordBatch.RecordCount(batch));
        Assert.Equal(2, RecordBatch.LastOffsetDelta(batch));
        Assert.True(RecordBatch.IsValid(batch));
        Assert.Equal(ErrorCode.None, RecordBatchValidator.Validate(batch, out var message, deepCheck: true));
        Assert.Null(message);
        // kcat's -K: gives the third line an empty key, which is a key.
        Assert.False(RecordBatchValidator.HasRecordWithoutKey(batch));

        var r = string.Concat(Enumerable.Repeat("gregor speaks kafka ", 8));
        var decoded = new List<string>();
        using var reader = new RecordReader(batch);
        foreach (var record in reader)
        {
            var headers = new List<string>();
            foreach (var header in record.Headers)
            {
                headers.Add($"{header.Key}={(header.HasValue ? Encoding.UTF8.GetString(header.Value) : "null")}");
            }

            var key = record.HasKey ? Encoding.UTF8.GetString(record.Key) : "null";
            decoded.Add($"{record.OffsetDelta}|{key}|{Encoding.UTF8.GetString(record.Value)}|{string.Join(',', headers)}");
            Assert.InRange(record.Timestamp(reader.BaseTimestamp), RecordBatch.BaseTimestamp(batch), RecordBatch.MaxTimestamp(batch));
        }

        Assert.Equal(
            [$"0|k1|1 {r}|trace=abc,empty=", $"1|k2|2 {r}|trace=abc,empty=", $"2||3 {r}|trace=abc,empty="],
            decoded);
    }

    [Fact]
    public void Librdkafka_sends_raw_snappy_not_the_xerial_framing()
    {
        Assert.False(SnappyCodec.IsXerialFramed(Snappy.AsSpan(RecordBatch.HeaderSize)));
    }

    [Fact]
    public void Rebuilding_the_uncompressed_batch_gives_the_same_bytes()
    {
        // Our builder and librdkafka agree byte for byte on the record encoding.
        var r = string.Concat(Enumerable.Repeat("gregor speaks kafka ", 8));
        using var reader = new RecordReader(Uncompressed);
        var builder = new RecordBatchBuilder { PartitionLeaderEpoch = RecordBatch.PartitionLeaderEpoch(Uncompressed) };
        var i = 0;
        foreach (var record in reader)
        {
            var key = i == 2 ? [] : Encoding.UTF8.GetBytes($"k{i + 1}");
            builder.Append(record.Timestamp(reader.BaseTimestamp), key, Encoding.UTF8.GetBytes($"{i + 1} {r}"), [new("trace", "abc"u8.ToArray()), new("empty", [])]);
            i++;
        }

        Assert.Equal(Convert.ToHexString(Uncompressed), Convert.ToHexString(builder.Build()));
    }
}
