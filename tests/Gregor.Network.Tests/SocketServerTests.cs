using Gregor.TestKit;
using System.Buffers.Binary;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Gregor.Network.Tests;

public sealed class SocketServerTests
{
    private static async Task<(SocketServer Server, TestDispatcher Dispatcher, TestLoggerFactory Logs, int Port)> StartAsync(
        Func<NetworkOptions, NetworkOptions>? configure = null,
        string listenerName = "PLAINTEXT")
    {
        var options = new NetworkOptions { Listeners = [new ListenerEndpoint(listenerName, "127.0.0.1", 0)] };
        options = configure?.Invoke(options) ?? options;
        var dispatcher = new TestDispatcher();
        var logs = new TestLoggerFactory();
        var server = new SocketServer(options, dispatcher, logs, TimeProvider.System);
        await server.StartAsync();
        return (server, dispatcher, logs, server.GetBoundPort(options.Listeners[0].Name));
    }

    [Fact]
    public async Task Echoes_a_request_with_its_correlation_id_and_bytes()
    {
        var (server, _, _, port) = await StartAsync();
        await using var _s = server;
        using var client = await TestClient.ConnectAsync(port);

        var frame = TestDispatcher.Frame(TestDispatcher.EchoKey, 4242, payloadBytes: 100);
        await client.SendAsync(frame);
        var (correlationId, body) = await client.ReadResponseAsync();

        Assert.Equal(4242, correlationId);
        Assert.Equal(frame[4..], body);
    }

    [Fact]
    public async Task Frame_split_across_many_writes_is_reassembled()
    {
        var (server, dispatcher, _, port) = await StartAsync();
        await using var _s = server;
        using var client = await TestClient.ConnectAsync(port);

        var frame = TestDispatcher.Frame(TestDispatcher.EchoKey, 7, payloadBytes: 200_000);
        // The size prefix itself is split, then the body in uneven pieces.
        await client.SendAsync(frame[..1]);
        await Task.Delay(20);
        await client.SendAsync(frame[1..3]);
        await Task.Delay(20);
        await client.SendAsync(frame[3..6]);
        for (var offset = 6; offset < frame.Length; offset += 7919)
        {
            await client.SendAsync(frame[offset..Math.Min(frame.Length, offset + 7919)]);
        }

        var (correlationId, body) = await client.ReadResponseAsync();
        Assert.Equal(7, correlationId);
        Assert.Equal(frame[4..], body);
        Assert.Equal(1, dispatcher.Dispatched);
    }

    [Fact]
    public async Task Many_frames_in_one_write_get_responses_in_order()
    {
        var (server, dispatcher, _, port) = await StartAsync();
        await using var _s = server;
        using var client = await TestClient.ConnectAsync(port);

        const int count = 500;
        var all = Enumerable.Range(1, count).SelectMany(i => TestDispatcher.Frame(TestDispatcher.EchoKey, i, payloadBytes: i % 37)).ToArray();
        await client.SendAsync(all);

        for (var i = 1; i <= count; i++)
        {
            var (correlationId, body) = await client.ReadResponseAsync();
            Assert.Equal(i, correlationId);
            Assert.Equal(12 + (i % 37), body.Length);
        }

        Assert.Equal(count, dispatcher.Dispatched);
    }

    [Fact]
    public async Task Pipelined_requests_are_processed_one_at_a_time_and_answered_in_order()
    {
        var (server, dispatcher, _, port) = await StartAsync();
        await using var _s = server;
        using var client = await TestClient.ConnectAsync(port);

        // Earlier requests take longer: a server that ran them concurrently would answer out of order.
        for (var i = 1; i <= 8; i++)
        {
            await client.SendAsync(TestDispatcher.Frame(TestDispatcher.EchoKey, i, delayMs: (9 - i) * 25));
        }

        for (var i = 1; i <= 8; i++)
        {
            Assert.Equal(i, (await client.ReadResponseAsync()).CorrelationId);
        }

        Assert.Equal(1, dispatcher.MaxConcurrent);
        Assert.Equal(Enumerable.Range(1, 8), dispatcher.Order);
    }

