using Atalaya.Hosting;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Restart;

/// <summary>
/// Huge pages for the managed heap (Hosting/HugePages.cs): the collector's reservation is found in
/// the process's mappings without taking the anonymous mappings beside it, and a running server
/// has it advised (the kernel shows the <c>hg</c> flag on it) unless told not to.
/// </summary>
public sealed class HugePagesTests
{
    private const ulong Reserved = 256UL << 30;

    // The layout of a running hub's mappings around its heap (from /proc/PID/maps): the collector's
    // bookkeeping before the reservation, the reservation split by the regions committed so far,
    // then malloc arenas (64 MiB each) right after it, and a library.
    private static readonly string[] Maps =
    [
        "7f0bf7481000-7f0c78000000 ---p 00000000 00:00 0 ",
        "7f0c78000000-7f0c78011000 rw-p 00000000 00:00 0 ",
        "7f0c78011000-7f0c7a000000 ---p 00000000 00:00 0 ",
        "7f0c7a000000-7f0c7a001000 rw-p 00000000 00:00 0 ",
        "7f0c7a001000-7f0c7c000000 ---p 00000000 00:00 0 ",
        "7f0c7c000000-7f0c7c001000 rw-p 00000000 00:00 0 ",
        "7f0c7c001000-7f0c7d800000 ---p 00000000 00:00 0 ",
        "7f0c7d800000-7f0c7d901000 rw-p 00000000 00:00 0 ",
        "7f0c7d901000-7f4c78000000 ---p 00000000 00:00 0 ",
        "7f4c78000000-7f4c78021000 rw-p 00000000 00:00 0 ",
        "7f4c78021000-7f4c7c000000 ---p 00000000 00:00 0 ",
        "7f4c7c000000-7f4c7c021000 rw-p 00000000 00:00 0 ",
        "7f4c7c021000-7f4c80000000 ---p 00000000 00:00 0 ",
        "7f4c80000000-7f4c80100000 r--p 00000000 08:01 1234                       /usr/lib/x86_64-linux-gnu/libc.so.6",
    ];

    [Fact]
    public void The_reservation_is_found_without_the_arenas_beside_it()
    {
        var range = HugePages.Reservation(Maps, 0x7f0c7d800058, Reserved);

        // The arenas' 64 MiB alignment lets a second range of that length end on a boundary (at the
        // second arena); only the part both ranges cover is advised, which ends where the heap does.
        Assert.Equal((0x7f0c7c000000UL, 0x7f4c78000000UL), range);
        Assert.True(range!.Value.End - range.Value.Start <= Reserved);
    }

    [Fact]
    public void Nothing_is_advised_when_the_object_is_not_in_an_anonymous_mapping_or_no_range_fits()
    {
        Assert.Null(HugePages.Reservation(Maps, 0x7f4c80000100, Reserved));
        Assert.Null(HugePages.Reservation(Maps, 0x7f0c7d800058, Reserved * 2));
        Assert.Null(HugePages.Reservation(Maps, 0x1000, Reserved));
        Assert.Null(HugePages.Reservation(["not a mapping line"], 0x7f0c7d800058, Reserved));
    }

    [Fact]
    public async Task A_running_server_has_its_heap_advised_unless_told_not_to()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        var thp = File.Exists("/sys/kernel/mm/transparent_hugepage/enabled")
            && !File.ReadAllText("/sys/kernel/mm/transparent_hugepage/enabled").Contains("[never]", StringComparison.Ordinal);
        using var data = new TempDirectory("huge-pages");

        await using (var serve = await ServeProcess.StartAsync(null, "--data", data.Path, "--no-scheduler"))
        {
            await serve.WaitForOutputAsync("Managed heap: ");
            Assert.Equal(thp, AdvisedGigabytes(serve.Pid) >= 1);
            Assert.Contains(thp ? "Managed heap: huge pages advised" : "Managed heap: 4 KiB pages", serve.Output, StringComparison.Ordinal);
        }
        await using (var serve = await ServeProcess.StartAsync(null, new Dictionary<string, string> { ["ATALAYA_HUGE_PAGES"] = "off" },
            "--data", data.Path, "--no-scheduler"))
        {
            await serve.WaitForOutputAsync("Managed heap: ");
            Assert.Equal(0, AdvisedGigabytes(serve.Pid));
            Assert.Contains("Managed heap: 4 KiB pages (ATALAYA_HUGE_PAGES=off)", serve.Output, StringComparison.Ordinal);
        }
    }

    /// <summary>The size of the process's mappings the kernel marks for huge pages (VmFlags "hg"), in whole GiB.</summary>
    private static long AdvisedGigabytes(int pid)
    {
        long advisedKb = 0, sizeKb = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/smaps"))
        {
            if (line.StartsWith("Size:", StringComparison.Ordinal))
            {
                sizeKb = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("VmFlags:", StringComparison.Ordinal) && line.Split(' ').Contains("hg"))
            {
                advisedKb += sizeKb;
            }
        }
        return advisedKb >> 20;
    }
}
