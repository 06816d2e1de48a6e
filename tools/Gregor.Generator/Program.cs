using Gregor.Generator;

// Regenerates src/Gregor.Protocol/Generated/*.g.cs from src/Gregor.Protocol/Messages/*.def.
// Usage: dotnet run --project tools/Gregor.Generator [-- <repository root>]
var root = args.Length > 0 ? args[0] : RepositoryRoot.Find(Environment.CurrentDirectory) ?? RepositoryRoot.Find(AppContext.BaseDirectory);
if (root is null)
{
    Console.Error.WriteLine("Cannot find the repository root (the folder holding Gregor.slnx); pass it as the first argument.");
    return 1;
}

var definitions = Path.Combine(root, "src", "Gregor.Protocol", "Messages");
var output = Path.Combine(root, "src", "Gregor.Protocol", "Generated");
try
{
    var messages = DefinitionParser.ParseDirectory(definitions);
    var files = new Dictionary<string, string>(StringComparer.Ordinal);
    foreach (var message in messages)
    {
        files[message.Name + ".g.cs"] = new MessageGenerator(message).Generate();
    }

    var apis = ApiTableGenerator.Pair(messages);
    files["ApiKey.g.cs"] = ApiTableGenerator.GenerateApiKey(apis);
    files["ApiMessages.g.cs"] = ApiTableGenerator.GenerateTable(apis);

    Directory.CreateDirectory(output);
    foreach (var stale in Directory.GetFiles(output, "*.g.cs"))
    {
        if (!files.ContainsKey(Path.GetFileName(stale)))
        {
            File.Delete(stale);
        }
    }

    var changed = 0;
    foreach (var (name, text) in files)
    {
        var path = Path.Combine(output, name);
        if (!File.Exists(path) || File.ReadAllText(path) != text)
        {
            File.WriteAllText(path, text);
            changed++;
        }
    }

    Console.WriteLine($"{messages.Count} definitions, {apis.Count} API keys; {changed} of {files.Count} files changed in {output}.");
    return 0;
}
catch (FormatException e)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}
