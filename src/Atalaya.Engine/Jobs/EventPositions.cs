using System.Text.Json;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Storage;
using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Jobs;

/// <summary>
/// What the D+1 batch asks of the stored events besides their figures (which it takes from the KPI
/// engine): where the events it is about to reflect end, so that the next run can find the events
/// stored after them (late events), and the days those fall on. The data folder's event log answers
/// with storage sequence numbers (<see cref="StoredEventPositions"/>); a cluster node asks ClickHouse,
/// by insert time (the cluster's <c>ClusterEventPositions</c>). A position is only ever compared with
/// positions of the same kind: each is recorded where the marts are (the data folder or the cluster's PostgreSQL).
/// The quality checks ask the same of the events (when each source last sent, how many it sent), and
/// the quality profile reads the stored events after its own position (<see cref="ReadAfter"/>).
/// </summary>
public interface IEventPositions
{
    /// <summary>A position every event the KPI engine holds now is at or before; read before computing.</summary>
    long Current();

    /// <summary>The UTC day of the oldest stored event, or null when nothing is stored.</summary>
    DateOnly? FirstDay();

    /// <summary>The UTC day of the oldest event among those stored after <paramref name="position"/>, or null when none was.</summary>
    DateOnly? EarliestDayAfter(long position);

    /// <summary>Per source system, when its last stored event was received (Unix milliseconds): the freshness check's question.</summary>
    IReadOnlyList<(string Source, long ReceivedMs)> LastReceived();

    /// <summary>Per source system, the stored events received at or after <paramref name="sinceMs"/>: the quarantine check's accepted side.</summary>
    IReadOnlyDictionary<string, long> ReceivedSince(long sinceMs);

    /// <summary>
    /// What a position counts, so that a position kept in the data folder is never read back as the
    /// other kind: <c>seq</c> (the data folder's storage sequence numbers) or <c>inserted_at</c>
    /// (ClickHouse's insert clock, Unix seconds).
    /// </summary>
    string Kind { get; }

    /// <summary>
    /// Hands every event stored after <paramref name="position"/> to <paramref name="each"/> (its stored
    /// JSON, in no particular order) and returns the position read through: the next read starts
    /// there, and no event is read twice or skipped. The quality profile's incremental pass.
    /// </summary>
    long ReadAfter(long position, Action<JsonElement> each);

    /// <summary>
    /// The figures the store counts by itself per UTC day and country over [<paramref name="from"/>,
    /// <paramref name="to"/>] (a cluster's ClickHouse keeps aggregates beside its events), or null
    /// when it keeps none (the data folder's log): the reconciliation check compares them with the
    /// KPI engine's.
    /// </summary>
    IReadOnlyList<ClickHouse.DailyCount>? DailyCounts(DateOnly from, DateOnly to);

    /// <summary>
    /// The persons reaching each step of a funnel over [<paramref name="fromMs"/>, <paramref name="toMs"/>),
    /// counted by the store itself (a cluster's ClickHouse, with its windowFunnel), or null when it
    /// counts none: the reconciliation check compares them with the KPI engine's funnel.
    /// </summary>
    long[]? FunnelUsers(IReadOnlyList<string> steps, TimeSpan window, long fromMs, long toMs);

    /// <summary>Order-retention cohort cells counted by the store itself (ClickHouse's retention), or null when it counts none.</summary>
    IReadOnlyList<ClickHouse.CohortCount>? RetentionCells(bool weekly, long fromMs, long toMs, TimeZoneInfo tz);
}

/// <summary>The data folder's event log: positions are storage sequence numbers (the embedded hub).</summary>
/// <param name="engine">The KPI engine whose projection <see cref="Current"/> reads; the other questions read the log alone.</param>
public sealed class StoredEventPositions(HubDatabase database, KpiEngine? engine) : IEventPositions
{
    public const string Sequence = "seq";

    /// <summary>The log keeps no aggregates of its own: the KPI engine is its only count.</summary>
    public IReadOnlyList<ClickHouse.DailyCount>? DailyCounts(DateOnly from, DateOnly to) => null;

    public long[]? FunnelUsers(IReadOnlyList<string> steps, TimeSpan window, long fromMs, long toMs) => null;

    public IReadOnlyList<ClickHouse.CohortCount>? RetentionCells(bool weekly, long fromMs, long toMs, TimeZoneInfo tz) => null;

    public string Kind => Sequence;

    public long ReadAfter(long position, Action<JsonElement> each)
    {
        using var connection = database.Connect();
        var through = position;
        foreach (var block in StoredBlocks.After(connection, position))
        {
            using (var document = JsonDocument.Parse(block.Json))
            {
                foreach (var e in document.RootElement.EnumerateArray())
                {
                    each(e);
                }
            }
            through = block.FirstSeq + block.Count - 1;
        }
        return through;
    }

    public long Current() => (engine ?? throw new InvalidOperationException("no KPI engine to read the position of")).Projection.LastSeq;

    public DateOnly? FirstDay()
    {
        using var connection = database.Connect();
        return FirstDay(connection);
    }

    public DateOnly? EarliestDayAfter(long position)
    {
        using var connection = database.Connect();
        return DayOf(connection, "SELECT min(min_timestamp) FROM event_blocks WHERE first_seq + event_count - 1 > $seq;", position);
    }

    public IReadOnlyList<(string Source, long ReceivedMs)> LastReceived()
    {
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT source_system, max(received_at) FROM event_blocks GROUP BY source_system ORDER BY source_system;";
        using var reader = command.ExecuteReader();
        var last = new List<(string, long)>();
        while (reader.Read())
        {
            last.Add((reader.GetString(0), reader.GetInt64(1)));
        }
        return last;
    }

    public IReadOnlyDictionary<string, long> ReceivedSince(long sinceMs)
    {
        using var connection = database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT source_system, sum(event_count) FROM event_blocks WHERE received_at >= $since GROUP BY source_system;";
        command.Parameters.AddWithValue("$since", sinceMs);
        using var reader = command.ExecuteReader();
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        while (reader.Read())
        {
            counts[reader.GetString(0)] = reader.GetInt64(1);
        }
        return counts;
    }

    /// <summary>The UTC day of the oldest event in the data folder, or null when nothing is stored.</summary>
    public static DateOnly? FirstDay(SqliteConnection connection) => DayOf(connection, "SELECT min(min_timestamp) FROM event_blocks;", 0);

    private static DateOnly? DayOf(SqliteConnection connection, string sql, long seq)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$seq", seq);
        return command.ExecuteScalar() is long ms ? DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime) : null;
    }
}
