using System.Diagnostics;
using System.Globalization;
using Atalaya.Bench.Query;
using Atalaya.Engine.ClickHouse;

namespace Atalaya.Bench.ClickHouseInsert;

/// <summary>
/// The scale-out writer (<see cref="ClickHouseEventWriter"/>) on its own: events of the query
/// benchmark's cached demo NDJSON, in batches as the queue would hand them over, into a fresh
/// ClickHouse database — map, dedupe check, gzip-streamed insert of the rows and of their ids.
/// Then the first batch once more, as a redelivery, which must insert nothing. The demo file
/// holds native events, not the hub's stored form: the mapper reads the same members, the rows
/// lack only received_at and source_system.
/// </summary>
public static class ClickHouseInsertBenchmark
{
    private const string Usage = """
        usage: dotnet run -c Release --project bench/Atalaya.Bench -- ch-insert [--events N] [--batch N] [--ndjson FILE] [--clickhouse-url U]
          --events N          events to insert (default 1000000, or as many as the file holds)
          --batch N           events per writer call (default 50000)
          --ndjson FILE       native events, one a line (default: the largest file of /tmp/atalaya-bench-cache up to ~1M events;
                              `query` writes them)
          --clickhouse-url U  an already running ClickHouse HTTP endpoint (default: scripts/services.sh start clickhouse)
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        var events = 1_000_000;
        var batchSize = 50_000;
        string? ndjson = null, url = null;
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--events" when i + 1 < args.Length: events = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--batch" when i + 1 < args.Length: batchSize = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--ndjson" when i + 1 < args.Length: ndjson = args[++i]; break;
                case "--clickhouse-url" when i + 1 < args.Length: url = args[++i]; break;
                default:
                    Console.WriteLine(Usage);
                    return args[i] is "--help" or "-h" ? 0 : 2;
            }
        }
        ndjson ??= DefaultNdjson();
        if (ndjson is null || !File.Exists(ndjson))
        {
            Console.Error.WriteLine("error: no demo NDJSON; give --ndjson FILE or run the query benchmark once (it caches one in /tmp/atalaya-bench-cache)");
            return 2;
        }

        var (endpoint, _, _) = ClickHouse.Ensure(Repository.Root(), url);
        var settings = new ClickHouseSettings(new Uri(endpoint), "atalaya_bench_" + Guid.NewGuid().ToString("N")[..8]);
        using var client = new ClickHouseClient(settings);
        try
        {
            await EventsSchema.EnsureAsync(client, CancellationToken.None);
            var writer = new ClickHouseEventWriter(client);
            await using var file = File.OpenRead(ndjson);
            var lines = new NdjsonLines(file);
            List<ReadOnlyMemory<byte>>? first = null;
            long inserted = 0, read = 0;
            var writing = TimeSpan.Zero;
            while (read < events)
            {
                var batch = new List<ReadOnlyMemory<byte>>(batchSize);
                while (batch.Count < batchSize && read < events && lines.TryRead(out var line))
                {
                    batch.Add(line.ToArray()); // a line is only valid until the next read
                    read++;
                }
                if (batch.Count == 0)
                {
                    break;
                }
                first ??= batch;
                var clock = Stopwatch.StartNew();
                var result = await writer.InsertAsync(batch, CancellationToken.None);
                writing += clock.Elapsed;
                inserted += result.Inserted;
                Console.Write($"\r  {inserted:N0} rows, {inserted / writing.TotalSeconds:N0} rows/s   ");
            }
            Console.WriteLine();
            var clientSide = await ClientSideAsync(first!);
            var again = Stopwatch.StartNew();
            var redelivered = await writer.InsertAsync(first!, CancellationToken.None);
            var redelivery = again.Elapsed;
            var stored = await client.ScalarInt64Async("SELECT count() FROM events", CancellationToken.None);
            var bytes = await client.ScalarInt64Async(
                $"SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND database = {ClickHouseClient.Literal(settings.Database)}", CancellationToken.None);

            Console.WriteLine($"""
                ch-insert: {read:N0} events from {Path.GetFileName(ndjson)}, batches of {batchSize:N0}, ClickHouse {endpoint}
                  writer:     {inserted:N0} inserted in {writing.TotalSeconds:N1} s = {inserted / writing.TotalSeconds:N0} events/s (map + dedupe check + 2 inserts)
                  this side:  map + JSONEachRow + gzip of the first batch alone: {clientSide:N1} µs/event (one thread; the rest is ClickHouse and the wire)
                  redelivery: first batch again: {redelivered.Inserted:N0} inserted, {redelivered.Duplicates:N0} duplicates in {redelivery.TotalMilliseconds:N0} ms
                  stored:     {stored:N0} rows, {bytes / 1048576.0:N1} MiB on disk (events + event_ids)
                  load:       {File.ReadAllText("/proc/loadavg").Trim()} (1/5/15-min load average, {Environment.ProcessorCount} cores)
                """);
            return stored == inserted && redelivered.Inserted == 0 ? 0 : 1;
        }
        finally
        {
            await client.DropDatabaseAsync(CancellationToken.None);
        }
    }

    /// <summary>The writer's own CPU per event: mapping, writing the row and compressing it, into nothing.</summary>
    private static async Task<double> ClientSideAsync(List<ReadOnlyMemory<byte>> batch)
    {
        var best = double.MaxValue;
        for (var repeat = 0; repeat < 3; repeat++)
        {
            var clock = Stopwatch.StartNew();
            await using (var gzip = new System.IO.Compression.GZipStream(Stream.Null, System.IO.Compression.CompressionLevel.Fastest))
            await using (var rows = new JsonRows(gzip))
            {
                foreach (var stored in batch)
                {
                    if (StoredEventMapper.TryMap(stored, out _) is { } row)
                    {
                        StoredEventMapper.Write(row, rows.Row);
                        await rows.EndRowAsync(CancellationToken.None);
                    }
                }
            }
            best = Math.Min(best, clock.Elapsed.TotalMicroseconds / batch.Count);
        }
        return best;
    }

    private static string? DefaultNdjson()
    {
        var cache = Path.Combine(Path.GetTempPath(), "atalaya-bench-cache");
        return Directory.Exists(cache)
            ? Directory.GetFiles(cache, "*.ndjson").Where(f => new FileInfo(f).Length < 1L << 30).OrderByDescending(f => new FileInfo(f).Length).FirstOrDefault()
            : null;
    }
}
