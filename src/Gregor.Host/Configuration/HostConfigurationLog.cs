using Microsoft.Extensions.Logging;

namespace Gregor.Host.Configuration;

internal static partial class HostConfigurationLog
{
    // Kafka warns "The configuration 'x' was supplied but isn't a known config."; Gregor knows
    // fewer keys than Kafka, so a real Kafka file would warn a lot: debug level.
    [LoggerMessage(EventId = 100, Level = LogLevel.Debug, Message = "The configuration '{Name}' (from {Origin}) was supplied but isn't a known config; it is kept and ignored")]
    public static partial void UnknownProperty(ILogger logger, string name, PropertyOrigin origin);
}
