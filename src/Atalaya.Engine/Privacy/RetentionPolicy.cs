using System.Globalization;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Jobs.Marts;
using Atalaya.Engine.Storage;
using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Privacy;

/// <summary>
/// The raw-event retention policy (seed 001 keeps events two years; seed 002 never deletes raw,
/// so it is off by default). When on, it drops only whole months past the horizon — the raw
/// blocks whose every event is older than the first day of the month <c>months</c> before the
/// current one — and only once every mart is final for them (its watermark is past the horizon),
/// so the figures BI reads stay. The dropped blocks' event ids are kept in <c>retired_blocks</c>
/// (a retried old event is still a duplicate), with the month and the run that dropped them.
/// On a cluster node (<see cref="ClusterEvents"/>) the marts are read where the node keeps them
/// (<see cref="Marts"/>: PostgreSQL with <c>--postgres</c>) and each month past the horizon is one
/// ClickHouse partition, dropped whole (<see cref="DropOnClusterAsync"/>).
/// </summary>
internal sealed class RetentionPolicy(HubDatabase database, int months)
{
    /// <summary>Where the marts' watermarks are read: the data folder unless set.</summary>
    public MartStore? Marts { get; init; }

    /// <summary>On a cluster node, where the events are; null on the embedded hub, whose events are in the data folder's blocks.</summary>
    public ClickHouse.ClickHouseClient? ClusterEvents { get; init; }

    public IReadOnlyList<StepOutcome> Run(string runId, TimeProvider time, bool enabled)
    {
        if (!enabled)
        {
            return [new StepOutcome("retention", true, 0, null, null, null) { Note = "retention.enabled is false in this environment: nothing dropped" }];
        }
        var now = time.GetUtcNow().UtcDateTime;
        var horizon = new DateOnly(now.Year, now.Month, 1).AddMonths(-months);
        var notFinal = (Marts ?? MartStore.Sqlite(database)).Run(connection => MartsNotFinal(connection, horizon.AddDays(-1)));
        if (notFinal.Count > 0)
        {
            return [new StepOutcome("retention", false, 0, null, horizon.AddDays(-1), $"marts not final up to {horizon.AddDays(-1):yyyy-MM-dd}: {string.Join(", ", notFinal)}; run daily_batch first")];
        }
        if (ClusterEvents is { } clickHouse)
        {
            // The job runs on a thread of its own (the runner's); a drop is a few HTTP calls.
            var (events, partitions) = DropOnClusterAsync(clickHouse, horizon, runId, CancellationToken.None).GetAwaiter().GetResult();
            return [new StepOutcome("retention", true, events, null, horizon.AddDays(-1), null)
            {
                Note = partitions.Count == 0 ? $"nothing dropped older than {horizon:yyyy-MM-dd}" : $"dropped {partitions.Count} monthly partitions ({events} events) of months {string.Join(", ", partitions)}",
            }];
        }
        using var connection = database.Connect();
        var dropped = Drop(connection, MartBatch.Ms(horizon), runId, time.GetUtcNow());
        var waiting = Waiting(connection, MartBatch.Ms(horizon));
        var note = dropped.Blocks == 0 ? $"nothing dropped older than {horizon:yyyy-MM-dd}" : $"dropped {dropped.Blocks} blocks ({dropped.Events} events) of months {string.Join(", ", dropped.Months)}";
        return [new StepOutcome("retention", true, dropped.Events, null, horizon.AddDays(-1), null)
        {
            Note = waiting == 0 ? note : $"{note}; {waiting} older blocks wait for the data-quality profile to count them (the next {Quality.QualityJob.Name} run)",
        }];
    }

