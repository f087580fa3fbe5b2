using System.Globalization;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Kpi.Query;
using Atalaya.Engine.Storage;
using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Jobs.Marts;

/// <summary>
/// The D+1 batch (seed 001 "Procesamiento Batch"): brings every mart up to yesterday (UTC).
/// Each mart keeps a watermark (<c>mart_state</c>: the last event sequence and the last day it
/// reflects). A run recomputes, per mart, the closed days after its watermark plus the days that
/// events stored since then touch (late events), and writes them with MERGE semantics in one
/// transaction with the new watermark: a run that changes nothing writes nothing, and a run
/// that fails leaves the mart and its watermark as they were, for the next run to redo.
/// </summary>
internal sealed class MartBatch(HubDatabase database, KpiEngine engine)
{
    /// <summary>
    /// A late event on day D changes D and can change days after it (LTV, returning customers and
    /// store churn look back) and the 7 days before it (conversion_pct counts a payment up to 7
    /// days after its lead): the recomputed range starts this many days before the earliest late day.
    /// </summary>
    public const int LookBackDays = 7;

    public IReadOnlyList<StepOutcome> Run(string runId, IReadOnlyList<string>? marts = null)
    {
        var yesterday = engine.Today(TimeZoneInfo.Utc).AddDays(-1);
        // Read before computing: events that arrive during the run are newer than the watermark and
        // are looked at again by the next run (never skipped).
        var seq = engine.Projection.LastSeq;
        var steps = new List<StepOutcome>();
        using var connection = database.Connect();
        var first = FirstDayOfEvents(connection);
        var staged = false;
        foreach (var name in marts ?? MartBuilder.Names)
        {
            var (from, to) = Range(connection, name, first, yesterday);
            if (!staged && from <= to)
            {
                steps.Add(Staging(from, to));
                staged = true;
            }
            steps.Add(Step(connection, name, from, to, seq, yesterday, runId));
        }
        return steps;
    }

    /// <summary>The staging step: the range's validated, deduplicated events as the KPI engine holds them (SQL: the staging_events view).</summary>
    private StepOutcome Staging(DateOnly from, DateOnly to)
    {
        var events = engine.CountEvents(Ms(from), Ms(to.AddDays(1)));
        return new StepOutcome("staging", true, 0, from, to, null) { Events = events, Writes = false };
    }

    private StepOutcome Step(SqliteConnection connection, string name, DateOnly from, DateOnly to, long seq, DateOnly yesterday, string runId)
    {
        try
        {
            var table = MartTable.Read(connection, name);
            long written = 0;
            List<object?[]> rows = from <= to ? new MartBuilder(engine).Compute(table, from, to, DimensionFilter.None, runId) : [];
            using var transaction = connection.BeginTransaction();
            if (from <= to)
            {
                written = MartWriter.Merge(connection, transaction, table, name, rows, from, to, DimensionFilter.None);
            }
            SaveWatermark(connection, transaction, name, seq, yesterday);
            transaction.Commit();
            return new StepOutcome(name, true, written, from <= to ? from : null, from <= to ? to : null, null);
        }
        catch (Exception e) when (e is SqliteException or InvalidOperationException or IOException)
        {
            return new StepOutcome(name, false, 0, from, to, e.Message);
        }
    }

    /// <summary>The days <paramref name="mart"/> must recompute: after its watermark, and from the earliest day late events touch (less the look-back).</summary>
    private static (DateOnly From, DateOnly To) Range(SqliteConnection connection, string mart, DateOnly? firstDay, DateOnly yesterday)
    {
        if (firstDay is not { } first)
        {
            return (yesterday.AddDays(1), yesterday);
        }
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT through_seq, through_day FROM mart_state WHERE mart = $mart;";
        command.Parameters.AddWithValue("$mart", mart);
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            return (first, yesterday);
        }
        var throughSeq = reader.GetInt64(0);
        var throughDay = DateOnly.ParseExact(reader.GetString(1), "yyyy-MM-dd", CultureInfo.InvariantCulture);
        var from = throughDay.AddDays(1);
        if (EarliestDayAfter(connection, throughSeq) is { } late && late <= throughDay)
        {
            var lookBack = late.AddDays(-LookBackDays);
            from = lookBack < first ? first : lookBack;
        }
        return (from, yesterday);
    }

    private static void SaveWatermark(SqliteConnection connection, SqliteTransaction transaction, string mart, long seq, DateOnly day)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO mart_state (mart, through_seq, through_day) VALUES ($mart, $seq, $day)
            ON CONFLICT (mart) DO UPDATE SET through_seq = excluded.through_seq, through_day = excluded.through_day
            WHERE (through_seq, through_day) IS NOT (excluded.through_seq, excluded.through_day);
            """;
        command.Parameters.AddWithValue("$mart", mart);
        command.Parameters.AddWithValue("$seq", seq);
        command.Parameters.AddWithValue("$day", day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        command.ExecuteNonQuery();
    }

    /// <summary>The UTC day of the oldest stored event, or null when nothing is stored.</summary>
    public static DateOnly? FirstDayOfEvents(SqliteConnection connection) => DayOf(connection, "SELECT min(min_timestamp) FROM event_blocks;", 0);

    /// <summary>The UTC day of the oldest event among those stored after sequence <paramref name="seq"/>.</summary>
    public static DateOnly? EarliestDayAfter(SqliteConnection connection, long seq) =>
        DayOf(connection, "SELECT min(min_timestamp) FROM event_blocks WHERE first_seq + event_count - 1 > $seq;", seq);

    private static DateOnly? DayOf(SqliteConnection connection, string sql, long seq)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$seq", seq);
        return command.ExecuteScalar() is long ms ? DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime) : null;
    }

    public static long Ms(DateOnly day) => new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).ToUnixTimeMilliseconds();
}
