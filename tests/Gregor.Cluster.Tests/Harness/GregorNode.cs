using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Gregor.Cluster.Tests.Harness;

/// <summary>
/// One Gregor node as a separate operating-system process (<c>dotnet gregor.dll node.properties</c>),
/// with a fixed node id, ports and data directory that survive restarts. Its output goes to
/// <c>node-N.log</c> beside the data directory and to an in-memory tail shown when a test fails.
/// </summary>
public sealed partial class GregorNode
{
    private const int TailLines = 60;
    private const int MaxTailLineLength = 400;
    private readonly ConcurrentQueue<string> _tail = new();
    private readonly Lock _logLock = new();
    private readonly string _logPath;
    private Process? _process;
    private int _incarnation;

    internal GregorNode(int nodeId, int clientPort, int controllerPort, string workDirectory)
    {
        NodeId = nodeId;
        ClientPort = clientPort;
        ControllerPort = controllerPort;
        DataDirectory = Path.Combine(workDirectory, $"node-{nodeId}");
        PropertiesPath = Path.Combine(workDirectory, $"node-{nodeId}.properties");
        _logPath = Path.Combine(workDirectory, $"node-{nodeId}.log");
    }

    public int NodeId { get; }

    public int ClientPort { get; }

    public int ControllerPort { get; }

    public string DataDirectory { get; }

    public string PropertiesPath { get; }

    /// <summary><c>127.0.0.1:port</c> of this node's client listener.</summary>
    public string BootstrapServers => $"127.0.0.1:{ClientPort}";

    public bool IsRunning => _process is { HasExited: false };

    public int? ProcessId => IsRunning ? _process!.Id : null;

    /// <summary>Starts the process (again, after a kill or a stop: same id, ports and data).</summary>
    public void Start()
    {
        if (IsRunning)
        {
            throw new InvalidOperationException($"node {NodeId} already runs");
        }

        _process?.Dispose();
        _incarnation++;
        var incarnation = _incarnation;
        var startInfo = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add(HostAssembly.Value);
        startInfo.ArgumentList.Add(PropertiesPath);
        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => Append(incarnation, e.Data);
        process.ErrorDataReceived += (_, e) => Append(incarnation, e.Data);
        Append(incarnation, $"---- harness: starting node {NodeId} (start #{incarnation})");
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        ProcessRegistry.Add(process);
    }

    /// <summary>kill -9: no flush, no checkpoints, no controlled shutdown.</summary>
    public void Kill()
    {
        var process = _process;
        if (process is null || process.HasExited)
        {
            return;
        }

        Append(_incarnation, $"---- harness: kill -9 node {NodeId}");
        process.Kill(entireProcessTree: true);
        process.WaitForExit(10_000);
    }

    /// <summary>SIGTERM (the clean stop), then SIGKILL after <paramref name="timeout"/>. Returns the exit code.</summary>
    public async Task<int?> StopAsync(TimeSpan timeout)
    {
        var process = _process;
        if (process is null || process.HasExited)
        {
            return process?.ExitCode;
        }

        Append(_incarnation, $"---- harness: SIGTERM node {NodeId}");
        _ = SendSignal(process.Id, Sigterm);
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            return process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            Kill();
            return null;
        }
    }

    /// <summary>SIGSTOP: the process is frozen (no heartbeats, no fetches) but keeps its sockets.</summary>
    public void Pause()
    {
        Append(_incarnation, $"---- harness: SIGSTOP node {NodeId}");
        _ = SendSignal(_process!.Id, Sigstop);
    }

    /// <summary>SIGCONT after <see cref="Pause"/>.</summary>
    public void Resume()
    {
        Append(_incarnation, $"---- harness: SIGCONT node {NodeId}");
        _ = SendSignal(_process!.Id, Sigcont);
    }

    /// <summary>True once the client listener accepts TCP connections.</summary>
    public async Task<bool> AcceptsConnectionsAsync()
    {
        using var client = new TcpClient();
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await client.ConnectAsync("127.0.0.1", ClientPort, cts.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>The last lines this node printed (all incarnations), for failure messages.</summary>
    public string Tail() => string.Join('\n', _tail);

    /// <summary>The whole log of every incarnation.</summary>
    public string FullLog()
    {
        lock (_logLock)
        {
            return File.Exists(_logPath) ? File.ReadAllText(_logPath) : "";
        }
    }

    private void Append(int incarnation, string? line)
    {
        if (line is null)
        {
            return;
        }

        var tagged = $"[node {NodeId}#{incarnation}] {line}";
        // Stack traces come on one line with the console logger's single-line format.
        _tail.Enqueue(tagged.Length > MaxTailLineLength ? string.Concat(tagged.AsSpan(0, MaxTailLineLength), " …") : tagged);
        while (_tail.Count > TailLines && _tail.TryDequeue(out _))
        {
        }

        lock (_logLock)
        {
            try
            {
                File.AppendAllText(_logPath, tagged + "\n");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Output that arrives after the cluster deleted its directory is dropped.
            }
        }
    }

    private static string DotnetHost()
    {
        // The dotnet CLI tells child processes which host runs them; the test host itself usually
        // runs under dotnet too.
        var fromCli = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(fromCli) && File.Exists(fromCli))
        {
            return fromCli;
        }

        var self = Environment.ProcessPath;
        return self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
    }

    private static readonly Lazy<string> HostAssembly = new(FindHostAssembly);

    private static string FindHostAssembly()
    {
        var explicitPath = Environment.GetEnvironmentVariable("GREGOR_HOST_DLL");
        if (!string.IsNullOrEmpty(explicitPath))
        {
            return explicitPath;
        }

        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Gregor.slnx")))
        {
            directory = directory.Parent;
        }

        if (directory is null)
        {
            throw new InvalidOperationException("Gregor.slnx not found above the test assembly; set GREGOR_HOST_DLL.");
        }

        // Same configuration as the tests (…/bin/Release/net10.0/ → Release).
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent?.Name ?? "Release";
        foreach (var name in new[] { "gregor.dll", "Gregor.Host.dll" })
        {
            var candidate = Path.Combine(directory.FullName, "src", "Gregor.Host", "bin", configuration, "net10.0", name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException($"No {configuration} build of src/Gregor.Host under {directory.FullName}.");
    }

    private const int Sigkill = 9;
    private const int Sigterm = 15;
    private const int Sigcont = 18;
    private const int Sigstop = 19;

    private static int SendSignal(int pid, int signal) => NativeKill(pid, signal);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int NativeKill(int pid, int sig);

    /// <summary>Every process any test started, killed when the test host exits however it exits.</summary>
    private static class ProcessRegistry
    {
        private static readonly ConcurrentDictionary<int, Process> Processes = new();

        static ProcessRegistry()
        {
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                foreach (var process in Processes.Values)
                {
                    try
                    {
                        if (!process.HasExited)
                        {
                            _ = NativeKill(process.Id, Sigkill);
                        }
                    }
                    catch (InvalidOperationException)
                    {
                    }
                }
            };
        }

        public static void Add(Process process)
        {
            var id = process.Id;
            Processes[id] = process;
            process.Exited += (_, _) => Processes.TryRemove(id, out _);
        }
    }
}
