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
/// </summary>
public interface IEventPositions
{
    /// <summary>A position every event the KPI engine holds now is at or before; read before computing.</summary>
    long Current();

    /// <summary>The UTC day of the oldest stored event, or null when nothing is stored.</summary>
    DateOnly? FirstDay();

    /// <summary>The UTC day of the oldest event among those stored after <paramref name="position"/>, or null when none was.</summary>
    DateOnly? EarliestDayAfter(long position);
}

/// <summary>The data folder's event log: positions are storage sequence numbers (the embedded hub).</summary>
public sealed class StoredEventPositions(HubDatabase database, KpiEngine engine) : IEventPositions
{
    public long Current() => engine.Projection.LastSeq;

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
