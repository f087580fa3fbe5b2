using System.Runtime.InteropServices;

namespace Atalaya.Engine.Storage;

/// <summary>
/// Lowers the calling thread's scheduling priority (Linux nice +<see cref="Nice"/>) for work that
/// can wait while a dashboard's read cannot: normalizing and compressing collected events, and the
/// recommendation model following the log. While they compete with reads for the cores, a read is
/// given the CPU as soon as it wants it; with nothing else to run, they still take every core
/// (docs/collector.md). Where the priority cannot be lowered (not Linux), nothing changes.
/// </summary>
internal static class BackgroundPriority
{
    /// <summary>The nice value: weight 110 against a normal thread's 1024 under Linux's scheduler.</summary>
    public const int Nice = 10;

    /// <summary>Sets the calling thread's nice value (Linux keeps one per thread; raising it needs no privilege); false where it cannot.</summary>
    public static bool TryLowerCurrentThread()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }
        try
        {
            return SetPriority(ProcessPriority, (uint)GetThreadId(), Nice) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    // PRIO_PROCESS with a thread id: that thread alone (sched(7), "The nice value").
    private const int ProcessPriority = 0;

    // DllImport rather than LibraryImport: the generated marshalling needs unsafe code, and two
    // calls of plain integers need no marshalling at all.
    [DllImport("libc", EntryPoint = "setpriority", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int SetPriority(int which, uint who, int priority);

    [DllImport("libc", EntryPoint = "gettid")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int GetThreadId();
}
