using System.Runtime.InteropServices;

namespace Atalaya.Hosting;

/// <summary>
/// The C heap under SQLite. SQLite reads each stored block (tens to hundreds of KiB, compressed)
/// into memory it allocates with malloc. glibc serves allocations above its mmap threshold with
/// their own mappings, returned on free, but it raises that threshold every time such a chunk is
/// freed, up to 32 MiB: after the first few blocks every later one comes from the heap arenas,
/// which keep the freed memory. At 1M events that left about 70–110 MB resident that nothing used
/// (docs/benchmarks.md, "Memory at steady state"). A fixed threshold keeps large buffers in their
/// own mappings, and <see cref="Trim"/> (called by <see cref="IdleMemoryTrim"/>) returns what the
/// arenas hold free. Only on Linux with glibc; elsewhere both do nothing.
/// </summary>
internal static partial class NativeHeap
{
    private const int MallocTrimThreshold = -1;
    private const int MallocMmapThreshold = -3;

    /// <summary>Allocations of at least this many bytes get a mapping of their own, given back when freed.</summary>
    internal const int MmapThreshold = 128 * 1024;

    private static bool _available = OperatingSystem.IsLinux();

    /// <summary>Fixes the mmap and trim thresholds (once, at start-up: mallopt is process-wide).</summary>
    public static void Configure() => Call(() =>
    {
        mallopt(MallocMmapThreshold, MmapThreshold);
        mallopt(MallocTrimThreshold, MmapThreshold);
    });

    /// <summary>Returns the free memory of every malloc arena to the operating system.</summary>
    public static void Trim() => Call(() => malloc_trim(0));

    private static void Call(Action call)
    {
        if (!_available)
        {
            return;
        }
        try
        {
            call();
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc (musl, another libc): its allocator has its own policy.
            _available = false;
        }
    }

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int mallopt(int param, int value);

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int malloc_trim(nuint pad);
}
