using System.Buffers.Binary;
using Gregor.Storage.Index;
using Gregor.TestKit;

namespace Gregor.Storage.Tests;

public sealed class IndexTests : IDisposable
{
    private readonly TempDirectory _temp = new("gregor-index");

    public void Dispose() => _temp.Dispose();

    private string PathOf(string name) => Path.Combine(_temp.Path, name);

    [Fact]
    public void Offset_index_lookup_returns_the_largest_entry_at_or_below_the_target()
    {
        using var index = new OffsetIndex(PathOf("00000000000000001000.index"), 1000, 8 * 100, active: true);
        Assert.Equal(800, new FileInfo(index.FilePath).Length);
        Assert.Equal(new OffsetPosition(1000, 0), index.Lookup(1500));
        index.Append(1010, 4100);
        index.Append(1020, 8300);
        index.Append(1035, 12500);
        Assert.Equal(new OffsetPosition(1000, 0), index.Lookup(1009));
        Assert.Equal(new OffsetPosition(1010, 4100), index.Lookup(1010));
        Assert.Equal(new OffsetPosition(1020, 8300), index.Lookup(1034));
        Assert.Equal(new OffsetPosition(1035, 12500), index.Lookup(99_999));
        Assert.Throws<InvalidOperationException>(() => index.Append(1035, 20000));

        // Big-endian int32 relative offset, int32 position: Kafka's entry layout.
        var bytes = File.ReadAllBytes(index.FilePath);
        Assert.Equal(10, BinaryPrimitives.ReadInt32BigEndian(bytes));
        Assert.Equal(4100, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4)));
        Assert.Equal(35, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)));
        index.TrimToValidSize();
        Assert.Equal(24, new FileInfo(index.FilePath).Length);
    }

    [Fact]
    public void Preallocated_offset_index_reloads_only_its_entries_and_can_fill_up()
    {
        var path = PathOf("00000000000000000000.index");
        using (var index = new OffsetIndex(path, 0, 8 * 4, active: true))
        {
            index.Append(5, 100);
            index.Append(9, 200);
        }

        Assert.Equal(32, new FileInfo(path).Length); // never trimmed: as after a crash
        using var reloaded = new OffsetIndex(path, 0, 8 * 4, active: true);
        Assert.False(reloaded.LoadedCorrupt);
        Assert.Equal(2, reloaded.Entries);
        reloaded.Append(12, 300);
        reloaded.Append(15, 400);
        Assert.True(reloaded.IsFull);
        reloaded.TruncateTo(12);
        Assert.Equal(2, reloaded.Entries);
        Assert.Equal(new OffsetPosition(9, 200), reloaded.Lookup(14));
    }

    [Fact]
    public void Time_index_only_grows_and_looks_up_by_timestamp()
    {
        using var index = new TimeIndex(PathOf("00000000000000000050.timeindex"), 50, 12 * 10, active: true);
        Assert.Equal(new TimestampOffset(-1, 50), index.Lookup(1_000));
        index.MaybeAppend(1_000, 55);
        index.MaybeAppend(900, 57);   // not larger: ignored
        index.MaybeAppend(1_000, 58); // equal: ignored
        index.MaybeAppend(2_000, 60);
        Assert.Equal(2, index.Entries);
        Assert.Equal(new TimestampOffset(-1, 50), index.Lookup(999));
        Assert.Equal(new TimestampOffset(1_000, 55), index.Lookup(1_999));
        Assert.Equal(new TimestampOffset(2_000, 60), index.Lookup(5_000));

        var bytes = File.ReadAllBytes(index.FilePath);
        Assert.Equal(1_000, BinaryPrimitives.ReadInt64BigEndian(bytes));
        Assert.Equal(5, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(8)));
        Assert.Equal(2_000, BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(12)));
        Assert.Equal(10, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));
    }

    [Fact]
    public void Index_size_is_rounded_down_to_whole_entries()
    {
        using var index = new TimeIndex(PathOf("00000000000000000000.timeindex"), 0, 100, active: true);
        Assert.Equal(96, new FileInfo(index.FilePath).Length);
        Assert.Equal(8, index.MaxEntries);
    }
}
