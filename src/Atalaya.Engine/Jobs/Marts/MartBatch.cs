using System.Data.Common;
using System.Globalization;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Kpi.Query;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Storage;
using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Jobs.Marts;

/// <summary>
/// The D+1 batch (seed 001 "Procesamiento Batch"): brings every mart up to yesterday (UTC).
/// Each mart keeps a watermark (<c>mart_state</c>: the last event position, <see cref="IEventPositions"/>,
/// and the last day it reflects), where the marts are (<see cref="MartStore"/>: the data folder, or
/// on a cluster PostgreSQL, whichever node runs the batch). A run recomputes, per mart, the closed days after its watermark plus the days that
/// events stored since then touch (late events), and writes them with MERGE semantics in one
/// transaction with the new watermark: a run that changes nothing writes nothing, and a run
/// that fails leaves the mart and its watermark as they were, for the next run to redo.
/// </summary>
internal sealed class MartBatch(MartStore store, KpiEngine engine, IEventPositions events)
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
        var position = events.Current();
        var first = events.FirstDay();
        var steps = new List<StepOutcome>();
        var staged = false;
        foreach (var name in marts ?? MartBuilder.Names)
        {
            StepOutcome step;
            DateOnly from = yesterday.AddDays(1), to = yesterday;
            try
            {
                (from, to) = Range(name, first, yesterday);
                if (!staged && from <= to)
                {
                    steps.Add(Staging(from, to));
                    staged = true;
                }
                step = Step(name, from, to, position, yesterday, runId);
            }
            catch (Exception e) when (e is DbException or InvalidOperationException or IOException or StateUnavailableException)
            {
                // The mart and its watermark stay as they were (its transaction did not commit): the next run redoes it.
                step = new StepOutcome(name, false, 0, from, to, e.Message);
            }
            steps.Add(step);
        }
        return steps;
    }

    /// <summary>The staging step: the range's validated, deduplicated events as the KPI engine holds them (SQL: the staging_events view).</summary>
    private StepOutcome Staging(DateOnly from, DateOnly to)
    {
        var count = engine.CountEvents(Ms(from), Ms(to.AddDays(1)));
        return new StepOutcome("staging", true, 0, from, to, null) { Events = count, Writes = false };
    }

    private StepOutcome Step(string name, DateOnly from, DateOnly to, long position, DateOnly yesterday, string runId) => store.Run(connection =>
    {
        var table = store.Table(connection, name);
        long written = 0;
        List<object?[]> rows = from <= to ? new MartBuilder(engine).Compute(table, from, to, DimensionFilter.None, runId) : [];
        using var transaction = connection.BeginTransaction();
        if (from <= to)
        {
            written = MartWriter.Merge(store, connection, transaction, table, name, rows, from, to, DimensionFilter.None);
        }
        SaveWatermark(connection, transaction, name, position, yesterday);
        transaction.Commit();
        return new StepOutcome(name, true, written, from <= to ? from : null, from <= to ? to : null, null);
    });

    /// <summary>The days <paramref name="mart"/> must recompute: after its watermark, and from the earliest day late events touch (less the look-back).</summary>
    private (DateOnly From, DateOnly To) Range(string mart, DateOnly? firstDay, DateOnly yesterday)
    {
        if (firstDay is not { } first)
        {
            return (yesterday.AddDays(1), yesterday);
        }
        var watermark = store.Run(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT through_seq, through_day FROM mart_state WHERE mart = @mart;";
            PortableSql.Add(command, "@mart", mart);
            using var reader = command.ExecuteReader();
            return reader.Read() ? (Position: reader.GetInt64(0), Day: reader.GetString(1)) : ((long Position, string Day)?)null;
        });
        if (watermark is not { } through)
        {
            return (first, yesterday);
        }
        var throughDay = DateOnly.ParseExact(through.Day, "yyyy-MM-dd", CultureInfo.InvariantCulture);
        var from = throughDay.AddDays(1);
        if (events.EarliestDayAfter(through.Position) is { } late && late <= throughDay)
        {
            var lookBack = late.AddDays(-LookBackDays);
            from = lookBack < first ? first : lookBack;
        }
        return (from, yesterday);
    }

    private void SaveWatermark(DbConnection connection, DbTransaction transaction, string mart, long position, DateOnly day)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"""
            INSERT INTO mart_state (mart, through_seq, through_day) VALUES (@mart, @seq, @day)
            ON CONFLICT (mart) DO UPDATE SET through_seq = excluded.through_seq, through_day = excluded.through_day
            WHERE (mart_state.through_seq, mart_state.through_day) {store.IsDistinctFrom} (excluded.through_seq, excluded.through_day);
            """;
        PortableSql.Add(command, "@mart", mart);
        PortableSql.Add(command, "@seq", position);
        PortableSql.Add(command, "@day", day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        command.ExecuteNonQuery();
    }

    /// <summary>The UTC day of the oldest event in the data folder, or null when nothing is stored.</summary>
    public static DateOnly? FirstDayOfEvents(SqliteConnection connection) => StoredEventPositions.FirstDay(connection);

    public static long Ms(DateOnly day) => new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).ToUnixTimeMilliseconds();
}
