using System.Xml.Linq;

namespace Gregor.Coordinator.Tests;

public sealed class LayeringTests
{
    /// <summary>The coordinator sits below the broker: it may use Protocol and Storage, never the layers above.</summary>
    [Fact]
    public void Coordinator_references_only_protocol_and_storage()
    {
        var references = typeof(GroupCoordinator).Assembly.GetReferencedAssemblies().Select(a => a.Name!).Where(n => n.StartsWith("Gregor.", StringComparison.Ordinal)).Order().ToList();
        Assert.All(references, r => Assert.Contains(r, new[] { "Gregor.Protocol", "Gregor.Storage" }));

        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Gregor.slnx")))
        {
            dir = dir.Parent;
        }

        Assert.NotNull(dir);
        var project = XDocument.Load(Path.Combine(dir.FullName, "src", "Gregor.Coordinator", "Gregor.Coordinator.csproj"));
        var projectReferences = project.Descendants("ProjectReference").Select(e => Path.GetFileNameWithoutExtension(e.Attribute("Include")!.Value)).Order().ToList();
        Assert.Equal(["Gregor.Protocol", "Gregor.Storage"], projectReferences);
    }
}
