using System.Globalization;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Config;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Jobs.Marts;
using Atalaya.Engine.Storage;
using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Quality;

/// <summary>
/// The data-quality checks (seed 003's health checks: freshness, nulls, consistency, view sizes;
/// docs/events.md: FX rates not found, schema drift). Each reads the profile's counters, the marts'
/// watermarks, the quarantine or the run record — never the events themselves — and judges what
/// it measures against the environment's limits (<c>quality.*</c> in config/environments).
/// </summary>
/// <param name="jobs">The hub's jobs (<c>JobCatalog</c>), whose last runs the pipeline check judges.</param>
/// <param name="engine">The KPI engine, for the checks that read the order ledger (unknown orders); without it they are skipped.</param>
internal sealed class QualityChecks(HubDatabase database, EventCatalog catalog, EnvironmentConfig config, IReadOnlyList<JobDefinition> jobs, TimeProvider time, Kpi.KpiEngine? engine = null)
{
    /// <summary>Window of the rate checks (seed 003: "nulos en últimos 7 días").</summary>
    public const int RateDays = 7;

    /// <summary>Days before yesterday the volume check compares it with.</summary>
    public const int VolumeHistoryDays = 28;

    /// <summary>Fewer days of history than this and the volume check does not judge.</summary>
    public const int VolumeMinHistoryDays = 7;

    /// <summary>Sources silent for longer than this are taken as retired, not as late.</summary>
    public const int FreshnessSourceDays = 30;

    private const int MaxDriftRows = 50;

    /// <summary>
    /// Where the pipeline and connector checks read the runs: the hub's run rows (on a cluster with
    /// PostgreSQL, every node's runs), by default the data folder's.
    /// </summary>
    public IRunRows Runs { get; init; } = new SqliteRunRows(database);

    /// <summary>
    /// On a node started with <c>--postgres</c>, the cluster's PostgreSQL, whose quarantine a
    /// cluster's collectors write: the quarantine check adds its rejections to the data folder's,
    /// and the dead-letter check reads the cluster's dead letters there.
    /// </summary>
    public Postgres.PostgresState? Shared { get; init; }

    /// <summary>Where the stored events are asked about (when each source last sent, how many it sent): the data folder's log by default, ClickHouse on a cluster node.</summary>
    public IEventPositions Events { get; init; } = new StoredEventPositions(database, engine);

    /// <summary>Where the marts are whose freshness is judged: the data folder by default, the cluster's PostgreSQL on a node started with <c>--postgres</c>.</summary>
    public MartStore Marts { get; init; } = MartStore.Sqlite(database);

    private EnvironmentConfig.QualitySection Limits => config.Quality;

    public IReadOnlyList<QualityResult> Run()
    {
        var now = time.GetUtcNow();
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        using var connection = database.Connect();
        var results = new List<QualityResult>();
        results.AddRange(Freshness(connection, now));
        results.AddRange(Countries(connection, now, today));
        results.AddRange(MartFreshness(connection, today));
        var profile = Profile.Read(connection, today.AddDays(-VolumeHistoryDays - 1));
        results.AddRange(NullRates(profile, today));
        results.AddRange(Volume(profile, today));
        results.AddRange(SchemaDrift(connection, today));
        results.AddRange(Consistency(profile, today));
        results.AddRange(Reconciliation(today));
        results.AddRange(Quarantine(connection, now));
        results.AddRange(Pipeline());
        results.AddRange(ConnectorHealth.Check(Connectors.ConnectorRows.For(database, Shared), Runs, config));
        return results;
    }

    private IEnumerable<QualityResult> Freshness(SqliteConnection connection, DateTimeOffset now)
    {
        var last = Events.LastReceived();
        if (last.Count == 0)
        {
            yield return new QualityResult("freshness", "all", QualityStatus.Skipped, null, Limits.FreshnessWarnHours, Limits.FreshnessFailHours, "hours",
                "No events stored yet: send one (POST /api/events) or load the demo.");
            yield break;
        }
        var nowMs = now.ToUnixTimeMilliseconds();
        foreach (var (source, at) in last.Prepend(("all", last.Max(l => l.ReceivedMs))))
        {
            var hours = Math.Max(0, (nowMs - at) / 3_600_000.0);
            if (source != "all" && hours > FreshnessSourceDays * 24)
            {
                continue;
            }
            var status = QualityResult.Judge(hours, Limits.FreshnessWarnHours, Limits.FreshnessFailHours);
            var when = DateTimeOffset.FromUnixTimeMilliseconds(at).UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
            var who = source == "all" ? "any source" : $"source '{source}'";
            yield return new QualityResult("freshness", source, status, Math.Round(hours, 2), Limits.FreshnessWarnHours, Limits.FreshnessFailHours, "hours",
                status == QualityStatus.Ok ? $"Last event from {who} received {Hours(hours)} ago ({when})."
                : $"No event from {who} for {Hours(hours)} (last {when}): check that it still sends, and its write key (rejections are in the quarantine).");
        }
    }

