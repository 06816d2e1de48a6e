using System.Text;

namespace Gregor.Storage.Checkpoints;

/// <summary>Replaces a small file so a crash leaves either the old or the new content, never a mix:
/// write <c>name.tmp</c>, fsync it, rename over the target, fsync the directory (as Kafka's
/// CheckpointFile does).</summary>
internal static class AtomicFile
{
    public static void Write(string path, string content)
    {
        var tmp = path + ".tmp";
        var bytes = Encoding.UTF8.GetBytes(content);
        using (var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.None))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }

        File.Move(tmp, path, overwrite: true);
        FsyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>A rename is durable only once its directory is synced; best effort where the OS refuses.</summary>
    public static void FsyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return;
        }

        try
        {
            using var handle = File.OpenHandle(directory, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            Fsync(handle);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static void Fsync(Microsoft.Win32.SafeHandles.SafeFileHandle handle) => NativeMethods.Fsync(handle);
}

internal static partial class NativeMethods
{
    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FsyncNative(Microsoft.Win32.SafeHandles.SafeFileHandle fd);

    public static void Fsync(Microsoft.Win32.SafeHandles.SafeFileHandle handle)
    {
        try
        {
            _ = FsyncNative(handle);
        }
        catch (DllNotFoundException)
        {
        }
        catch (EntryPointNotFoundException)
        {
        }
    }
}
