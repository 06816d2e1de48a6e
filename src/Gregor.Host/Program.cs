// gregor [server.properties] [--override key=value]... — a single-node broker, like
// kafka-server-start.sh. Data goes to ./data unless log.dirs says otherwise. Ctrl+C or SIGTERM
// shut down cleanly (exit 0); a configuration error prints its message and exits 1.
using System.Runtime.InteropServices;
using Gregor.Broker.Config;
using Gregor.Host;
using Gregor.Host.Configuration;
using Microsoft.Extensions.Logging;

using var loggerFactory = LoggerFactory.Create(logging => logging
    .AddSimpleConsole(options =>
    {
        options.SingleLine = true;
        options.TimestampFormat = "yyyy-MM-dd HH:mm:ss.fff ";
        options.UseUtcTimestamp = true;
    })
    .SetMinimumLevel(LogLevel.Information));
var logger = loggerFactory.CreateLogger("Gregor");

ServerProperties properties;
try
{
    properties = ServerPropertiesLoader.LoadFromProcess(args, logger);
}
catch (ConfigException e)
{
    await Console.Error.WriteLineAsync($"gregor: {e.Message}").ConfigureAwait(false);
    return 1;
}

using var shutdown = new CancellationTokenSource();
void RequestShutdown(PosixSignalContext context)
{
    // Handle the signal ourselves so the runtime does not tear the process down mid-flush.
    context.Cancel = true;
    shutdown.Cancel();
}

using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, RequestShutdown);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, RequestShutdown);

await using var server = new BrokerServer(properties.Values, loggerFactory);
try
{
    await server.StartAsync(shutdown.Token).ConfigureAwait(false);
}
catch (ConfigException e)
{
    await Console.Error.WriteLineAsync($"gregor: {e.Message}").ConfigureAwait(false);
    return 1;
}
catch (OperationCanceledException) when (shutdown.IsCancellationRequested)
{
    return 0;
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or System.Net.Sockets.SocketException)
{
    // A data dir that cannot be used or a port that cannot be bound: nothing to retry, say why.
    await Console.Error.WriteLineAsync($"gregor: failed to start: {e.Message}").ConfigureAwait(false);
    return 1;
}

try
{
    await Task.Delay(Timeout.Infinite, shutdown.Token).ConfigureAwait(false);
}
catch (OperationCanceledException)
{
}

await server.StopAsync().ConfigureAwait(false);
return 0;