    private static long Waiting(SqliteConnection connection, long horizonMs)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM event_blocks WHERE max_timestamp < $horizon;";
        command.Parameters.AddWithValue("$horizon", horizonMs);
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>
    /// Every month of the cluster's events before the horizon (the first day of a month, so each such
    /// month is wholly before it): its count recorded in <c>retired_months</c>, then its partition
    /// dropped. The ids stay in <c>event_ids</c>, so a retried old event is still a duplicate. A run
    /// stopped between the two finds the month again and drops it (recording it once more).
    /// </summary>
    private static async Task<(long Events, List<string> Months)> DropOnClusterAsync(ClickHouse.ClickHouseClient clickHouse, DateOnly horizon, string runId, CancellationToken ct)
    {
        var horizonSeconds = MartBatch.Ms(horizon) / 1000;
        var found = new List<(long Month, long Events)>();
        await foreach (var row in clickHouse.QueryAsync(
            $"SELECT toYYYYMM(ts) AS month, count() FROM {ClickHouse.EventsSchema.Events} WHERE ts < toDateTime({horizonSeconds}) GROUP BY month ORDER BY month", ct).ConfigureAwait(false))
        {
            found.Add((long.Parse(row[0]!, CultureInfo.InvariantCulture), long.Parse(row[1]!, CultureInfo.InvariantCulture)));
        }
        foreach (var (month, events) in found)
        {
            await clickHouse.ExecuteAsync(string.Create(CultureInfo.InvariantCulture,
                $"INSERT INTO {ClickHouse.EventsSchema.RetiredMonths} (month, events, run_id) VALUES ({month}, {events}, {ClickHouse.ClickHouseClient.Literal(runId)})"), ct).ConfigureAwait(false);
            await clickHouse.ExecuteAsync(string.Create(CultureInfo.InvariantCulture, $"ALTER TABLE {ClickHouse.EventsSchema.Events} DROP PARTITION {month}"), ct).ConfigureAwait(false);
            // The month's aggregates go with its events (they hold hashes of its people's ids).
            foreach (var aggregate in ClickHouse.KpiAggregates.Tables)
            {
                await clickHouse.ExecuteAsync(string.Create(CultureInfo.InvariantCulture, $"ALTER TABLE {aggregate} DROP PARTITION {month}"), ct).ConfigureAwait(false);
            }
        }
        return (found.Sum(f => f.Events), [.. found.Select(f => string.Create(CultureInfo.InvariantCulture, $"{f.Month / 100:0000}-{f.Month % 100:00}"))]);
    }

    private static List<string> MartsNotFinal(System.Data.Common.DbConnection connection, DateOnly lastDay)
    {
        var through = new Dictionary<string, string>(StringComparer.Ordinal);
        using var command = PortableSql.Command(connection, "SELECT mart, through_day FROM mart_state;");
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            through[reader.GetString(0)] = reader.GetString(1);
        }
        var day = lastDay.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        return [.. MartBuilder.Names.Where(m => !through.TryGetValue(m, out var d) || string.CompareOrdinal(d, day) < 0)];
    }

    private static (long Blocks, long Events, IReadOnlyList<string> Months) Drop(SqliteConnection connection, long horizonMs, string runId, DateTimeOffset now)
    {
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.Parameters.AddWithValue("$horizon", horizonMs);
        command.Parameters.AddWithValue("$run", runId);
        command.Parameters.AddWithValue("$now", PipelineRuns.Iso(now));
        // Blocks the data-quality profile has not counted yet stay until it has (its next run).
        command.Parameters.AddWithValue("$profiled", Quality.QualityProfile.Watermark(connection));
        command.CommandText = """
            INSERT INTO retired_blocks (block_id, first_seq, event_count, min_timestamp, max_timestamp, source_system, id_hashes, month, run_id, dropped_at)
            SELECT block_id, first_seq, event_count, min_timestamp, max_timestamp, source_system, id_hashes,
                   strftime('%Y-%m', max_timestamp / 1000, 'unixepoch'), $run, $now
            FROM event_blocks WHERE max_timestamp < $horizon AND first_seq + event_count - 1 <= $profiled;
            """;
        var blocks = command.ExecuteNonQuery();
        if (blocks == 0)
        {
            return (0, 0, []);
        }
        command.CommandText = "SELECT coalesce(sum(event_count), 0) FROM retired_blocks WHERE run_id = $run;";
        var events = (long)command.ExecuteScalar()!;
        command.CommandText = "SELECT DISTINCT month FROM retired_blocks WHERE run_id = $run ORDER BY month;";
        var months = new List<string>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                months.Add(reader.GetString(0));
            }
        }
        // Raw blocks are append-only by trigger; this is the one sanctioned delete. The trigger is
        // lifted and restored inside the same transaction, so no other writer ever sees it gone.
        command.CommandText = """
            DROP TRIGGER event_blocks_no_delete;
            DELETE FROM event_blocks WHERE max_timestamp < $horizon AND first_seq + event_count - 1 <= $profiled;
            CREATE TRIGGER event_blocks_no_delete BEFORE DELETE ON event_blocks
                BEGIN SELECT RAISE(ABORT, 'raw events are append-only'); END;
            """;
        command.ExecuteNonQuery();
        transaction.Commit();
        return (blocks, events, months);
    }
}
