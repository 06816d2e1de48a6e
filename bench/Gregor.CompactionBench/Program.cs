// Compaction load generator: fills a compacted partition log with N bytes of keyed records over
// K keys, then runs one cleaner pass and reports its throughput and the size before and after.
// Usage: dotnet run -c Release --project bench/Gregor.CompactionBench -- [--bytes N] [--keys K]
//        [--value-size B] [--segment-bytes S] [--dir PATH]
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Gregor.Protocol.Records;
using Gregor.Storage;
using Gregor.Storage.Cleaner;

var options = new Dictionary<string, string>(StringComparer.Ordinal)
{
    ["bytes"] = (1L << 30).ToString(CultureInfo.InvariantCulture),
    ["keys"] = "100000",
    ["value-size"] = "1000",
    ["segment-bytes"] = "104857600",
    ["dir"] = Path.Combine(Path.GetTempPath(), $"gregor-compaction-bench-{Environment.ProcessId}"),
};
for (var i = 0; i + 1 < args.Length; i += 2)
{
    options[args[i].TrimStart('-')] = args[i + 1];
}

var targetBytes = long.Parse(options["bytes"], CultureInfo.InvariantCulture);
var keys = int.Parse(options["keys"], CultureInfo.InvariantCulture);
var valueSize = int.Parse(options["value-size"], CultureInfo.InvariantCulture);
var root = options["dir"];
var logDir = Path.Combine(root, "bench-0");
Directory.CreateDirectory(root);
try
{
    var config = LogConfig.Create(new Dictionary<string, string>(), new Dictionary<string, string>
    {
        ["cleanup.policy"] = "compact",
        ["segment.bytes"] = options["segment-bytes"],
        ["file.delete.delay.ms"] = "0",
    });
    using var log = Log.Open(logDir, config, TimeProvider.System);
    var value = new byte[valueSize];
    Random.Shared.NextBytes(value);
    var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
    var fill = Stopwatch.StartNew();
    long records = 0;
    while (log.Size < targetBytes)
    {
        var builder = new RecordBatchBuilder();
        for (var r = 0; r < 100; r++, records++)
        {
            // Keys drawn uniformly: every key gets about bytes / (keys * value size) versions.
            var key = Encoding.UTF8.GetBytes($"key-{Random.Shared.Next(keys):D6}");
            builder.Append(now, key, value);
        }

        log.Append(builder.Build(), 0);
    }

    log.Roll();
    log.Append(new RecordBatchBuilder().Append(now, "last"u8.ToArray(), value).Build(), 0);
    log.HighWatermark = log.LogEndOffset;
    log.Flush();
    fill.Stop();
    var sizeBefore = log.Size;

    var cleaner = new LogCleaner(() => [log], [root], TimeProvider.System);
    var stats = cleaner.Clean(log, force: true) ?? throw new InvalidOperationException("Nothing was cleaned.");
    var sizeAfter = log.Size;
    var mb = 1024.0 * 1024.0;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
        records written      {records:N0} over {keys:N0} keys, value {valueSize} B, segment.bytes {options["segment-bytes"]}
        fill                 {sizeBefore / mb:F1} MB in {fill.Elapsed.TotalSeconds:F1} s ({sizeBefore / mb / fill.Elapsed.TotalSeconds:F1} MB/s)
        cleaner pass         {stats.BytesRead / mb:F1} MB read, {stats.BytesWritten / mb:F1} MB written in {stats.Elapsed.TotalSeconds:F2} s
        cleaner throughput   {stats.BytesRead / mb / stats.Elapsed.TotalSeconds:F1} MB/s (input bytes / pass time)
        records              {stats.RecordsRead:N0} read, {stats.RecordsKept:N0} kept
        log size             {sizeBefore / mb:F1} MB before, {sizeAfter / mb:F1} MB after
        """));
}
finally
{
    Directory.Delete(root, recursive: true);
}
