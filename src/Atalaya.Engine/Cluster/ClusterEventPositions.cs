using System.Globalization;
using System.Text.Json;
using Atalaya.Engine.ClickHouse;
using Atalaya.Engine.Jobs;

namespace Atalaya.Engine.Cluster;

/// <summary>
/// The marts' event positions on a cluster node (docs/scale-out.md, "Marts on a cluster"): the
/// events are in ClickHouse, so a position is ClickHouse's own clock at the insert
/// (<c>inserted_at</c>, one clock for every writer), in Unix seconds. The node's KPI projection
/// takes an inserted event from the written-events feed about a second later, so the position a run
/// records is <see cref="FeedMargin"/> before ClickHouse's clock: the events inserted in that last
/// minute are looked at again by the next run (a late day recomputed once more), never missed.
/// </summary>
public sealed class ClusterEventPositions : IEventPositions
{
    private readonly ClickHouseClient _clickHouse;
    private readonly Func<bool> _loaded;

    /// <summary>A node's positions: a run waits for the node's projection to load.</summary>
    public ClusterEventPositions(ClusterNode node)
        : this(node.ClickHouse, () => node.Answering)
    {
    }

    /// <param name="loaded">Whether the KPI engine the runs read holds the cluster's events (a run waits for it).</param>
    internal ClusterEventPositions(ClickHouseClient clickHouse, Func<bool> loaded)
    {
        _clickHouse = clickHouse;
        _loaded = loaded;
    }

    /// <summary>How far behind ClickHouse's clock a run's position is recorded: far more than the feed's delay of about a second.</summary>
    public static readonly TimeSpan FeedMargin = TimeSpan.FromMinutes(1);

    /// <summary>How long a run waits for the node's projection to load before it fails (10M events load in about 70 s).</summary>
    public static readonly TimeSpan LoadWait = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How far behind ClickHouse's clock a read of the stored events stops (<see cref="ReadAfter"/>): a row is
    /// stamped when its insert starts and seen when the insert ends, seconds later at most (a node's
    /// projection load waits 2 s for the same reason); the rows of the last seconds are read by the next pass.
    /// </summary>
    public static readonly TimeSpan InsertMargin = TimeSpan.FromSeconds(10);

    public const string InsertClock = "inserted_at";

    public string Kind => InsertClock;

    public long ReadAfter(long position, Action<JsonElement> each)
    {
        // One bound for the whole read, taken first: rows stamped after it wait for the next pass.
        var through = Math.Max(position, Query($"SELECT 1, toUnixTimestamp(now()) - {(long)InsertMargin.TotalSeconds}") ?? 0);
        var sql = $"SELECT payload FROM {EventsSchema.Events} WHERE inserted_at > toDateTime({position}) AND inserted_at <= toDateTime({through})";
        foreach (var row in _clickHouse.QueryAsync(sql, CancellationToken.None).ToBlockingEnumerable())
        {
            using var document = JsonDocument.Parse(row[0]!);
            each(document.RootElement);
        }
        return through;
    }

    /// <summary>Where the cluster's events are, for the jobs that rewrite them there (the personal_fields job).</summary>
    internal ClickHouseClient ClickHouse => _clickHouse;

    public long Current()
    {
        // An empty or half-loaded projection would make empty marts: a run that starts while the node
        // loads (the catch-up at start) waits for the load, as long as a large one takes.
        if (!SpinWait.SpinUntil(_loaded, LoadWait))
        {
            throw new InvalidOperationException($"this node's KPI projection has been loading from ClickHouse for over {LoadWait.TotalMinutes:0} minutes; the marts are built by the next run, once it answers");
        }
        return Query($"SELECT 1, toUnixTimestamp(now()) - {(long)FeedMargin.TotalSeconds}") ?? 0;
    }

    public DateOnly? FirstDay() => Day(Query($"SELECT count(), toUnixTimestamp(min(ts)) FROM {EventsSchema.Events}"));

    public DateOnly? EarliestDayAfter(long position) =>
        Day(Query($"SELECT count(), toUnixTimestamp(min(ts)) FROM {EventsSchema.Events} WHERE inserted_at > toDateTime({position})"));

    public IReadOnlyList<(string Source, long ReceivedMs)> LastReceived() =>
        [.. Rows($"SELECT source_system, toUnixTimestamp(max(received_at)) * 1000 FROM {EventsSchema.Events} GROUP BY source_system ORDER BY source_system")
            .Select(r => (r[0]!, long.Parse(r[1]!, CultureInfo.InvariantCulture)))];

    public IReadOnlyDictionary<string, long> ReceivedSince(long sinceMs) =>
        Rows($"SELECT source_system, count() FROM {EventsSchema.Events} WHERE received_at >= toDateTime({sinceMs / 1000}) GROUP BY source_system")
            .ToDictionary(r => r[0]!, r => long.Parse(r[1]!, CultureInfo.InvariantCulture), StringComparer.Ordinal);

    public IReadOnlyList<DailyCount>? DailyCounts(DateOnly from, DateOnly to) =>
        KpiAggregates.DailyAsync(_clickHouse, from, to, CancellationToken.None).GetAwaiter().GetResult();

    public long[]? FunnelUsers(IReadOnlyList<string> steps, TimeSpan window, long fromMs, long toMs) =>
        AnalysisFigures.FunnelAsync(_clickHouse, steps, (long)window.TotalMilliseconds, fromMs, toMs, CancellationToken.None).GetAwaiter().GetResult();

    public IReadOnlyList<CohortCount>? RetentionCells(bool weekly, long fromMs, long toMs, TimeZoneInfo tz) =>
        AnalysisFigures.RetentionAsync(_clickHouse, weekly, fromMs, toMs, tz, CancellationToken.None).GetAwaiter().GetResult();

    private List<string?[]> Rows(string sql) => _clickHouse.QueryAsync(sql, CancellationToken.None).ToBlockingEnumerable().ToList();

    /// <summary>The second field of a one-row answer whose first field counts the rows it is over; null when that count is 0.</summary>
    private long? Query(string sql)
    {
        var rows = Rows(sql);
        return rows is [var row] && row[0] is { } count && count != "0" ? long.Parse(row[1]!, CultureInfo.InvariantCulture) : null;
    }

    private static DateOnly? Day(long? seconds) => seconds is { } s ? DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeSeconds(s).UtcDateTime) : null;
}
