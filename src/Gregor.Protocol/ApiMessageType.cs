namespace Gregor.Protocol;

/// <summary>
/// What the protocol says about one API key: its name, the versions its definitions cover, where
/// flexible versions (KIP-482) begin, the header versions each version uses, and factories for its
/// request and response bodies. The table is generated: see <see cref="ApiMessages"/>.
/// </summary>
public sealed class ApiMessageType
{
    private readonly Func<IRequestMessage> _createRequest;
    private readonly Func<IResponseMessage> _createResponse;

    public ApiMessageType(
        ApiKey apiKey,
        string name,
        short lowestSupportedVersion,
        short highestSupportedVersion,
        short flexibleFromVersion,
        bool latestVersionUnstable,
        Func<IRequestMessage> createRequest,
        Func<IResponseMessage> createResponse)
    {
        ApiKey = apiKey;
        Name = name;
        LowestSupportedVersion = lowestSupportedVersion;
        HighestSupportedVersion = highestSupportedVersion;
        FlexibleFromVersion = flexibleFromVersion;
        LatestVersionUnstable = latestVersionUnstable;
        _createRequest = createRequest;
        _createResponse = createResponse;
    }

    public ApiKey ApiKey { get; }

    /// <summary>The API's name without the Request/Response suffix, e.g. "Produce".</summary>
    public string Name { get; }

    public short LowestSupportedVersion { get; }

    public short HighestSupportedVersion { get; }

    /// <summary>The first flexible version, or -1 if no version is flexible.</summary>
    public short FlexibleFromVersion { get; }

    /// <summary>The highest version is still under development in Kafka 4.0 and not advertised by default.</summary>
    public bool LatestVersionUnstable { get; }

    public bool IsSupported(short version) => version >= LowestSupportedVersion && version <= HighestSupportedVersion;

    public bool IsFlexible(short version) => FlexibleFromVersion >= 0 && version >= FlexibleFromVersion;

    public IRequestMessage CreateRequest() => _createRequest();

    public IResponseMessage CreateResponse() => _createResponse();

    /// <summary>
    /// Request header v2 for flexible versions, else v1; ControlledShutdown v0 predates the
    /// client id and uses header v0.
    /// </summary>
    public short RequestHeaderVersion(short version)
    {
        if (IsFlexible(version))
        {
            return 2;
        }

        return ApiKey == ApiKey.ControlledShutdown && version == 0 ? (short)0 : (short)1;
    }

    /// <summary>
    /// Response header v1 for flexible versions, else v0. ApiVersions always answers with header v0:
    /// a client that does not yet know the broker's versions must be able to parse the reply (KIP-511).
    /// </summary>
    public short ResponseHeaderVersion(short version)
    {
        if (ApiKey == ApiKey.ApiVersions)
        {
            return 0;
        }

        return IsFlexible(version) ? (short)1 : (short)0;
    }

    public override string ToString() => $"{Name}({(short)ApiKey}) v{LowestSupportedVersion}-{HighestSupportedVersion}";
}