    /// <summary>Closed days the reconciliation check compares: the last week's.</summary>
    public const int ReconcileDays = 7;

    /// <summary>How long the reconciliation check waits before it looks again at what differed (a node's feed is about a second behind ClickHouse).</summary>
    internal TimeSpan ReconcileRetry { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// On a cluster, every figure of the KPI engine (the node's projection, loaded from ClickHouse and
    /// fed by the written-events exchange) against ClickHouse's own aggregates (ClickHouse/KpiAggregates.cs),
    /// per closed day of the last week and country: a node whose projection lost or doubled events
    /// answers wrongly without any other sign. Differences are looked at again after a moment (an
    /// event in flight); what still differs fails, naming the cells.
    /// </summary>
    internal IEnumerable<QualityResult> Reconciliation(DateOnly today)
    {
        var (from, to) = (today.AddDays(-ReconcileDays), today.AddDays(-1));
        if (engine is null || Compare(from, to) is not { } differences)
        {
            yield break;
        }
        if (differences.Count > 0)
        {
            Thread.Sleep(ReconcileRetry);
            differences = Compare(from, to) ?? [];
        }
        foreach (var metric in ClickHouse.KpiAggregates.Metrics)
        {
            var wrong = differences.Where(d => d.Metric == metric).ToList();
            yield return new QualityResult("reconciliation", metric, wrong.Count == 0 ? QualityStatus.Ok : QualityStatus.Fail, wrong.Count, 1, 1, "cells",
                wrong.Count == 0
                    ? $"{metric}: this node's figures equal ClickHouse's aggregates for every day and country from {from:yyyy-MM-dd} to {to:yyyy-MM-dd}."
                    : $"{metric}: the figures of the node with the data folder {database.DataDirectory} differ from ClickHouse's aggregates in {wrong.Count} day and country cell(s), e.g. "
                        + string.Join("; ", wrong.Take(3).Select(d => $"{d.Day:yyyy-MM-dd} {(d.Country.Length == 0 ? "(no country)" : d.Country)}: node {d.Node:#,0.##}, ClickHouse {d.Stored:#,0.##}"))
                        + ". Restart the node (it loads its figures from ClickHouse again) and see docs/scale-out.md, \"Aggregates in ClickHouse\".");
        }
        foreach (var result in ReconcileAnalyses(today))
        {
            yield return result;
        }
    }

    /// <summary>The funnel the reconciliation check counts both ways: the storefront's path to a purchase, within an hour.</summary>
    internal static readonly string[] ReconciledFunnel = ["page_view", "product_viewed", "add_to_cart", "checkout_started", "purchase_completed"];

    /// <summary>Weeks of weekly order-retention cohorts the reconciliation check compares (ClickHouse's retention takes at most 32 periods).</summary>
    public const int ReconcileWeeks = 12;

    /// <summary>
    /// The analyses that no daily figure covers, both ways: the node's funnel of the last week
    /// against ClickHouse's <c>windowFunnel</c>, and its weekly order-retention cohorts of the last
    /// <see cref="ReconcileWeeks"/> weeks (UTC) against ClickHouse's <c>retention</c>. They read each
    /// person's whole path, so a node that lost, doubled or misordered one person's events differs here
    /// even where the day's counts agree.
    /// </summary>
    private IEnumerable<QualityResult> ReconcileAnalyses(DateOnly today)
    {
        var (from, to) = (today.AddDays(-ReconcileDays), today.AddDays(-1));
        var (cohortsFrom, fromMs, toMs) = (today.AddDays(-7 * ReconcileWeeks), Kpi.Query.PeriodGrid.LocalMidnight(from, TimeZoneInfo.Utc), Kpi.Query.PeriodGrid.LocalMidnight(today, TimeZoneInfo.Utc));
        var cohortsFromMs = Kpi.Query.PeriodGrid.LocalMidnight(cohortsFrom, TimeZoneInfo.Utc);
        List<string>? FunnelDifferences()
        {
            if (Events.FunnelUsers(ReconciledFunnel, TimeSpan.FromHours(1), fromMs, toMs) is not { } stored)
            {
                return null;
            }
            var node = engine!.Funnel(ReconciledFunnel, TimeSpan.FromHours(1), from, to, TimeZoneInfo.Utc, Kpi.Query.DimensionFilter.None, Access.AccessScope.Everything);
            return [.. node.Select((step, k) => (step.Step, Node: step.Users, Stored: stored[k])).Where(s => s.Node != s.Stored)
                .Select(s => $"{s.Step}: node {s.Node:#,0}, ClickHouse {s.Stored:#,0}")];
        }
        List<string>? CohortDifferences()
        {
            if (Events.RetentionCells(true, cohortsFromMs, toMs, TimeZoneInfo.Utc) is not { } stored)
            {
                return null;
            }
            var cells = stored.ToDictionary(c => (c.Cohort, c.PeriodsSinceFirst), c => (Node: 0L, Stored: c.Users));
            foreach (var cell in engine!.Retention(true, cohortsFrom, to, TimeZoneInfo.Utc, Kpi.Query.DimensionFilter.None, Access.AccessScope.Everything))
            {
                var key = (cell.Cohort, cell.PeriodsSinceFirst);
                cells[key] = (cell.Users, cells.TryGetValue(key, out var c) ? c.Stored : 0);
            }
            return [.. cells.Where(c => c.Value.Node != c.Value.Stored).OrderBy(c => c.Key.Cohort, StringComparer.Ordinal).ThenBy(c => c.Key.PeriodsSinceFirst)
                .Select(c => $"cohort {c.Key.Cohort} +{c.Key.PeriodsSinceFirst} weeks: node {c.Value.Node:#,0}, ClickHouse {c.Value.Stored:#,0}")];
        }
        var checks = new (string Subject, string What, Func<List<string>?> Differences)[]
        {
            ("funnel", $"funnel {string.Join(" → ", ReconciledFunnel)} (1 h window) from {from:yyyy-MM-dd} to {to:yyyy-MM-dd}", FunnelDifferences),
            ("retention", $"weekly order-retention cohorts from {cohortsFrom:yyyy-MM-dd} to {to:yyyy-MM-dd}", CohortDifferences),
        };
        foreach (var (subject, what, differences) in checks)
        {
            if (engine is null || differences() is not { } wrong)
            {
                continue;
            }
            if (wrong.Count > 0)
            {
                Thread.Sleep(ReconcileRetry);
                wrong = differences() ?? [];
            }
            yield return new QualityResult("reconciliation", subject, wrong.Count == 0 ? QualityStatus.Ok : QualityStatus.Fail, wrong.Count, 1, 1,
                subject == "funnel" ? "steps" : "cells",
                wrong.Count == 0
                    ? $"{subject}: this node's {what} equals ClickHouse's own count of its events."
                    : $"{subject}: the {what} of the node with the data folder {database.DataDirectory} differs from ClickHouse's own count in {wrong.Count} "
                        + $"{(subject == "funnel" ? "step(s)" : "cell(s)")}, e.g. {string.Join("; ", wrong.Take(3))}"
                        + ". Restart the node (it loads its figures from ClickHouse again) and see docs/scale-out.md, \"Aggregates in ClickHouse\".");
        }
    }

    /// <summary>
    /// The cells where the engine and the store's aggregates differ, or null when the store keeps
    /// none. Counts must be equal; money (gmv) may differ by less than half a cent, since the engine
    /// adds floating-point amounts and ClickHouse's figure is the exact decimal sum.
    /// </summary>
    private List<(string Metric, DateOnly Day, string Country, decimal Node, decimal Stored)>? Compare(DateOnly from, DateOnly to)
    {
        if (Events.DailyCounts(from, to) is not { } stored)
        {
            return null;
        }
        var metrics = ClickHouse.KpiAggregates.Metrics.Select(m => Kpi.KpiIds.TryParse(m, out var id) ? id : throw new InvalidOperationException(m)).ToList();
        var answer = engine!.Query(new Kpi.Query.KpiQuery(metrics, from, to, Kpi.Query.Aggregate.Daily, TimeZoneInfo.Utc, Kpi.Query.DimensionFilter.None,
            [Dimension.Country], Access.AccessScope.Everything, int.MaxValue));
        var cells = new Dictionary<(string, DateOnly, string), (decimal Node, decimal Stored)>();
        foreach (var row in answer.Rows)
        {
            if (row.Value is { } value && value != 0)
            {
                var day = DateOnly.ParseExact(row.Period, "yyyy-MM-dd", CultureInfo.InvariantCulture);
                // A figure past decimal's range (never a real count or amount) is kept as the largest decimal, so it differs.
                cells[(Kpi.KpiIds.Name(row.Metric), day, row.Group[0] ?? "")] = (Math.Abs(value) < 1e27 ? (decimal)value : decimal.MaxValue, 0);
            }
        }
        foreach (var count in stored)
        {
            var key = (count.Metric, count.Day, count.Country);
            cells[key] = (cells.TryGetValue(key, out var cell) ? cell.Node : 0, count.Value);
        }
        return [.. cells.Where(c => Math.Abs(c.Value.Node - c.Value.Stored) >= 0.005m).OrderBy(c => c.Key.Item2).ThenBy(c => c.Key.Item3, StringComparer.Ordinal)
            .Select(c => (c.Key.Item1, c.Key.Item2, c.Key.Item3, c.Value.Node, c.Value.Stored))];
    }

    private IEnumerable<QualityResult> MartFreshness(SqliteConnection connection, DateOnly today)
    {
        var yesterday = today.AddDays(-1);
        var first = Events.FirstDay();
        if (first is not { } firstDay || firstDay > yesterday)
        {
            yield return new QualityResult("mart_freshness", "all", QualityStatus.Skipped, null, Limits.MartDaysBehindWarn, Limits.MartDaysBehindFail, "days",
                "No events before today: the marts hold closed days only.");
            yield break;
        }
        foreach (var mart in MartBuilder.Names)
        {
            var (through, rows, maxDay) = Marts.Run(c => (
                Scalar(c, "SELECT through_day FROM mart_state WHERE mart = @p;", mart) as string,
                Convert.ToInt64(Scalar(c, $"SELECT count(*) FROM {mart};", null), CultureInfo.InvariantCulture),
                Scalar(c, $"SELECT max(date) FROM {mart};", null) as string));
            if (through is null)
            {
                yield return new QualityResult("mart_freshness", mart, QualityStatus.Fail, null, Limits.MartDaysBehindWarn, Limits.MartDaysBehindFail, "days",
                    $"{mart} was never built ({rows:N0} rows): run `atalaya jobs run daily_batch` or POST /api/jobs/daily_batch/run.");
                continue;
            }
            var behind = Math.Max(0, yesterday.DayNumber - DateOnly.ParseExact(through, "yyyy-MM-dd", CultureInfo.InvariantCulture).DayNumber);
            var status = QualityResult.Judge(behind, Limits.MartDaysBehindWarn, Limits.MartDaysBehindFail);
            var facts = $"{rows:N0} rows, last day with rows {maxDay ?? "none"}, complete through {through}";
            if (rows == 0)
            {
                status = QualityStatus.Fail;
                facts += "; empty although events exist";
            }
            yield return new QualityResult("mart_freshness", mart, status, behind, Limits.MartDaysBehindWarn, Limits.MartDaysBehindFail, "days",
                status == QualityStatus.Ok ? $"{mart}: {facts}."
                : $"{mart}: {behind} days behind yesterday ({facts}); see GET /api/runs?job=daily_batch for failures, then run daily_batch.");
        }
    }

    private IEnumerable<QualityResult> NullRates(Profile profile, DateOnly today)
    {
        var from = today.AddDays(-(RateDays - 1));
        var money = catalog.Types.Where(t => t.Monetary).Select(t => t.Type).ToHashSet(StringComparer.Ordinal);
        (string Subject, string What, long Missing, long Of, string Fix)[] rates =
        [
            ("purchase_completed.user_key", "orders without user_id or anonymous_id", profile.Sum(from, today, Measure.NoUser, t => t == "purchase_completed"),
                profile.Sum(from, today, Measure.Events, t => t == "purchase_completed"), "new/returning customers, LTV and retention cannot count them; send user_id (or at least anonymous_id) with purchases"),
            ("page_view.session_id", "page views without session_id", profile.Sum(from, today, Measure.NoSession, t => t == "page_view"),
                profile.Sum(from, today, Measure.Events, t => t == "page_view"), "they are in no session, bounce or funnel figure; send session_id"),
            ("store_events.country", "events naming a store without a country", profile.Sum(from, today, Measure.NoCountry, _ => true),
                profile.Sum(from, today, Measure.StoreRef, _ => true), "their store was never registered: send store_created for it (country, hub, zone, category)"),
            ("money_events.fx_rate", "monetary events without an FX rate", profile.Sum(from, today, Measure.FxMissing, money.Contains),
                profile.Sum(from, today, Measure.Events, money.Contains), "add the missing rates with `atalaya fx import` (events already stored keep their flag) or send fx_rate_to_reporting"),
        ];
        foreach (var (subject, what, missing, of, fix) in rates)
        {
            if (of == 0)
            {
                yield return new QualityResult("null_rate", subject, QualityStatus.Skipped, null, Limits.NullRateWarnPct, Limits.NullRateFailPct, "%",
                    $"Nothing to judge: no {what[..what.IndexOf(" with", StringComparison.Ordinal)]} in the last {RateDays} days.");
                continue;
            }
            var pct = 100.0 * missing / of;
            var status = QualityResult.Judge(pct, Limits.NullRateWarnPct, Limits.NullRateFailPct);
            yield return new QualityResult("null_rate", subject, status, Math.Round(pct, 3), Limits.NullRateWarnPct, Limits.NullRateFailPct, "%",
                $"{missing:N0} of {of:N0} {what} in the last {RateDays} days ({pct.ToString("0.##", CultureInfo.InvariantCulture)} %)"
                + (missing == 0 ? "." : $": {fix}."));
        }
    }

    private IEnumerable<QualityResult> Volume(Profile profile, DateOnly today)
    {
        var yesterday = today.AddDays(-1);
        var subjects = new List<(string Subject, Func<string, string, bool> Match)> { ("all", (_, _) => true) };
        subjects.AddRange(profile.Sources.Select(s => ($"source:{s}", (Func<string, string, bool>)((source, _) => source == s))));
        // Per catalog event type: tracking that breaks for one event (checkout, say) hides in the total.
        subjects.AddRange(profile.Types.Where(t => catalog.TryGet(t, out _))
            .Select(t => ($"event_type:{t}", (Func<string, string, bool>)((_, type) => type == t))));
        foreach (var (subject, match) in subjects)
        {
            if (VolumeFinding(subject, day => profile.Sum(day, day, Measure.Events, match), yesterday) is { } finding)
            {
                yield return finding;
            }
        }
    }

    /// <summary>
    /// The volume check of one subject: yesterday's events against the days before. Null when the
    /// subject is too young or too small to judge (the total says why it is too young).
    /// </summary>
    private QualityResult? VolumeFinding(string subject, Func<DateOnly, long> eventsOn, DateOnly yesterday)
    {
        var daily = new List<long>();
        DateOnly? started = null;
        for (var day = yesterday.AddDays(-VolumeHistoryDays); day < yesterday; day = day.AddDays(1))
        {
            var n = eventsOn(day);
            // Days before the subject's first event are not history, they are before its time.
            if (started is null && n == 0)
            {
                continue;
            }
            started ??= day;
            daily.Add(n);
        }
        var y = eventsOn(yesterday);
        var mean = daily.Count == 0 ? 0 : daily.Average();
        if (daily.Count < VolumeMinHistoryDays)
        {
            // A subject too young to judge is left out, except the total, which says why.
            return subject == "all"
                ? new QualityResult("volume", subject, QualityStatus.Skipped, null, Limits.VolumeZWarn, Limits.VolumeZFail, "z",
                    $"Only {daily.Count} days of events before yesterday; the volume check needs {VolumeMinHistoryDays}.")
                : null;
        }
        if (mean < 10 && y < 10)
        {
            return null; // Too few events a day for a meaningful deviation.
        }
        var sd = Math.Sqrt(daily.Sum(n => (n - mean) * (n - mean)) / (daily.Count - 1));
        // Counts vary at least as a Poisson count does: a perfectly steady history must not make
        // a difference of a few events look like many standard deviations.
        var spread = Math.Max(sd, Math.Sqrt(mean));
        var z = (y - mean) / spread;
        var status = y == 0 ? QualityStatus.Fail : QualityResult.Judge(Math.Abs(z), Limits.VolumeZWarn, Limits.VolumeZFail);
        var facts = $"{y:N0} events on {yesterday:yyyy-MM-dd} against {mean:N0} ± {spread:N0} a day over the {daily.Count} days before";
        return new QualityResult("volume", subject, status, Math.Round(z, 2), Limits.VolumeZWarn, Limits.VolumeZFail, "z",
            status == QualityStatus.Ok ? facts + "."
            : y == 0 ? $"No events on {yesterday:yyyy-MM-dd} for {subject} ({mean:N0} a day before): data is missing; check the sender and the quarantine."
            : $"{facts}: an unusual {(z < 0 ? "drop" : "rise")}; check the sender (a drop) or duplicates and bots (a rise).");
    }

    /// <summary>
    /// Freshness and volume per country (subjects <c>country:MX</c>, and <c>country:MX/event_type:T</c>
    /// for a type whose volume alone is off): what a country's figures are computed from, so that an
    /// answer scoped to one country can say whether its own feed is healthy. Countries silent for
    /// longer than <see cref="FreshnessSourceDays"/> are taken as retired.
    /// </summary>
    private IEnumerable<QualityResult> Countries(SqliteConnection connection, DateTimeOffset now, DateOnly today)
    {
        var rows = new List<(DateOnly Day, string Country, string Type, long Events, long Last)>();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT day, country, event_type, events, last_received_at FROM dq_country_profile WHERE day >= $from;";
            command.Parameters.AddWithValue("$from", today.AddDays(-FreshnessSourceDays - 1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                rows.Add((DateOnly.ParseExact(reader.GetString(0), "yyyy-MM-dd", CultureInfo.InvariantCulture), reader.GetString(1), reader.GetString(2), reader.GetInt64(3), reader.GetInt64(4)));
            }
        }
        var nowMs = now.ToUnixTimeMilliseconds();
        var yesterday = today.AddDays(-1);
        foreach (var country in rows.GroupBy(r => r.Country).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var last = country.Max(r => r.Last);
            var hours = Math.Max(0, (nowMs - last) / 3_600_000.0);
            if (hours > FreshnessSourceDays * 24)
            {
                continue;
            }
            var since = DateTimeOffset.FromUnixTimeMilliseconds(last);
            var status = QualityResult.Judge(hours, Limits.FreshnessWarnHours, Limits.FreshnessFailHours);
            var when = since.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
            yield return new QualityResult("freshness", $"country:{country.Key}", status, Math.Round(hours, 2), Limits.FreshnessWarnHours, Limits.FreshnessFailHours, "hours",
                status == QualityStatus.Ok ? $"Last event of country {country.Key} received {Hours(hours)} ago ({when})."
                : $"No event of country {country.Key} for {Hours(hours)} (last {when}): check that its apps and stores still send.")
            {
                Country = country.Key,
                Since = since,
            };
            var byDay = country.GroupBy(r => r.Day).ToDictionary(g => g.Key, g => g.Sum(r => r.Events));
            if (VolumeFinding($"country:{country.Key}", day => byDay.GetValueOrDefault(day), yesterday) is { } total)
            {
                yield return total with { Country = country.Key };
            }
            foreach (var type in country.Select(r => r.Type).Distinct().Where(t => catalog.TryGet(t, out _)).Order(StringComparer.Ordinal))
            {
                var ofType = country.Where(r => r.Type == type).GroupBy(r => r.Day).ToDictionary(g => g.Key, g => g.Sum(r => r.Events));
                // Only the types that are off: an ok row per country and type would bury the findings.
                if (VolumeFinding($"country:{country.Key}/event_type:{type}", day => ofType.GetValueOrDefault(day), yesterday) is { Status: QualityStatus.Warn or QualityStatus.Fail } finding)
                {
                    yield return finding with { Country = country.Key };
                }
            }
        }
    }

    private IEnumerable<QualityResult> SchemaDrift(SqliteConnection connection, DateOnly today)
    {
        var since = today.AddDays(-FreshnessSourceDays).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var drift = new List<(string Type, string Field, string First, string Last, long Events)>();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT event_type, field, first_seen, last_seen, events FROM dq_schema_seen WHERE last_seen >= $since ORDER BY events DESC, event_type, field;";
            command.Parameters.AddWithValue("$since", since);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var (type, field) = (reader.GetString(0), reader.GetString(1));
                // Judged against today's catalog: a field declared since it was seen is no longer drift.
                var known = catalog.TryGet(type, out var rule) && (field.Length == 0
                    || (field.StartsWith("properties.", StringComparison.Ordinal) && QualityProfile.Declared(rule, field["properties.".Length..])));
                if (!known)
                {
                    drift.Add((type, field, reader.GetString(2), reader.GetString(3), reader.GetInt64(4)));
                }
            }
        }
        if (drift.Count == 0)
        {
            yield return new QualityResult("schema_drift", $"catalog v{catalog.Version}", QualityStatus.Ok, 0, null, null, "fields",
                $"Every event of the last {FreshnessSourceDays} days fits catalog version {catalog.Version}.");
            yield break;
        }
        foreach (var (type, field, first, last, events) in drift.Take(MaxDriftRows))
        {
            var what = field.Length == 0 ? $"Unknown event type '{type}'" : $"'{field}' is not in the catalog for {type}";
            var fix = field.Length == 0 ? "stored as a custom event, left out of the KPIs; add it to the catalog (a new version) if it matters"
                : "stored as sent but not validated; declare it in the catalog (a new version) or stop sending it";
            yield return new QualityResult("schema_drift", field.Length == 0 ? type : $"{type}.{field}", QualityStatus.Warn, events, null, null, "events",
                $"{what}: {events:N0} events from {first} to {last}; {fix}.");
        }
        if (drift.Count > MaxDriftRows)
        {
            yield return new QualityResult("schema_drift", "(more)", QualityStatus.Warn, drift.Count - MaxDriftRows, null, null, "fields",
                $"{drift.Count - MaxDriftRows} more drifting fields; see the dq_schema_seen table.");
        }
    }

    private IEnumerable<QualityResult> Consistency(Profile profile, DateOnly today)
    {
        var from = today.AddDays(-(RateDays - 1));
        var orders = profile.Sum(from, today, Measure.Events, t => t is "purchase_completed" or "order_status_changed");
        var bad = profile.Sum(from, today, Measure.Inconsistent, _ => true);
        var all = profile.Sum(from, today, Measure.Events, _ => true);
        var clamped = profile.Sum(from, today, Measure.Clamped, _ => true);
        var (statuses, unknown) = engine?.FinalStatusesOfUnknownOrders(
            new DateTimeOffset(from.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).ToUnixTimeMilliseconds(),
            new DateTimeOffset(today.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).ToUnixTimeMilliseconds()) ?? (0, 0);
        foreach (var (subject, n, of, what, fix) in new[]
        {
            ("unknown_orders", unknown, statuses, "final order statuses (ENTREGADO, CANCELADO, REEMBOLSADO) of orders with no purchase_completed",
                "they still count in delivered, cancelled and refunded figures; send the orders' purchase_completed events (or look for them in the quarantine)"),
            ("order_amounts", bad, orders, "orders and order snapshots whose amounts do not add up",
                "a purchase's subtotal must be the sum of its lines, a snapshot's total subtotal + delivery_fee − discount (+ tax), its commission at most the total"),
            ("future_timestamps", clamped, all, "events more than 24 h in the future (clamped to their arrival)",
                "the sender's clock is wrong, or it sends local time without an offset"),
        })
        {
            if (of == 0)
            {
                yield return new QualityResult("consistency", subject, QualityStatus.Skipped, null, Limits.ConsistencyWarnPct, Limits.ConsistencyFailPct, "%",
                    $"Nothing to judge in the last {RateDays} days.");
                continue;
            }
            var pct = 100.0 * n / of;
            var status = QualityResult.Judge(pct, Limits.ConsistencyWarnPct, Limits.ConsistencyFailPct);
            yield return new QualityResult("consistency", subject, status, Math.Round(pct, 3), Limits.ConsistencyWarnPct, Limits.ConsistencyFailPct, "%",
                $"{n:N0} of {of:N0} {what} in the last {RateDays} days" + (n == 0 ? "." : $": {fix}."));
        }
    }

    private IEnumerable<QualityResult> Quarantine(SqliteConnection connection, DateTimeOffset now)
    {
        var since = now.AddHours(-24).ToUnixTimeMilliseconds();
        var accepted = Events.ReceivedSince(since);
        // Rejections past the quarantine bound are counted in quarantine_overflow, not stored one by one.
        // The same statement on both databases; a cluster's collectors quarantine in PostgreSQL
        // (Cluster/SharedQuarantine.cs), the embedded hub in the data folder: the check counts both.
        const string Rejected = """
            SELECT source_system, CAST(sum(n) AS bigint) FROM (
                SELECT source_system, count(*) AS n FROM failed_events WHERE received_at >= @p GROUP BY source_system
                UNION ALL
                SELECT source_system, sum(rejected - kept) FROM quarantine_overflow WHERE received_at >= @p GROUP BY source_system) AS r
            GROUP BY source_system;
            """;
        var rejected = Counts(connection, Rejected, since);
        if (Shared is not null)
        {
            foreach (var (source, n) in Shared.Run(c => Counts(c, Rejected, since)))
            {
                rejected[source] = rejected.GetValueOrDefault(source) + n;
            }
        }
        var sources = accepted.Keys.Union(rejected.Keys).Order(StringComparer.Ordinal).ToList();
        if (sources.Count == 0)
        {
            yield return new QualityResult("quarantine", "all", QualityStatus.Skipped, null, Limits.QuarantineWarnPct, Limits.QuarantineFailPct, "%",
                "No events received in the last 24 h.");
            yield break;
        }
        foreach (var source in sources.Prepend("all"))
        {
            var ok = source == "all" ? accepted.Values.Sum() : accepted.GetValueOrDefault(source);
            var bad = source == "all" ? rejected.Values.Sum() : rejected.GetValueOrDefault(source);
            var pct = 100.0 * bad / (ok + bad);
            var status = QualityResult.Judge(pct, Limits.QuarantineWarnPct, Limits.QuarantineFailPct);
            yield return new QualityResult("quarantine", source, status, Math.Round(pct, 3), Limits.QuarantineWarnPct, Limits.QuarantineFailPct, "%",
                $"{bad:N0} of {ok + bad:N0} events received in the last 24 h were rejected"
                + (bad == 0 ? "." : " into the quarantine (failed_events, with each reason): fix the sender or the catalog, then resend them."));
        }
    }

    private IEnumerable<QualityResult> Pipeline()
    {
        foreach (var job in jobs.Where(j => j.Scheduled && j.Name != QualityJob.Name))
        {
            var last = Runs.Query(new RunFilter(Job: job.Name, Limit: 1)).FirstOrDefault();
            if (last is null)
            {
                yield return new QualityResult("pipeline", job.Name, QualityStatus.Skipped, null, null, null, "",
                    $"{job.Name} has not run yet (schedule {config.Schedules[job.ScheduleKey]} UTC).");
                continue;
            }
            var status = last.Status switch
            {
                RunStatus.Failed => QualityStatus.Fail,
                RunStatus.Partial => QualityStatus.Warn,
                _ => QualityStatus.Ok,
            };
            yield return new QualityResult("pipeline", job.Name, status, null, null, null, "",
                $"Last run {last.RunId} started {PipelineRuns.Iso(last.StartTime)}: {PipelineRuns.StatusName(last.Status)}"
                + (last.ErrorMessage is { } e ? $" — {e}" : "") + ".");
        }
    }

    private static string Hours(double hours) =>
        hours < 1 ? $"{Math.Round(hours * 60):0} min" : hours < 48 ? $"{hours:0.#} h" : $"{hours / 24:0.#} days";

    private static object? Scalar(System.Data.Common.DbConnection connection, string sql, string? p)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        if (p is not null)
        {
            PortableSql.Add(command, "@p", p);
        }
        return command.ExecuteScalar();
    }

    private static long Long(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static Dictionary<string, long> Counts(System.Data.Common.DbConnection connection, string sql, long p)
    {
        using var command = PortableSql.Command(connection, sql, ("p", p));
        using var reader = command.ExecuteReader();
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        while (reader.Read())
        {
            counts[reader.GetString(0)] = reader.GetInt64(1);
        }
        return counts;
    }

    /// <summary>The profile's counters from a day on, in memory (a few thousand rows).</summary>
    private sealed class Profile
    {
        private readonly List<(DateOnly Day, string Source, string Type, string Measure, long Count)> _rows = [];

        public IReadOnlyList<string> Sources => [.. _rows.Select(r => r.Source).Distinct().Order(StringComparer.Ordinal)];

        public IReadOnlyList<string> Types => [.. _rows.Select(r => r.Type).Distinct().Order(StringComparer.Ordinal)];

        public static Profile Read(SqliteConnection connection, DateOnly from)
        {
            var profile = new Profile();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT day, source_system, event_type, measure, count FROM dq_profile WHERE day >= $from;";
            command.Parameters.AddWithValue("$from", from.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                profile._rows.Add((DateOnly.ParseExact(reader.GetString(0), "yyyy-MM-dd", CultureInfo.InvariantCulture),
                    reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt64(4)));
            }
            return profile;
        }

        public long Sum(DateOnly from, DateOnly to, string measure, Func<string, bool> type) =>
            _rows.Where(r => r.Measure == measure && r.Day >= from && r.Day <= to && type(r.Type)).Sum(r => r.Count);

        public long Sum(DateOnly from, DateOnly to, string measure, Func<string, string, bool> match) =>
            _rows.Where(r => r.Measure == measure && r.Day >= from && r.Day <= to && match(r.Source, r.Type)).Sum(r => r.Count);
    }
}
