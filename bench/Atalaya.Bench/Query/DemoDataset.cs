using System.Globalization;
using System.Text.Json;

namespace Atalaya.Bench.Query;

/// <summary>
/// The benchmark's data: about N events from the project's deterministic generator
/// (<c>atalaya demo</c>), <see cref="QueryOptions.Days"/> days ending today, written once as NDJSON
/// into the cache folder and reused by later runs of the same size, seed and day. Volume per day
/// comes from <c>--scale</c> (one unit per million events) and <c>--sessions-per-day</c>, so every
/// size spans the same days and "last 90 days" questions touch most of the events.
/// </summary>
public sealed record DemoDataset(string Path, long Events, long Bytes, string Command, DateTime FirstTimestamp, DateTime LastTimestamp)
{
    // Events per generated session (page views, store and product views, carts, orders and their
    // server-side statuses and payments), measured on 120 days at scale 1: 1,005,642 / (120 × 1,930).
    private const double EventsPerSession = 4.34;

    public static DemoDataset Ensure(string dll, QueryOptions options)
    {
        var scale = (int)Math.Max(1, Math.Round(options.Events / 1e6));
        var sessions = (int)Math.Max(1, Math.Round(options.Events / (options.Days * EventsPerSession * scale)));
        var end = DateOnly.FromDateTime(DateTime.UtcNow);
        string[] arguments =
        [
            "demo", "--days", Invariant(options.Days), "--scale", Invariant(scale), "--sessions-per-day", Invariant(sessions),
            "--seed", Invariant(options.Seed), "--end", end.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            .. options.Products is { } products ? new[] { "--products", Invariant(products) } : [],
        ];
        var command = "atalaya " + string.Join(' ', arguments);
        Directory.CreateDirectory(options.CacheDirectory);
        // The catalog size is part of the name: a large-catalog dataset never replaces the default one.
        var catalog = options.Products is { } size ? string.Create(CultureInfo.InvariantCulture, $"-p{size}") : "";
        var name = string.Create(CultureInfo.InvariantCulture, $"demo-d{options.Days}-k{scale}-s{sessions}{catalog}-seed{options.Seed}-{end:yyyyMMdd}.ndjson");
        var path = System.IO.Path.Combine(options.CacheDirectory, name);
        var countFile = path + ".count";
        if (!File.Exists(path) || !File.Exists(countFile))
        {
            Console.WriteLine($"  {command} --out {path}");
            var partial = path + ".partial";
            HubProcess.Run("dotnet", options.CacheDirectory, [dll, .. arguments, "--out", partial]);
            var lines = CountLines(partial);
            File.Move(partial, path, overwrite: true);
            File.WriteAllText(countFile, Invariant(lines));
        }
        else
        {
            Console.WriteLine($"  reusing {path}");
        }
        var events = long.Parse(File.ReadAllText(countFile).Trim(), CultureInfo.InvariantCulture);
        var (first, last) = FirstAndLastTimestamps(path);
        return new DemoDataset(path, events, new FileInfo(path).Length, command, first, last);
    }

    private static long CountLines(string path)
    {
        using var stream = File.OpenRead(path);
        var buffer = new byte[1 << 20];
        long count = 0;
        int read;
        while ((read = stream.Read(buffer)) > 0)
        {
            count += buffer.AsSpan(0, read).Count((byte)'\n');
        }
        return count;
    }

    private static (DateTime First, DateTime Last) FirstAndLastTimestamps(string path)
    {
        using var stream = File.OpenRead(path);
        var first = Timestamp(new StreamReader(stream).ReadLine()!);
        var tail = new byte[Math.Min(stream.Length, 256 * 1024)];
        stream.Seek(-tail.Length, SeekOrigin.End);
        stream.ReadExactly(tail);
        var lines = System.Text.Encoding.UTF8.GetString(tail).TrimEnd('\n').Split('\n');
        return (first, Timestamp(lines[^1]));
    }

    private static DateTime Timestamp(string line)
    {
        using var document = JsonDocument.Parse(line);
        return document.RootElement.GetProperty("timestamp").GetDateTimeOffset().UtcDateTime;
    }

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}
