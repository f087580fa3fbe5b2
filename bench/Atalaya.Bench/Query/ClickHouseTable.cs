using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Atalaya.Bench.Query;

/// <summary>
/// The ClickHouse side of the query benchmark: one MergeTree table of flattened events
/// (<see cref="EventFlattener"/>), partitioned by month and sorted by (event_type, ts) so every
/// question reads only the event types and days it needs, loaded from the same NDJSON as the hub
/// with <c>INSERT … FORMAT JSONEachRow</c> (flattened while streaming, a million rows a statement)
/// and merged with <c>OPTIMIZE … FINAL</c> before the questions run.
/// </summary>
public static class ClickHouseTable
{
    public const string Name = "bench_query_events";

    private const int RowsPerInsert = 1_000_000;

    private const string Create = $"""
        CREATE TABLE {Name} (
          event_id String, event_type String, ts DateTime('UTC'), user_key String, session_id String,
          country String, hub String, zone String, category String, store_id String,
          source String, platform String, app_id String,
          order_id String, status String, currency String, fx Float64,
          total Float64, subtotal Float64, delivery_fee Float64, amount Float64, snapshot_total Float64, commission Float64,
          product_id String, product_name String, price Float64, quantity UInt32,
          item_product_id Array(String), item_quantity Array(UInt32), item_price Array(Float64)
        ) ENGINE = MergeTree PARTITION BY toYYYYMM(ts) ORDER BY (event_type, ts)
        """;

    public sealed record LoadResult(long Rows, TimeSpan Insert, TimeSpan Optimize, long StoredBytes);

    public static async Task<LoadResult> LoadAsync(string url, string ndjson)
    {
        await ClickHouse.ExecAsync(url, $"DROP TABLE IF EXISTS {Name}");
        await ClickHouse.ExecAsync(url, Create);
        using var client = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        await using var file = File.OpenRead(ndjson);
        var lines = new NdjsonLines(file);
        var flattener = new EventFlattener();
        long rows = 0;
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var content = new FlattenedContent(lines, flattener, RowsPerInsert);
            using var response = await client.PostAsync(url + "/?query=" + Uri.EscapeDataString($"INSERT INTO {Name} FORMAT JSONEachRow"), content);
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"ClickHouse refused the insert: {await response.Content.ReadAsStringAsync()}");
            }
            rows += content.Rows;
            Console.Write($"\r  {rows:N0} rows, {rows / clock.Elapsed.TotalSeconds:N0} rows/s   ");
            if (content.Rows < RowsPerInsert)
            {
                break;
            }
        }
        Console.WriteLine();
        var insert = clock.Elapsed;
        clock.Restart();
        await ClickHouse.ExecAsync(url, $"OPTIMIZE TABLE {Name} FINAL");
        var optimize = clock.Elapsed;
        var bytes = long.Parse((await QueryAsync(client, url, $"SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND table = '{Name}'")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        return new LoadResult(rows, insert, optimize, bytes);
    }

    public static async Task<string> QueryAsync(HttpClient client, string url, string sql)
    {
        using var response = await client.PostAsync(url + "/", new StringContent(sql));
        var text = await response.Content.ReadAsStringAsync();
        return response.IsSuccessStatusCode ? text : throw new InvalidOperationException($"ClickHouse refused: {sql}\n{text}");
    }

    /// <summary>Up to <c>max</c> flattened rows, produced while ClickHouse reads the request body.</summary>
    private sealed class FlattenedContent(NdjsonLines lines, EventFlattener flattener, int max) : HttpContent
    {
        private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

        public int Rows { get; private set; }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var buffer = new ArrayBufferWriter<byte>(2 << 20);
            await using var row = new Utf8JsonWriter(buffer, Options);
            while (Fill(buffer, row))
            {
                await stream.WriteAsync(buffer.WrittenMemory);
                buffer.ResetWrittenCount();
            }
            await stream.WriteAsync(buffer.WrittenMemory);
        }

        /// <summary>Flattens rows into <paramref name="buffer"/> until it holds 1 MiB (true) or the rows run out (false).</summary>
        private bool Fill(ArrayBufferWriter<byte> buffer, Utf8JsonWriter row)
        {
            while (Rows < max && lines.TryRead(out var line))
            {
                flattener.Write(line, row);
                row.Flush();
                row.Reset();
                buffer.Write("\n"u8);
                Rows++;
                if (buffer.WrittenCount >= 1 << 20)
                {
                    return true;
                }
            }
            return false;
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
