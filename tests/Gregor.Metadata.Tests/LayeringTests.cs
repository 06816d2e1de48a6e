using System.Xml.Linq;
using Gregor.Metadata.Controller;
using Xunit;

namespace Gregor.Metadata.Tests;

public sealed class LayeringTests
{
    /// <summary>The metadata layer sits below the broker: Protocol and Storage only, never the layers above.</summary>
    [Fact]
    public void MetadataReferencesOnlyProtocolAndStorage()
    {
        var references = typeof(QuorumController).Assembly.GetReferencedAssemblies()
            .Select(a => a.Name!)
            .Where(n => n.StartsWith("Gregor.", StringComparison.Ordinal))
            .ToList();
        Assert.All(references, r => Assert.Contains(r, new[] { "Gregor.Protocol", "Gregor.Storage" }));

        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Gregor.slnx")))
        {
            dir = dir.Parent;
        }

        Assert.NotNull(dir);
        var project = XDocument.Load(Path.Combine(dir.FullName, "src", "Gregor.Metadata", "Gregor.Metadata.csproj"));
        var projectReferences = project.Descendants("ProjectReference")
            .Select(e => Path.GetFileNameWithoutExtension(e.Attribute("Include")!.Value))
            .Order()
            .ToList();
        Assert.Equal(["Gregor.Protocol", "Gregor.Storage"], projectReferences);
    }
}
