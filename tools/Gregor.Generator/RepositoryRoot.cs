namespace Gregor.Generator;

public static class RepositoryRoot
{
    /// <summary>Walks up from <paramref name="start"/> to the folder holding Gregor.slnx.</summary>
    public static string? Find(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Gregor.slnx")))
            {
                return dir.FullName;
            }
        }

        return null;
    }
}
