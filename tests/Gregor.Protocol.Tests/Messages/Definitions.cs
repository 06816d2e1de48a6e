using Gregor.Generator;

namespace Gregor.Protocol.Tests.Messages;

/// <summary>The project's own message definitions, parsed once from the source tree.</summary>
internal static class Definitions
{
    private static readonly Lazy<string> LazyRoot = new(() =>
        RepositoryRoot.Find(AppContext.BaseDirectory) ?? throw new InvalidOperationException("Gregor.slnx not found above the test assembly."));

    private static readonly Lazy<List<MessageDefinition>> LazyAll = new(() =>
        DefinitionParser.ParseDirectory(Path.Combine(Root, "src", "Gregor.Protocol", "Messages")));

    public static string Root => LazyRoot.Value;

    public static List<MessageDefinition> All => LazyAll.Value;

    public static MessageDefinition Get(string name) =>
        All.Find(m => m.Name == name) ?? throw new KeyNotFoundException(name);

    /// <summary>The generated class of a definition.</summary>
    public static Type ClassOf(MessageDefinition message) =>
        typeof(ApiMessages).Assembly.GetType("Gregor.Protocol.Messages." + message.Name, throwOnError: true)!;
}
