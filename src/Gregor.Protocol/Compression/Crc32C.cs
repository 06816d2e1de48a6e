using System.IO.Hashing;

namespace Gregor.Protocol.Compression;

/// <summary>
/// CRC-32C (Castagnoli), the checksum of record batch v2. System.IO.Hashing uses the SSE4.2 /
/// ARMv8 CRC instructions when present, so checking a batch costs far less than copying it.
/// </summary>
public static class Crc32C
{
    public static uint Compute(ReadOnlySpan<byte> data) => Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, data);
}
