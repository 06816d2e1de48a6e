// Rebalance time of a consumer group: N librdkafka consumers subscribe at once to a topic of P
// partitions on an in-process Gregor broker; the time from subscribing until every partition is
// owned by exactly one member and the load is balanced (counts differ by at most one), for the
// classic protocol and for KIP-848's. Then one member leaves and the time until the others own
// everything again. Not a test: numbers depend on the machine and on librdkafka's timers.
//
//   dotnet run -c Release --project bench/Gregor.GroupRebalanceBench -- [members] [partitions] [runs]
using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Gregor.TestKit;

var members = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10;
var partitions = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 100;
var runs = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3;

await using var broker = await InProcessBroker.StartAsync(new Dictionary<string, string>
{
    // Classic groups wait group.initial.rebalance.delay.ms (3 s by default) before their first
    // generation; it is set to 0 here (as InProcessBroker does) so the protocol itself is measured.
    ["group.initial.rebalance.delay.ms"] = "0",
    ["group.consumer.heartbeat.interval.ms"] = "500",
});
await Clients.CreateTopicAsync(broker.BootstrapServers, "rebalance", partitions);
Console.WriteLine($"{members} members, {partitions} partitions, {runs} runs; librdkafka {Library.VersionString}");
foreach (var protocol in new[] { "classic", "consumer" })
{
    var joins = new List<double>();
    var leaves = new List<double>();
    for (var run = 0; run < runs; run++)
    {
        var (join, leave) = Measure(broker.BootstrapServers, protocol, $"{protocol}-{run}", members, partitions);
        joins.Add(join);
        leaves.Add(leave);
    }

    Console.WriteLine($"{protocol,-8} join: {Summary(joins)}   one member leaves: {Summary(leaves)}");
}

static string Summary(List<double> ms) => $"median {ms.Order().ElementAt(ms.Count / 2):F0} ms (min {ms.Min():F0}, max {ms.Max():F0})";

static (double JoinMs, double LeaveMs) Measure(string bootstrap, string protocol, string group, int members, int partitions)
{
    var consumers = new List<IConsumer<byte[], byte[]>>();
    for (var i = 0; i < members; i++)
    {
        var config = Clients.ConsumerConfig(bootstrap, group);
        config.Set("group.protocol", protocol);
        if (protocol == "classic")
        {
            config.SessionTimeoutMs = 10_000;
            config.HeartbeatIntervalMs = 500;
        }

        consumers.Add(new ConsumerBuilder<byte[], byte[]>(config).Build());
    }

    var clock = Stopwatch.StartNew();
    foreach (var c in consumers)
    {
        c.Subscribe("rebalance");
    }

    WaitBalanced(consumers, partitions);
    var join = clock.Elapsed.TotalMilliseconds;

    var leaving = consumers[^1];
    consumers.RemoveAt(consumers.Count - 1);
    clock.Restart();
    leaving.Close();
    leaving.Dispose();
    WaitBalanced(consumers, partitions);
    var leave = clock.Elapsed.TotalMilliseconds;

    foreach (var c in consumers)
    {
        c.Close();
        c.Dispose();
    }

    return (join, leave);
}

static void WaitBalanced(List<IConsumer<byte[], byte[]>> consumers, int partitions)
{
    var deadline = Stopwatch.StartNew();
    while (deadline.Elapsed < TimeSpan.FromSeconds(120))
    {
        foreach (var c in consumers)
        {
            c.Consume(TimeSpan.FromMilliseconds(1));
        }

        var counts = consumers.Select(c => c.Assignment.Count).ToList();
        var owned = consumers.SelectMany(c => c.Assignment).Select(tp => tp.Partition.Value).Distinct().Count();
        if (owned == partitions && counts.Sum() == partitions && counts.Max() - counts.Min() <= 1)
        {
            return;
        }
    }

    throw new TimeoutException("The group did not balance within 120 s.");
}
