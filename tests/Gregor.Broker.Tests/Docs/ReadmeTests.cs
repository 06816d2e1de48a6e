using System.Reflection;
using System.Text;
using Gregor.Broker.Config;
using Gregor.Broker.Handlers;
using Gregor.Storage;
using Xunit;

namespace Gregor.Broker.Tests.Docs;

/// <summary>
/// The README's API table is generated from the handlers' own [ApiHandler] declarations (the same
/// source ApiVersions uses), and its configuration table must name real keys with their real
/// defaults. Run with GREGOR_UPDATE_README=1 to rewrite the API table after adding a handler.
/// </summary>
public class ReadmeTests
{
    private const string ApiBegin = "<!-- BEGIN API TABLE -->";
    private const string ApiEnd = "<!-- END API TABLE -->";
    private const string ConfigBegin = "<!-- BEGIN CONFIG TABLE -->";
    private const string ConfigEnd = "<!-- END CONFIG TABLE -->";

    [Fact]
    public void ApiTableIsGeneratedFromTheHandlers()
    {
        var path = Path.Combine(RepositoryRoot(), "README.md");
        var readme = File.ReadAllText(path);
        var expected = ApiTable();
        var (start, end) = Section(readme, ApiBegin, ApiEnd);
        var current = readme[start..end];

        if (Environment.GetEnvironmentVariable("GREGOR_UPDATE_README") == "1" && current != expected)
        {
            File.WriteAllText(path, readme[..start] + expected + readme[end..]);
            return;
        }

        Assert.True(current == expected, "README's API table is out of date; run the tests with GREGOR_UPDATE_README=1.\nExpected:\n" + expected);
    }

    [Fact]
    public void ConfigTableNamesRealKeysWithTheirDefaults()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md"));
        var (start, end) = Section(readme, ConfigBegin, ConfigEnd);
        var rows = readme[start..end].Split('\n')
            .Where(l => l.StartsWith("| `", StringComparison.Ordinal))
            .Select(l => l.Split('|', StringSplitOptions.TrimEntries))
            .ToList();
        Assert.True(rows.Count > 20, "the config table lists the keys Gregor honours");

        var topicDefinitions = LogConfig.Definitions.ToDictionary(d => d.Name, StringComparer.Ordinal);
        foreach (var cells in rows)
        {
            var name = cells[1].Trim('`');
            var documentedDefault = cells[2].Trim('`');
            string? actualDefault;
            if (BrokerConfigDefinitions.ByName.TryGetValue(name, out var broker))
            {
                actualDefault = broker.DefaultValue;
            }
            else if (topicDefinitions.TryGetValue(name, out var topic))
            {
                actualDefault = topic.Default;
            }
            else
            {
                Assert.Fail($"README documents '{name}', which is neither a broker nor a topic config.");
                return;
            }

            Assert.True(documentedDefault == (actualDefault ?? "(none)"), $"README says {name} defaults to '{documentedDefault}', the code says '{actualDefault}'.");
        }
    }

    private static string ApiTable()
    {
        var declarations = typeof(HandlerRegistry).Assembly.GetTypes()
            .Select(t => t.GetCustomAttribute<ApiHandlerAttribute>())
            .OfType<ApiHandlerAttribute>()
            .OrderBy(a => (short)a.ApiKey)
            .ToList();
        Assert.NotEmpty(declarations);

        var sb = new StringBuilder();
        sb.Append('\n');
        sb.Append("| Key | API | Versions |\n");
        sb.Append("|---:|---|---|\n");
        foreach (var a in declarations)
        {
            sb.Append($"| {(short)a.ApiKey} | {a.ApiKey} | {a.MinVersion}–{a.MaxVersion} |\n");
        }

        sb.Append('\n');
        return sb.ToString();
    }

    private static (int Start, int End) Section(string text, string begin, string end)
    {
        var s = text.IndexOf(begin, StringComparison.Ordinal);
        var e = text.IndexOf(end, StringComparison.Ordinal);
        Assert.True(s >= 0 && e > s, $"README must contain {begin} ... {end}");
        return (s + begin.Length, e);
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Gregor.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Gregor.slnx not found above the test assembly.");
    }
}
