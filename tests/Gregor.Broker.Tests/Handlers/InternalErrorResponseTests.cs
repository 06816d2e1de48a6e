using Gregor.Host;
using Gregor.Protocol;
using Gregor.Protocol.Messages;
using Gregor.TestKit;
using Xunit;

namespace Gregor.Broker.Tests.Handlers;

/// <summary>
/// A request that fails inside the broker gets an error code the client retries on, never a
/// closed connection: here the transaction log cannot be created (a replication factor of 2 on a
/// lone broker), so InitProducerId answers COORDINATOR_NOT_AVAILABLE, as Kafka's coordinator does
/// while its log is not there, and the same connection carries on.
/// </summary>
public sealed class InternalErrorResponseTests
{
    [Fact]
    public async Task InitProducerIdAnswersCoordinatorNotAvailableWhenTheTransactionLogCannotBeWritten()
    {
        using var directory = new TempDirectory("gregor-internal-error");
        await using var server = new BrokerServer(new Dictionary<string, string>
        {
            ["listeners"] = "PLAINTEXT://127.0.0.1:0",
            ["log.dirs"] = directory.Path,
            ["transaction.state.log.replication.factor"] = "2",
        });
        await server.StartAsync();
        await using var client = await WireClient.ConnectAsync(server.BoundEndpoints[0]);
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var init = await client.SendAsync<InitProducerIdResponse>(new InitProducerIdRequest { TransactionalId = "no-log-t", TransactionTimeoutMs = 60_000 }, 4);
            Assert.Equal((short)ErrorCode.CoordinatorNotAvailable, init.ErrorCode);
        }

        // The connection is still good, and an idempotent producer (no transaction log) is served.
        var idempotent = await client.SendAsync<InitProducerIdResponse>(new InitProducerIdRequest { TransactionalId = null, TransactionTimeoutMs = 60_000 }, 4);
        Assert.Equal((short)ErrorCode.None, idempotent.ErrorCode);
        Assert.True(idempotent.ProducerId >= 0);
    }
}