    [Fact]
    public async Task Frames_are_read_ahead_while_a_request_is_in_flight()
    {
        var (server, dispatcher, _, port) = await StartAsync();
        await using var _s = server;
        using var client = await TestClient.ConnectAsync(port);

        // A slow first request, then a burst far larger than the per-connection queue: the burst
        // must not be lost or reordered while the server applies back-pressure.
        await client.SendAsync(TestDispatcher.Frame(TestDispatcher.EchoKey, 0, delayMs: 300));
        var burst = Enumerable.Range(1, 2000).SelectMany(i => TestDispatcher.Frame(TestDispatcher.EchoKey, i, payloadBytes: 64)).ToArray();
        var send = client.SendAsync(burst);

        for (var i = 0; i <= 2000; i++)
        {
            Assert.Equal(i, (await client.ReadResponseAsync()).CorrelationId);
        }

        await send;
        Assert.Equal(1, dispatcher.MaxConcurrent);
    }

    [Fact]
    public async Task Concurrent_connections_each_keep_their_own_order()
    {
        var (server, dispatcher, _, port) = await StartAsync();
        await using var _s = server;

        var clients = await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => TestClient.ConnectAsync(port)));
        try
        {
            await Task.WhenAll(clients.Select((client, c) => Task.Run(async () =>
            {
                var burst = Enumerable.Range(0, 200).SelectMany(i => TestDispatcher.Frame(TestDispatcher.EchoKey, (c * 1000) + i, delayMs: i % 50 == 0 ? 5 : 0, payloadBytes: i % 13)).ToArray();
                await client.SendAsync(burst);
                for (var i = 0; i < 200; i++)
                {
                    var (correlationId, body) = await client.ReadResponseAsync();
                    Assert.Equal((c * 1000) + i, correlationId);
                    Assert.Equal(12 + (i % 13), body.Length);
                }
            })));
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }

        Assert.Equal(32 * 200, dispatcher.Dispatched);
    }

    [Fact]
    public async Task Null_response_writes_nothing()
    {
        var (server, dispatcher, _, port) = await StartAsync();
        await using var _s = server;
        using var client = await TestClient.ConnectAsync(port);

        await client.SendAsync(TestDispatcher.Frame(TestDispatcher.NoResponseKey, 1));
        await client.SendAsync(TestDispatcher.Frame(TestDispatcher.NoResponseKey, 2));
        await client.SendAsync(TestDispatcher.Frame(TestDispatcher.EchoKey, 3));

        // The first bytes on the wire are the response to request 3.
        var (correlationId, body) = await client.ReadResponseAsync();
        Assert.Equal(3, correlationId);
        Assert.Equal(12, body.Length);
        Assert.Equal(3, dispatcher.Dispatched);
        Assert.Equal(0, client.Socket.Available);
    }

    public static TheoryData<string, byte[]> BadFrames() => new()
    {
        { "negative size", [0xFF, 0xFF, 0xFF, 0xFE, 1, 2, 3, 4] },
        { "size below a request header", [0, 0, 0, 3, 1, 2, 3] },
        { "zero size", [0, 0, 0, 0] },
        { "size above socket.request.max.bytes", [0, 0, 0x10, 0x01, 1, 2, 3] },
        { "HTTP text", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray() },
    };

    [Theory]
    [MemberData(nameof(BadFrames))]
    public async Task Bad_frame_closes_only_that_connection(string description, byte[] garbage)
    {
        var (server, _, logs, port) = await StartAsync(o => new NetworkOptions { Listeners = o.Listeners, SocketRequestMaxBytes = 4096 });
        await using var _s = server;
        using var good = await TestClient.ConnectAsync(port);
        using var bad = await TestClient.ConnectAsync(port);

        await good.SendAsync(TestDispatcher.Frame(TestDispatcher.EchoKey, 1));
        Assert.Equal(1, (await good.ReadResponseAsync()).CorrelationId);

        await bad.SendAsync(garbage);
        Assert.True(await bad.IsClosedByServerAsync(), description);

        var size = BinaryPrimitives.ReadInt32BigEndian(garbage);
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains($"invalid request size {size}", StringComparison.Ordinal));

        await good.SendAsync(TestDispatcher.Frame(TestDispatcher.EchoKey, 2));
        Assert.Equal(2, (await good.ReadResponseAsync()).CorrelationId);
        await WaitUntilAsync(() => server.ConnectionCount == 1);
    }

    [Fact]
    public async Task Client_closing_mid_frame_does_not_disturb_others()
    {
        var (server, dispatcher, _, port) = await StartAsync();
        await using var _s = server;
        using var good = await TestClient.ConnectAsync(port);
        using (var quitter = await TestClient.ConnectAsync(port))
        {
            var frame = TestDispatcher.Frame(TestDispatcher.EchoKey, 9, payloadBytes: 1000);
            await quitter.SendAsync(frame[..500]);
            await WaitUntilAsync(() => server.ConnectionCount == 2);
        }

        await WaitUntilAsync(() => server.ConnectionCount == 1);
        await good.SendAsync(TestDispatcher.Frame(TestDispatcher.EchoKey, 10));
        Assert.Equal(10, (await good.ReadResponseAsync()).CorrelationId);
        Assert.Equal(1, dispatcher.Dispatched);
    }

    [Theory]
    [InlineData(TestDispatcher.InvalidKey)]
    [InlineData(TestDispatcher.ThrowKey)]
    public async Task Dispatcher_exception_closes_only_that_connection(short apiKey)
    {
        var (server, _, logs, port) = await StartAsync();
        await using var _s = server;
        using var good = await TestClient.ConnectAsync(port);
        using var bad = await TestClient.ConnectAsync(port);

        await bad.SendAsync(TestDispatcher.Frame(TestDispatcher.EchoKey, 1));
        Assert.Equal(1, (await bad.ReadResponseAsync()).CorrelationId);
        await bad.SendAsync(TestDispatcher.Frame(apiKey, 2).Concat(TestDispatcher.Frame(TestDispatcher.EchoKey, 3)).ToArray());
        Assert.True(await bad.IsClosedByServerAsync());
        Assert.Contains(logs.Entries, e => e.Level >= LogLevel.Warning && e.Message.Contains("Closing connection", StringComparison.Ordinal));

        await good.SendAsync(TestDispatcher.Frame(TestDispatcher.EchoKey, 4));
        Assert.Equal(4, (await good.ReadResponseAsync()).CorrelationId);
    }

    [Fact]
    public async Task StopAsync_completes_the_in_flight_request_then_closes()
    {
        var (server, dispatcher, _, port) = await StartAsync();
        using var client = await TestClient.ConnectAsync(port);

        await client.SendAsync(TestDispatcher.Frame(TestDispatcher.EchoKey, 77, delayMs: 400, payloadBytes: 10_000));
        Assert.Equal(77, await dispatcher.Started.Task.WaitAsync(TimeSpan.FromSeconds(10)));

        var stop = server.StopAsync();
        var (correlationId, body) = await client.ReadResponseAsync();
        Assert.Equal(77, correlationId);
        Assert.Equal(12 + 10_000, body.Length);
        await stop.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(await client.IsClosedByServerAsync());
        Assert.Equal(0, server.ConnectionCount);

        // Not accepting any more.
        await Assert.ThrowsAnyAsync<SocketException>(async () => await TestClient.ConnectAsync(port));
        await server.DisposeAsync();
    }

    [Fact]
    public async Task StopAsync_aborts_requests_that_outlive_the_shutdown_timeout()
    {
        var (server, dispatcher, _, port) = await StartAsync(o => new NetworkOptions { Listeners = o.Listeners, ShutdownTimeout = TimeSpan.FromMilliseconds(200) });
        using var client = await TestClient.ConnectAsync(port);

        await client.SendAsync(TestDispatcher.Frame(TestDispatcher.EchoKey, 1, delayMs: 60_000));
        await dispatcher.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await server.StopAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(await client.IsClosedByServerAsync());
        await server.DisposeAsync();
    }

    [Fact]
    public async Task Idle_connection_is_closed_after_connections_max_idle_ms()
    {
        var clock = new ManualTimeProvider();
        var options = new NetworkOptions { Listeners = [new ListenerEndpoint("PLAINTEXT", "127.0.0.1", 0)], ConnectionsMaxIdleMs = 1000 };
        var dispatcher = new TestDispatcher();
        await using var server = new SocketServer(options, dispatcher, new TestLoggerFactory(), clock);
        await server.StartAsync();
        var port = server.GetBoundPort("PLAINTEXT");
        using var idle = await TestClient.ConnectAsync(port);
        using var busy = await TestClient.ConnectAsync(port);
        await WaitUntilAsync(() => server.ConnectionCount == 2);

        for (var i = 0; i < 4; i++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(400));
            await busy.SendAsync(TestDispatcher.Frame(TestDispatcher.EchoKey, i));
            Assert.Equal(i, (await busy.ReadResponseAsync()).CorrelationId);
            if (i < 2)
            {
                // 400 and 800 ms without traffic: not idle yet.
                Assert.False(await idle.IsClosedByServerAsync(TimeSpan.FromMilliseconds(50)));
            }
        }

        // 1600 ms since the idle client's last byte, 0 ms for the busy one.
        Assert.True(await idle.IsClosedByServerAsync());
        await WaitUntilAsync(() => server.ConnectionCount == 1);
        await busy.SendAsync(TestDispatcher.Frame(TestDispatcher.EchoKey, 9));
        Assert.Equal(9, (await busy.ReadResponseAsync()).CorrelationId);
    }

    [Fact]
    public async Task Client_that_stops_reading_responses_is_closed_when_idle()
    {
        var clock = new ManualTimeProvider();
        var options = new NetworkOptions { Listeners = [new ListenerEndpoint("PLAINTEXT", "127.0.0.1", 0)], ConnectionsMaxIdleMs = 1000, SocketSendBufferBytes = 65536 };
        var dispatcher = new TestDispatcher();
        var logs = new TestLoggerFactory();
        await using var server = new SocketServer(options, dispatcher, logs, clock);
        await server.StartAsync();
        using var client = await TestClient.ConnectAsync(server.GetBoundPort("PLAINTEXT"));
        client.Socket.ReceiveBufferSize = 65536;

        // 64 responses of 1 MB cannot fit in the socket buffers: the server blocks writing them,
        // then stops reading ahead (MaxQueuedBytesPerConnection), so the client's sends block too.
        var frame = TestDispatcher.Frame(TestDispatcher.EchoKey, 1, payloadBytes: 1 << 20);
        var sending = Task.Run(async () =>
        {
            for (var i = 0; i < 64; i++)
            {
                await client.Socket.SendAsync(frame, SocketFlags.None);
            }
        });

        await WaitUntilAsync(() => dispatcher.Dispatched > 0);
        var dispatched = -1;
        while (dispatched != dispatcher.Dispatched)
        {
            dispatched = dispatcher.Dispatched;
            await Task.Delay(300);
        }

        Assert.InRange(dispatched, 1, 63);
        // Keep the clock moving in case a request was still being dispatched at the first tick.
        await WaitUntilAsync(() =>
        {
            clock.Advance(TimeSpan.FromMilliseconds(1500));
            return server.ConnectionCount == 0;
        });
        Assert.Contains(logs.Entries, e => e.Message.Contains("idle for more than 1000 ms", StringComparison.Ordinal));
        Assert.True(await client.IsClosedByServerAsync());
        await Assert.ThrowsAnyAsync<Exception>(() => sending);
    }

    [Fact]
    public async Task Binding_localhost_port_0_listens_on_every_loopback_address_with_one_ephemeral_port()
    {
        var options = new NetworkOptions { Listeners = [new ListenerEndpoint("PLAINTEXT", "localhost", 0), new ListenerEndpoint("INTERNAL", "127.0.0.1", 0)] };
        await using var server = new SocketServer(options, new TestDispatcher(), new TestLoggerFactory(), TimeProvider.System);
        await server.StartAsync();

        var endpoints = server.BoundEndpoints["PLAINTEXT"];
        Assert.Contains(endpoints, e => e.Address.Equals(IPAddress.Loopback));
        if (Socket.OSSupportsIPv6)
        {
            Assert.Contains(endpoints, e => e.Address.Equals(IPAddress.IPv6Loopback));
        }

        Assert.All(endpoints, e => Assert.True(IPAddress.IsLoopback(e.Address)));
        var port = server.GetBoundPort("PLAINTEXT");
        Assert.NotEqual(0, port);
        Assert.All(endpoints, e => Assert.Equal(port, e.Port));
        Assert.NotEqual(port, server.GetBoundPort("INTERNAL"));
        Assert.Equal(new Dictionary<string, int> { ["PLAINTEXT"] = port, ["INTERNAL"] = server.GetBoundPort("INTERNAL") }, server.BoundPorts);

        foreach (var endpoint in endpoints)
        {
            using var client = await TestClient.ConnectAsync(endpoint);
            await client.SendAsync(TestDispatcher.Frame(TestDispatcher.EchoKey, 5));
            Assert.Equal(5, (await client.ReadResponseAsync()).CorrelationId);
        }
    }

    [Fact]
    public async Task Empty_host_binds_all_interfaces()
    {
        var options = new NetworkOptions { Listeners = [new ListenerEndpoint("PLAINTEXT", "", 0)] };
        await using var server = new SocketServer(options, new TestDispatcher(), new TestLoggerFactory(), TimeProvider.System);
        await server.StartAsync();

        var endpoint = Assert.Single(server.BoundEndpoints["PLAINTEXT"]);
        Assert.True(endpoint.Address.Equals(IPAddress.IPv6Any) || endpoint.Address.Equals(IPAddress.Any));
        using var client = await TestClient.ConnectAsync(endpoint.Port);
        await client.SendAsync(TestDispatcher.Frame(TestDispatcher.EchoKey, 6));
        Assert.Equal(6, (await client.ReadResponseAsync()).CorrelationId);
    }

    [Fact]
    public async Task Start_fails_when_the_port_is_taken()
    {
        var (first, _, _, port) = await StartAsync();
        await using var _s = first;
        var options = new NetworkOptions { Listeners = [new ListenerEndpoint("PLAINTEXT", "127.0.0.1", port)] };
        await using var second = new SocketServer(options, new TestDispatcher(), new TestLoggerFactory(), TimeProvider.System);
        var ex = await Assert.ThrowsAsync<SocketException>(() => second.StartAsync());
        Assert.Equal(SocketError.AddressAlreadyInUse, ex.SocketErrorCode);
    }

    [Fact]
    public async Task Metrics_count_connections_and_bytes_with_kafka_names()
    {
        var listenerName = "METRICS" + Guid.NewGuid().ToString("N")[..8];
        var totals = new Dictionary<string, long>();
        using var meterListener = new MeterListener();
        meterListener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Gregor.Network")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        meterListener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "listener" && (string?)tag.Value == listenerName)
                {
                    lock (totals)
                    {
                        totals[instrument.Name] = totals.GetValueOrDefault(instrument.Name) + value;
                    }
                }
            }
        });
        meterListener.Start();

        var (server, _, _, port) = await StartAsync(listenerName: listenerName);
        await using (server)
        {
            using var client = await TestClient.ConnectAsync(port);
            var frame = TestDispatcher.Frame(TestDispatcher.EchoKey, 1, payloadBytes: 50);
            await client.SendAsync(frame);
            await client.ReadResponseAsync();
        }

        lock (totals)
        {
            Assert.Equal(1, totals["connection-creation-total"]);
            Assert.Equal(1, totals["connection-close-total"]);
            Assert.Equal(0, totals["connection-count"]);
            Assert.Equal(4 + 62, totals["incoming-byte-total"]);
            Assert.Equal(4 + 4 + 62, totals["outgoing-byte-total"]);
            Assert.Equal(1, totals["request-total"]);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(10);
        }
    }
}
