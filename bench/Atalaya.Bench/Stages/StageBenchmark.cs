using System.Diagnostics;
using System.Globalization;
using System.Text;
using Atalaya.Engine;
using Atalaya.Engine.Kpi.Projection;
using Atalaya.Engine.Storage;

namespace Atalaya.Bench.Stages;

/// <summary>
/// The ingest path's stages timed one by one in this process, on the ingest benchmark's events:
/// where the server's CPU per event goes, without HTTP, the client or the other stages in the
/// way. Each stage runs over every batch, single-threaded, best of a few repeats (the machine is
/// shared); figures are wall-clock µs per event, which on one thread is CPU plus waits (fsync in
/// the append).
/// </summary>
public static class StageBenchmark
{
    private const int Repeats = 5;

    public static async Task<int> RunAsync(string[] args)
    {
        var events = 200_000;
        var batchSize = 5000;
        string? output = null;
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--events" when i + 1 < args.Length: events = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--batch" when i + 1 < args.Length: batchSize = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--out" when i + 1 < args.Length: output = args[++i]; break;
                default:
                    Console.WriteLine("usage: dotnet run -c Release --project bench/Atalaya.Bench -- stages [--events N] [--batch N] [--out FILE]");
                    return 2;
            }
        }

        var generated = EventFactory.Generate(events, batchSize, seed: 7);
        var jitBefore = System.Runtime.JitInfo.GetCompilationTime();
        var methodsBefore = System.Runtime.JitInfo.GetCompiledMethodCount();
        var directory = Path.Combine(Path.GetTempPath(), "atalaya-stages-" + Guid.NewGuid().ToString("N"));
        var rows = new List<(string Stage, double Micros)>();
        var sizes = "";
        try
        {
            await using var hub = Hub.Open(Path.Combine(directory, "normalize"));
            var batches = new List<AppendBatch>();
            rows.Add(("parse + validate + normalize (single pass, facts noted)", Best(events, () =>
            {
                foreach (var body in generated.HubBodies)
                {
                    hub.Pipeline.NormalizeNative(body, ndjson: false, "bench").Dispose();
                }
            })));
            // The same events as Segment track calls: parsed, mapped, then through the single pass.
            var segmentBodies = generated.HubBodies.Select(SegmentBodies.FromNative).ToList();
            void SegmentNow()
            {
                foreach (var body in segmentBodies)
                {
                    using var payload = Engine.Collect.SegmentPayload.Parse(body, null, hub.Pipeline.Options.MaxJsonDepth);
                    hub.Pipeline.NormalizeSegment(payload, "bench").Dispose();
                }
            }
            // The route Segment messages took before they went through the single pass, in this
            // process for a fair comparison (the mapping shares one buffer here, as it does now).
            void SegmentBefore()
            {
                var normalizer = new Engine.Collect.EventNormalizer(Engine.Catalog.EventCatalog.Default, hub.Log.Stores, hub.Fx, hub.Pipeline.Options);
                foreach (var body in segmentBodies)
                {
                    using var payload = Engine.Collect.SegmentPayload.Parse(body, null, hub.Pipeline.Options.MaxJsonDepth);
                    using var batch = new AppendBatch("bench", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), payload.BodyLength);
                    using var writer = new System.Text.Json.Utf8JsonWriter(batch.Buffer, Engine.Collect.EventNormalizer.WriterOptions);
                    var stores = new Engine.Collect.BatchStores();
                    using var output = new PooledBufferWriter(payload.BodyLength);
                    using var mapWriter = new System.Text.Json.Utf8JsonWriter(output);
                    for (var i = 0; i < payload.Messages.Count; i++)
                    {
                        var mapped = Engine.Collect.SegmentMapper.Map(payload.Messages[i], payload, DateTimeOffset.UtcNow, output, mapWriter);
                        if (mapped.Errors is null)
                        {
                            using var document = System.Text.Json.JsonDocument.Parse(output.WrittenSpan.Slice(mapped.Start, mapped.Length).ToArray());
                            normalizer.Normalize(document.RootElement, i, batch, writer, stores, requirePresence: false);
                        }
                    }
                }
            }
            // Alternated, so that a burst of load on the shared machine does not land on one of them only.
            var (now, before) = BestAlternating(events, SegmentNow, SegmentBefore);
            rows.Add(("Segment /v1/batch: parse + map + normalize (single pass, facts noted)", now));
            rows.Add(("for comparison: Segment as before (each mapped event parsed into a document, document path, no facts)", before));
            batches.AddRange(generated.HubBodies.Select(body => hub.Pipeline.NormalizeNative(body, ndjson: false, "bench")));
            rows.Add(($"compress the stored array ({BlockCodec.Current}, request thread)", Best(events, () =>
            {
                foreach (var batch in batches)
                {
                    var (array, length) = batch.ClosedArray();
                    BlockCodec.Release(BlockCodec.Compress(array.AsSpan(0, length)).Buffer);
                }
            })));
            // The codec blocks were written with before LZ4, on the same arrays, for comparison.
            var plainBytes = 0L;
            var deflatedBytes = 0L;
            rows.Add(("for comparison: deflate, fastest level (the previous codec)", Best(events, () =>
            {
                plainBytes = deflatedBytes = 0;
                foreach (var batch in batches)
                {
                    var (array, length) = batch.ClosedArray();
                    plainBytes += length;
                    deflatedBytes += BlockCodec.DeflateBlock(array.AsSpan(0, length)).Length;
                }
            })));
            var compressedBytes = 0L;
            foreach (var batch in batches)
            {
                compressedBytes += batch.Compressed().Length;
            }
            sizes = string.Create(CultureInfo.InvariantCulture,
                $"Stored array {plainBytes / (double)events:F0} B/event: {BlockCodec.Current} {compressedBytes / (double)events:F0} B/event ({plainBytes / (double)compressedBytes:F1}×), deflate {deflatedBytes / (double)events:F0} B/event ({plainBytes / (double)deflatedBytes:F1}×)");
            rows.Add(("KPI projection from the collected facts (commit path)", Best(events, () => Project(batches, fromFacts: true))));
            rows.Add(("KPI projection re-reading the stored JSON (start-up path)", Best(events, () => Project(batches, fromFacts: false))));
            // Serve's model follows every commit on a thread of its own: it copies the product, cart
            // and order events with their facts and applies them (the stored history at start-up is
            // parsed instead). Its CPU is the hub's too (the HTTP benchmark's µs/row counts it); the
            // events it skips cost only the type check, so this is per event of the whole mix.
            var stored = batches.SelectMany(b => b.Events.ToArray().Select(e => b.Json(e).ToArray())).ToList();
            void ModelFromJson() =>
                Engine.Recommendations.RecommendationModel.FromEvents(stored.Where(json => Engine.Recommendations.RecommendationEvent.IsRead(json)));
            // What serve's follower does since the model reads the collector's facts: no parse.
            void ModelFromFacts()
            {
                var model = new Engine.Recommendations.RecommendationModel();
                foreach (var batch in batches)
                {
                    var facts = batch.Facts;
                    for (var i = 0; i < batch.EventCount; i++)
                    {
                        ref readonly var f = ref facts[i];
                        model.Apply(batch.Json(batch.Events[i]), f, batch.Items.Slice(f.FirstItem, f.ItemCount));
                    }
                }
            }
            var (fromJson, fromFacts) = BestAlternating(events, ModelFromJson, ModelFromFacts);
            rows.Add(("recommendation model: re-parse + apply (start-up, events without facts)", fromJson));
            rows.Add(("recommendation model: apply from the collected facts (serve's follower thread)", fromFacts));
            var run = 0;
            rows.Add(("append: dedupe, SQLite insert, commit + fsync (log alone)", await BestAsync(events, async () =>
            {
                var database = HubDatabase.Open(Path.Combine(directory, $"log-{run++}"));
                await using var log = Engine.Storage.EventLog.Open(database);
                foreach (var batch in batches)
                {
                    await log.AppendAsync(batch);
                }
            })));
            foreach (var batch in batches)
            {
                batch.Dispose();
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }

        var c = CultureInfo.InvariantCulture;
        // The JIT's share matters on a short run: the HTTP benchmark's server CPU includes it.
        var jit = string.Create(c, $"JIT while staging: {(System.Runtime.JitInfo.GetCompilationTime() - jitBefore).TotalSeconds:F2} s for {System.Runtime.JitInfo.GetCompiledMethodCount() - methodsBefore:N0} compilations");
        Console.WriteLine(jit);
        var text = new StringBuilder();
        text.AppendLine("## Ingest stages: µs per event, engine level");
        text.AppendLine();
        text.AppendLine(c, $"- Date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        text.AppendLine(c, $"- Machine: {Report.Machine()}");
        text.AppendLine(c, $"- Data: the ingest benchmark's events, {events:N0} in requests of {batchSize:N0}; one thread, best of {Repeats}");
        text.AppendLine(c, $"- Command: `dotnet run -c Release --project bench/Atalaya.Bench -- {string.Join(' ', args)}`");
        text.AppendLine();
        text.AppendLine("| stage | µs/event |");
        text.AppendLine("|---|---:|");
        foreach (var (stage, micros) in rows)
        {
            text.AppendLine(c, $"| {stage} | {micros:F2} |");
            Console.WriteLine(string.Create(c, $"{micros,8:F2} µs  {stage}"));
        }
        text.AppendLine();
        text.AppendLine(sizes + ".");
        Console.WriteLine(sizes);
        text.AppendLine(jit + ".");
        if (output is not null)
        {
            Report.Replace(Path.Combine(Repository.Root(), output), "stages", text.ToString());
        }
        return 0;
    }

    private static void Project(List<AppendBatch> batches, bool fromFacts)
    {
        var projection = new KpiProjection();
        using var write = projection.Write();
        long seq = 1;
        foreach (var batch in batches)
        {
            var events = batch.Events;
            var facts = batch.Facts;
            for (var i = 0; i < events.Length; i++)
            {
                if (fromFacts)
                {
                    ref readonly var f = ref facts[i];
                    projection.Apply(batch.Json(events[i]), f, batch.Items.Slice(f.FirstItem, f.ItemCount), batch.SourceSystem, seq++);
                }
                else
                {
                    projection.Apply(batch.Json(events[i]), seq++);
                }
            }
        }
    }

    private static double Best(int events, Action stage)
    {
        var best = double.MaxValue;
        for (var r = 0; r < Repeats; r++)
        {
            var clock = Stopwatch.StartNew();
            stage();
            best = Math.Min(best, clock.Elapsed.TotalMicroseconds / events);
        }
        return best;
    }

    private static (double First, double Second) BestAlternating(int events, Action first, Action second)
    {
        double bestFirst = double.MaxValue, bestSecond = double.MaxValue;
        for (var r = 0; r < Repeats; r++)
        {
            var clock = Stopwatch.StartNew();
            first();
            bestFirst = Math.Min(bestFirst, clock.Elapsed.TotalMicroseconds / events);
            clock.Restart();
            second();
            bestSecond = Math.Min(bestSecond, clock.Elapsed.TotalMicroseconds / events);
        }
        return (bestFirst, bestSecond);
    }

    private static async Task<double> BestAsync(int events, Func<Task> stage)
    {
        var best = double.MaxValue;
        for (var r = 0; r < Repeats; r++)
        {
            var clock = Stopwatch.StartNew();
            await stage();
            best = Math.Min(best, clock.Elapsed.TotalMicroseconds / events);
        }
        return best;
    }
}
