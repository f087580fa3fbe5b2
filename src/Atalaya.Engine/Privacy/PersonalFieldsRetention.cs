using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Atalaya.Engine.Config;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Storage;
using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Privacy;

/// <summary>
/// The <c>personal_fields</c> job (docs/privacy.md): personal fields are kept shorter than events.
/// Events older than <c>retention.personal_fields_days</c> lose their IP, user agent and traits
/// (their device type, OS and browser, derived when they were stored, stay; so does every fact a
/// KPI reads); the events themselves stay. Blocks are rewritten through the same guarded path as
/// an erasure (its own row in <c>privacy_erasures</c> names the block being rewritten), a few per
/// transaction. The row also keeps the job's watermark: the horizon and the last block of the
/// previous run, so a run reads only blocks that became old since, or were stored since.
/// </summary>
internal static class PersonalFieldsRetention
{
    public const string JobName = "personal_fields";

    private const string RowId = "retention:personal-fields";
    private const int BlocksPerTransaction = 16;
    private static readonly byte[][] Markers = ["\"ip\""u8.ToArray(), "\"user_agent\""u8.ToArray(), "\"traits\""u8.ToArray()];

    public static JobDefinition Job(EnvironmentConfig config) =>
        new(JobName, $"Drops IP addresses, user agents and traits from events older than {config.Retention.PersonalFieldsDays} days (retention.personal_fields_days; 0 turns it off); the events stay.",
            "retention.schedule", "privacy", c => c.Events is Cluster.ClusterEventPositions cluster
                ? RunOnCluster(cluster.ClickHouse, c.Config.Retention.PersonalFieldsDays, c.Time)
                : Run(c.Database, c.Config.Retention.PersonalFieldsDays, c.Time))
        {
            Scheduled = config.Retention.PersonalFieldsDays > 0,
            RewritesStoredEvents = true,
            RewritesOnCluster = true,
        };

