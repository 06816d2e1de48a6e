using System.Diagnostics;
using System.Text.Json;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Broker.Tests.Groups;

/// <summary>
/// Consumer groups of clients other than librdkafka — kafka-python 2.0.2 (old API versions) and
/// kafkajs 2.2.4 — consume what Confluent.Kafka produced, commit, restart and resume.
/// </summary>
public class OtherClientGroupTests
{
    private const string Python = "/usr/bin/python3";

    [Fact]
    public async Task KafkaPythonGroupCommitsRestartsAndResumes()
    {
        Assert.True(File.Exists(Python) && Run(Python, "-c \"import kafka\"", TimeSpan.FromSeconds(30)).ExitCode == 0,
            "kafka-python is missing: apt-get install python3-kafka (.ci/run installs it).");
        await using var broker = await InProcessBroker.StartAsync(GroupClients.BrokerOverrides());
        await Clients.CreateTopicAsync(broker.BootstrapServers, "py-orders", 3);
        await GroupClients.ProduceAsync(broker.BootstrapServers, "py-orders", 3, 10);

        var script = Path.Combine(ClientsDirectory(), "kafka_python_group.py");
        var first = Records(Run(Python, $"{script} {broker.BootstrapServers} py-orders py-group 18", TimeSpan.FromSeconds(60)));
        Assert.Equal(18, first.Count);

        // The second run resumes after what the first committed: together they read everything once.
        var second = Records(Run(Python, $"{script} {broker.BootstrapServers} py-orders py-group 100", TimeSpan.FromSeconds(60)));
        Assert.Equal(12, second.Count);
        var all = first.Concat(second).ToList();
        Assert.Equal(30, all.Select(r => (r.Partition, r.Offset)).Distinct().Count());
        Assert.Equal(30, all.Select(r => r.Value).Distinct().Count());

        // And the group's committed offsets are at the end of every partition.
        using var admin = Clients.Admin(broker.BootstrapServers);
        var committed = await admin.ListConsumerGroupOffsetsAsync([new Confluent.Kafka.ConsumerGroupTopicPartitions("py-group", null)]);
        Assert.All(committed[0].Partitions, p => Assert.Equal(10, p.Offset.Value));
    }

    [Fact]
    public async Task KafkajsGroupCommitsRestartsAndResumes()
    {
        var clients = ClientsDirectory();
        if (!Directory.Exists(Path.Combine(clients, "node_modules", "kafkajs")))
        {
            // The pinned kafkajs comes from package-lock.json; .ci/run may install it beforehand.
            var install = Run("npm", $"ci --no-audit --no-fund --prefix {clients}", TimeSpan.FromMinutes(3));
            Assert.True(install.ExitCode == 0, $"npm ci in {clients} failed: {install.Error}");
        }

        await using var broker = await InProcessBroker.StartAsync(GroupClients.BrokerOverrides());
        await Clients.CreateTopicAsync(broker.BootstrapServers, "js-orders", 3);
        await GroupClients.ProduceAsync(broker.BootstrapServers, "js-orders", 3, 10);

        var script = Path.Combine(clients, "kafkajs_group.js");
        var first = Records(Run("node", $"{script} {broker.BootstrapServers} js-orders js-group 18", TimeSpan.FromSeconds(60)));
        Assert.Equal(18, first.Count);
        var second = Records(Run("node", $"{script} {broker.BootstrapServers} js-orders js-group 100", TimeSpan.FromSeconds(60)));
        Assert.Equal(12, second.Count);
        var all = first.Concat(second).ToList();
        Assert.Equal(30, all.Select(r => (r.Partition, r.Offset)).Distinct().Count());
        Assert.Equal(30, all.Select(r => r.Value).Distinct().Count());

        using var admin = Clients.Admin(broker.BootstrapServers);
        var committed = await admin.ListConsumerGroupOffsetsAsync([new Confluent.Kafka.ConsumerGroupTopicPartitions("js-group", null)]);
        Assert.All(committed[0].Partitions, p => Assert.Equal(10, p.Offset.Value));
    }

    /// <summary>The client scripts live beside this file in the source tree.</summary>
    internal static string ClientsDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Gregor.slnx")))
            {
                return Path.Combine(dir.FullName, "tests", "Gregor.Broker.Tests", "Groups", "Clients");
            }
        }

        throw new DirectoryNotFoundException("No Gregor.slnx above " + AppContext.BaseDirectory);
    }

    private static List<(int Partition, long Offset, string Value)> Records((int ExitCode, string Output, string Error) run)
    {
        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.Error}");
        return [.. run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line =>
        {
            var element = JsonDocument.Parse(line).RootElement;
            return (element[0].GetInt32(), element[1].GetInt64(), element[2].GetString()!);
        })];
    }

    private static (int ExitCode, string Output, string Error) Run(string file, string arguments, TimeSpan timeout)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {arguments} did not finish in {timeout}.");
        }

        return (process.ExitCode, output.Result, error.Result);
    }
}
