using System.Globalization;
using System.Runtime.InteropServices;

namespace Atalaya.Hosting;

/// <summary>
/// Transparent huge pages for the managed heap. A start at 10M events writes about a gigabyte of
/// memory the process has never touched (the KPI snapshot's columns, the dedupe index, the
/// events replayed after a crash), and with 4 KiB pages each first touch is a page fault: on
/// virtual machines whose faults are slow, a quarter of the start's CPU went to them, and a crash
/// start took 6–7 s. In 2 MiB pages there are 512 times fewer faults (docs/benchmarks.md, "Start-up
/// after a crash"; measured 1.5–2.5 s faster with huge pages system-wide).
///
/// Most Linux distributions set <c>/sys/kernel/mm/transparent_hugepage/enabled</c> to
/// <c>madvise</c>: huge pages only where the process asked for them with
/// <c>madvise(MADV_HUGEPAGE)</c>, as the JVM's <c>-XX:+UseTransparentHugePages</c> does for its heap.
/// .NET's collector has no such option, so this asks for the range the collector reserved at
/// start-up (one reservation of <c>GCRegionRange</c> bytes holds every generation's regions),
/// found in <c>/proc/self/maps</c> around a live large object. Only the
/// advice changes; what is resident is still only what is used, and the collector's decommits still
/// give memory back. <c>ATALAYA_HUGE_PAGES=off</c> turns it off (on a host short of memory, where
/// finding a free 2 MiB page can stall a fault). Elsewhere than Linux, or with huge pages set to
/// <c>never</c>, it does nothing.
/// </summary>
internal static partial class HugePages
{
    private const int MadvHugePage = 14;

    /// <summary>Advises huge pages for the managed heap's reservation; returns its size in bytes (0 when nothing was advised) and why not.</summary>
    public static (long Bytes, string? Skipped) AdviseManagedHeap()
    {
        if (!OperatingSystem.IsLinux())
        {
            return (0, "not Linux");
        }
        if (string.Equals(Environment.GetEnvironmentVariable("ATALAYA_HUGE_PAGES"), "off", StringComparison.OrdinalIgnoreCase))
        {
            return (0, "ATALAYA_HUGE_PAGES=off");
        }
        try
        {
            var mode = File.ReadAllText("/sys/kernel/mm/transparent_hugepage/enabled");
            if (mode.Contains("[never]", StringComparison.Ordinal))
            {
                return (0, "transparent huge pages are off on this host");
            }
            // A large object lives in the collector's reservation, whatever its layout.
            var probe = GC.AllocateUninitializedArray<byte>(1 << 20, pinned: false);
            var handle = GCHandle.Alloc(probe, GCHandleType.Pinned);
            ulong address;
            try
            {
                address = (ulong)handle.AddrOfPinnedObject();
            }
            finally
            {
                handle.Free();
            }
            // The collector's reservation size: only with regions (the default since .NET 7).
            if (!ulong.TryParse(GC.GetConfigurationVariables().GetValueOrDefault("GCRegionRange")?.ToString(), CultureInfo.InvariantCulture, out var length)
                || Reservation(File.ReadAllLines("/proc/self/maps"), address, length) is not var (start, end))
            {
                return (0, "the managed heap's reservation was not found");
            }
            return madvise((nint)start, (nuint)(end - start), MadvHugePage) == 0
                ? ((long)(end - start), null)
                : (0, $"madvise failed (errno {Marshal.GetLastPInvokeError()})");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DllNotFoundException or EntryPointNotFoundException)
        {
            return (0, e.Message);
        }
    }

    /// <summary>
    /// The collector's reservation: <paramref name="length"/> bytes (its <c>GCRegionRange</c>) that
    /// hold <paramref name="address"/>, made of neighbouring anonymous mappings (the collector
    /// reserves the range in one mapping and commits parts of it by changing their protection,
    /// which splits it), beginning and ending on mapping boundaries. Other anonymous mappings
    /// (thread stacks, malloc arenas) can sit right beside it, and only the heap is to be advised.
    /// </summary>
    internal static (ulong Start, ulong End)? Reservation(IReadOnlyList<string> maps, ulong address, ulong length)
    {
        var ranges = new List<(ulong Start, ulong End, bool Anonymous)>(maps.Count);
        foreach (var line in maps)
        {
            var fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            var dash = fields.Length >= 5 ? fields[0].IndexOf('-', StringComparison.Ordinal) : -1;
            if (dash < 0
                || !ulong.TryParse(fields[0].AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var start)
                || !ulong.TryParse(fields[0].AsSpan(dash + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var end))
            {
                continue;
            }
            var anonymous = fields[4] == "0" && (fields.Length < 6 || fields[5].Trim().Length == 0);
            ranges.Add((start, end, anonymous));
        }
        var at = ranges.FindIndex(r => r.Start <= address && address < r.End);
        if (at < 0 || !ranges[at].Anonymous || length == 0)
        {
            return null;
        }
        var first = at;
        while (first > 0 && ranges[first - 1].Anonymous && ranges[first - 1].End == ranges[first].Start)
        {
            first--;
        }
        var last = at;
        while (last + 1 < ranges.Count && ranges[last + 1].Anonymous && ranges[last + 1].Start == ranges[last].End)
        {
            last++;
        }
        var ends = ranges.Skip(first).Take(last - first + 1).Select(r => r.End).ToHashSet();
        var fits = ranges.Skip(first).Take(at - first + 1)
            .Where(r => address - r.Start < length && ends.Contains(r.Start + length))
            .ToList();
        if (fits.Count == 0)
        {
            return null;
        }
        // Regions and malloc arenas are aligned to powers of two, so several ranges of that length
        // can fit the boundaries; the one reserved is among them, and so is their common part.
        var (from, to) = (fits.Max(r => r.Start), fits.Min(r => r.Start) + length);
        return from <= address && address < to ? (from, to) : null;
    }

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int madvise(nint address, nuint length, int advice);
}