    public static IReadOnlyList<StepOutcome> Run(HubDatabase database, int days, TimeProvider time)
    {
        if (days <= 0)
        {
            return [new StepOutcome(JobName, true, 0, null, null, null)];
        }
        var now = time.GetUtcNow();
        var horizon = now.AddDays(-days).ToUnixTimeMilliseconds();
        using var connection = database.Connect();
        var (previousHorizon, previousMaxBlock) = Watermark(connection, now);
        var blocks = new List<long>();
        long maxBlock;
        using (var command = connection.CreateCommand())
        {
            command.CommandText = """
                SELECT block_id FROM event_blocks
                WHERE min_timestamp < $horizon AND (max_timestamp >= $previous OR block_id > $previousMax)
                ORDER BY block_id;
                """;
            command.Parameters.AddWithValue("$horizon", horizon);
            command.Parameters.AddWithValue("$previous", previousHorizon);
            command.Parameters.AddWithValue("$previousMax", previousMaxBlock);
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    blocks.Add(reader.GetInt64(0));
                }
            }
            command.CommandText = "SELECT coalesce(max(block_id), 0) FROM event_blocks;";
            maxBlock = (long)command.ExecuteScalar()!;
        }
        long events = 0;
        for (var at = 0; at < blocks.Count; at += BlocksPerTransaction)
        {
            events += Strip(connection, blocks.Skip(at).Take(BlocksPerTransaction).ToList(), horizon);
        }
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "UPDATE privacy_erasures SET plan = $plan, completed_at = $at, events = events + $events, blocks = blocks + $blocks WHERE erasure_id = $id;";
            command.Parameters.AddWithValue("$plan", new JsonObject { ["horizon"] = horizon, ["max_block"] = maxBlock }.ToJsonString());
            command.Parameters.AddWithValue("$at", now.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
            command.Parameters.AddWithValue("$events", events);
            command.Parameters.AddWithValue("$blocks", blocks.Count);
            command.Parameters.AddWithValue("$id", RowId);
            command.ExecuteNonQuery();
        }
        var day = DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeMilliseconds(horizon).UtcDateTime);
        return [new StepOutcome(JobName, true, events, null, day, null)];
    }

    /// <summary>Rows a cluster run reads and rewrites at a time (a few mutations each): the job never holds a whole month in memory.</summary>
    private const int RowsPerRewrite = 5_000;

    /// <summary>
    /// The job on a cluster node (docs/scale-out.md): the same fields dropped from the same events,
    /// in ClickHouse's rows (<see cref="ClickHouseEventRewrite"/>). No watermark is needed: a row
    /// whose fields are gone no longer holds the markers the query looks for, so each run reads only
    /// the old rows still holding one; a run stopped half-way is finished by the next.
    /// </summary>
    public static IReadOnlyList<StepOutcome> RunOnCluster(ClickHouse.ClickHouseClient clickHouse, int days, TimeProvider time)
    {
        if (days <= 0)
        {
            return [new StepOutcome(JobName, true, 0, null, null, null)];
        }
        var horizon = time.GetUtcNow().AddDays(-days).ToUnixTimeMilliseconds();
        // The job runs on a thread of its own (the runner's); the rewrite is a few HTTP calls a batch.
        var events = RewriteOlderAsync(clickHouse, horizon, CancellationToken.None).GetAwaiter().GetResult();
        var day = DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeMilliseconds(horizon).UtcDateTime);
        return [new StepOutcome(JobName, true, events, null, day, null)];
    }

    private static async Task<long> RewriteOlderAsync(ClickHouse.ClickHouseClient clickHouse, long horizon, CancellationToken ct)
    {
        // Seconds: ts holds whole seconds (ts_ms the rest), so the query takes the horizon's second and Older decides to the millisecond.
        var markers = string.Join(" OR ", Markers.Select(m => $"position(payload, {ClickHouse.ClickHouseClient.Literal(System.Text.Encoding.UTF8.GetString(m))}) > 0"));
        var months = new List<string>();
        await foreach (var row in clickHouse.QueryAsync(
            $"SELECT DISTINCT toString(toYYYYMM(ts)) AS month FROM {ClickHouse.EventsSchema.Events} WHERE ts <= toDateTime({horizon / 1000}) ORDER BY month", ct).ConfigureAwait(false))
        {
            months.Add(row[0]!);
        }
        long events = 0;
        foreach (var month in months)
        {
            // The month's ids first, then their rows a batch at a time: no answer stream is left
            // waiting while a batch's mutations run.
            var ids = new List<string>();
            await foreach (var row in clickHouse.QueryAsync(
                $"SELECT event_id FROM {ClickHouse.EventsSchema.Events} WHERE toYYYYMM(ts) = {month} AND ts <= toDateTime({horizon / 1000}) AND ({markers})", ct).ConfigureAwait(false))
            {
                ids.Add(row[0]!);
            }
            foreach (var chunk in ids.Chunk(RowsPerRewrite))
            {
                var table = new ClickHouse.ExternalTable("batch_ids", "event_id String", chunk.Select(ClickHouse.TabSeparated.Escape));
                var batch = new List<StoredRow>(chunk.Length);
                await foreach (var row in clickHouse.QueryAsync(
                    $"SELECT event_id, toString(toYYYYMM(ts)), payload FROM {ClickHouse.EventsSchema.Events} WHERE toYYYYMM(ts) = {month} AND event_id IN batch_ids", table, ct).ConfigureAwait(false))
                {
                    batch.Add(new StoredRow(row[0]!, row[1]!, row[2]!));
                }
                events += (await ClickHouseEventRewrite.RewriteAsync(clickHouse, batch, e => Older(e, horizon) && Drop(e), ct).ConfigureAwait(false)).Events;
            }
        }
        return events;
    }

    /// <summary>The job's row (created on its first run) and the previous run's horizon and last block.</summary>
    private static (long Horizon, long MaxBlock) Watermark(SqliteConnection connection, DateTimeOffset now)
    {
        using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT OR IGNORE INTO privacy_erasures (erasure_id, person_hash, requested_at, state, cut_seq)
            VALUES ($id, 'retention', $at, 'done', 0);
            SELECT plan FROM privacy_erasures WHERE erasure_id = $id;
            """;
        command.Parameters.AddWithValue("$id", RowId);
        command.Parameters.AddWithValue("$at", now.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        if (command.ExecuteScalar() is string plan && JsonNode.Parse(plan) is JsonObject o)
        {
            return (o["horizon"]!.GetValue<long>(), o["max_block"]!.GetValue<long>());
        }
        return (long.MinValue, 0);
    }

    /// <summary>Rewrites the blocks without the personal fields, in one transaction; returns how many events changed.</summary>
    private static long Strip(SqliteConnection connection, List<long> blockIds, long horizon) =>
        BlockRewrite.Run(connection, RowId, blockIds, json => Rewrite(json, horizon)).Events;

    /// <summary>The block with the personal fields of its events older than <paramref name="horizon"/> dropped (a block may hold newer events too).</summary>
    private static (byte[] Json, int Changed) Rewrite(byte[] jsonArray, long horizon)
    {
        if (!PersonFinder.MayName(jsonArray, Markers))
        {
            return (jsonArray, 0);
        }
        var output = new ArrayBufferWriter<byte>(jsonArray.Length);
        output.Write("["u8);
        var reader = new Utf8JsonReader(jsonArray);
        reader.Read();
        var first = true;
        var changed = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            var start = (int)reader.TokenStartIndex;
            reader.Skip();
            var raw = jsonArray.AsSpan(start, (int)reader.BytesConsumed - start);
            if (!first)
            {
                output.Write(","u8);
            }
            first = false;
            if (PersonFinder.MayName(raw, Markers) && JsonNode.Parse(raw) is JsonObject e && Older(e, horizon) && Drop(e))
            {
                using var writer = new Utf8JsonWriter(output, Collect.EventNormalizer.WriterOptions);
                e.WriteTo(writer);
                changed++;
            }
            else
            {
                output.Write(raw);
            }
        }
        output.Write("]"u8);
        return (output.WrittenSpan.ToArray(), changed);
    }

    private static bool Older(JsonObject e, long horizon) =>
        e["timestamp"] is JsonValue v && v.TryGetValue<string>(out var text)
        && DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var at)
        && at.ToUnixTimeMilliseconds() < horizon;

    private static bool Drop(JsonObject e)
    {
        var changed = e.Remove("traits");
        if (e["context"] is JsonObject context)
        {
            changed |= context.Remove("ip");
            changed |= context.Remove("user_agent");
            changed |= context.Remove("traits");
        }
        return changed;
    }
}
