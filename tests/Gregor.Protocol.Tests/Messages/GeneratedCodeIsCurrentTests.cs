using Gregor.Generator;
using Xunit;

namespace Gregor.Protocol.Tests.Messages;

/// <summary>
/// The committed <c>Generated/*.g.cs</c> files are exactly what the generator makes of the
/// committed definitions: nobody edited generated code by hand or forgot to regenerate.
/// </summary>
public sealed class GeneratedCodeIsCurrentTests
{
    [Fact]
    public void GeneratedFilesMatchTheDefinitions()
    {
        var generated = Path.Combine(Definitions.Root, "src", "Gregor.Protocol", "Generated");
        var expected = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var message in Definitions.All)
        {
            expected[message.Name + ".g.cs"] = new MessageGenerator(message).Generate();
        }

        var apis = ApiTableGenerator.Pair(Definitions.All);
        expected["ApiKey.g.cs"] = ApiTableGenerator.GenerateApiKey(apis);
        expected["ApiMessages.g.cs"] = ApiTableGenerator.GenerateTable(apis);

        var stale = new List<string>();
        foreach (var (name, text) in expected)
        {
            var path = Path.Combine(generated, name);
            if (!File.Exists(path) || File.ReadAllText(path) != text)
            {
                stale.Add(name);
            }
        }

        foreach (var path in Directory.GetFiles(generated, "*.g.cs"))
        {
            if (!expected.ContainsKey(Path.GetFileName(path)))
            {
                stale.Add(Path.GetFileName(path) + " (no definition)");
            }
        }

        Assert.True(stale.Count == 0, "Run `dotnet run --project tools/Gregor.Generator`; out of date: " + string.Join(", ", stale));
    }
}
