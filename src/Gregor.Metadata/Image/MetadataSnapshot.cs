using System.Buffers.Binary;
using System.Globalization;
using System.IO.Hashing;
using Gregor.Metadata.Records;

namespace Gregor.Metadata.Image;

/// <summary>
/// Snapshot files of the metadata image, named as KRaft names them
/// (<c>&lt;20-digit end offset&gt;-&lt;10-digit epoch&gt;.checkpoint</c>). Content: magic "GRMS",
/// format version, the image's offset, the records of <see cref="MetadataImage.ToRecords"/> as one
/// log entry, and a CRC-32C over everything before it. Written to a temporary file and renamed, so
/// a crash leaves the previous snapshot intact.
/// </summary>
public static class MetadataSnapshot
{
    private const int Magic = 0x47524D53; // "GRMS"
    private const short FormatVersion = 1;
    private const string Suffix = ".checkpoint";

    public static byte[] Serialize(MetadataImage image)
    {
        var entry = MetadataRecordSerde.SerializeEntry(image.ToRecords());
        var bytes = new byte[4 + 2 + 8 + 4 + entry.Length + 4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, Magic);
        BinaryPrimitives.WriteInt16BigEndian(bytes.AsSpan(4), FormatVersion);
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(6), image.Offset);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(14), entry.Length);
        entry.CopyTo(bytes.AsSpan(18));
        var crc = Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, bytes.AsSpan(0, bytes.Length - 4));
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(bytes.Length - 4), crc);
        return bytes;
    }

    public static MetadataImage Deserialize(ReadOnlyMemory<byte> bytes)
    {
        var span = bytes.Span;
        if (span.Length < 22 || BinaryPrimitives.ReadInt32BigEndian(span) != Magic)
        {
            throw new InvalidDataException("Not a Gregor metadata snapshot.");
        }

        if (BinaryPrimitives.ReadInt16BigEndian(span[4..]) != FormatVersion)
        {
            throw new InvalidDataException("Unsupported metadata snapshot format version.");
        }

        var crc = BinaryPrimitives.ReadUInt32BigEndian(span[^4..]);
        if (Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, span[..^4]) != crc)
        {
            throw new InvalidDataException("Metadata snapshot CRC-32C mismatch.");
        }

        var offset = BinaryPrimitives.ReadInt64BigEndian(span[6..]);
        var length = BinaryPrimitives.ReadInt32BigEndian(span[14..]);
        if (length != span.Length - 22)
        {
            throw new InvalidDataException("Metadata snapshot length mismatch.");
        }

        var delta = new MetadataDelta(MetadataImage.Empty);
        delta.Replay(MetadataRecordSerde.DeserializeEntry(bytes.Slice(18, length)));
        return delta.Apply(offset);
    }

    public static string FileName(long offset, long epoch) =>
        string.Create(CultureInfo.InvariantCulture, $"{offset:D20}-{epoch:D10}{Suffix}");

    /// <summary>Writes the image's snapshot into <paramref name="directory"/>; returns its path.</summary>
    public static string Write(string directory, MetadataImage image, long epoch)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, FileName(image.Offset, epoch));
        var temporary = path + ".part";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(Serialize(image));
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
        return path;
    }

    /// <summary>Deletes the snapshots that end before <paramref name="offset"/>.</summary>
    public static void DeleteOlderThan(string directory, long offset)
    {
        foreach (var path in Directory.GetFiles(directory, "*" + Suffix))
        {
            var name = Path.GetFileName(path);
            if (name.Length == 20 + 1 + 10 + Suffix.Length
                && long.TryParse(name.AsSpan(0, 20), NumberStyles.None, CultureInfo.InvariantCulture, out var end)
                && end < offset)
            {
                File.Delete(path);
            }
        }
    }

    /// <summary>The newest snapshot in <paramref name="directory"/>, or null when there is none.</summary>
    public static MetadataImage? ReadLatest(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return null;
        }

        var latest = Directory.GetFiles(directory, "*" + Suffix)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(n => n.Length == 20 + 1 + 10 + Suffix.Length)
            .OrderDescending(StringComparer.Ordinal)
            .FirstOrDefault();
        return latest is null ? null : Deserialize(File.ReadAllBytes(Path.Combine(directory, latest)));
    }
}
