using Atalaya.Engine.Access;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Config;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Kpi.Query;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Quality;

/// <summary>The data-quality state of an answer, from best to worst; unchecked before the first quality run.</summary>
public enum HealthState
{
    Fresh,
    Stale,
    Failing,
    Unchecked,
}

/// <summary>One finding that concerns an answer: the check, its subject, the country it is about (null: the whole hub), and the answer's KPIs it touches.</summary>
public sealed record HealthFinding(string Check, string Subject, string? Country, QualityStatus Status, string Detail, DateTimeOffset? Since, IReadOnlyList<string> Metrics);

/// <summary>
/// What an answer's figures were computed from, as the newest data-quality run found it: <c>failing</c>
/// when a check that concerns them fails, else <c>stale</c> (since <see cref="StaleSince"/>) when
/// their feed is late, else <c>fresh</c>; <see cref="Findings"/> lists every concerning finding at
/// warn or fail (a warning is listed but does not change the state).
/// </summary>
public sealed record FigureHealth(HealthState State, DateTimeOffset? CheckedAt, string? RunId, DateTimeOffset? StaleSince, IReadOnlyList<HealthFinding> Findings)
{
    public static string Name(HealthState state) => state switch
    {
        HealthState.Fresh => "fresh",
        HealthState.Stale => "stale",
        HealthState.Failing => "failing",
        _ => "unchecked",
    };
}

/// <summary>
/// Figures that know their own health (docs/quality.md): every KPI answer and report carries the
/// state of the data it was computed from. Nothing is checked per request: the newest stored
/// quality run (<c>dq_results</c>, written by the <c>dq_health</c> job) is read once and kept until
/// a newer run appears, so a call costs one indexed lookup of the newest run id plus a filter over
/// its few hundred findings in memory.
/// <para>
/// Which findings concern an answer: a finding about a country (per-country freshness and volume)
/// concerns only callers whose scope and filters include that country, so a country lead or a
/// vendor never sees another country's problems; hub-wide freshness and volume (all, per source,
/// per event type) concern only callers who see every country, since scoped ones have their own
/// countries' checks; every other hub-wide finding concerns everyone. Among the KPIs, a finding
/// about event types (volume of a type, null rates, schema drift, order consistency, webhook dead
/// letters) concerns the KPIs that read those types (the dictionary's <c>events</c>); connector
/// findings (a connector failing, its dead letters, its pipeline) concern the connector KPIs; the
/// rest concern every event KPI. The marts' freshness concerns the marts, not live answers.
/// </para>
/// <para>
/// The findings are read from <paramref name="results"/> (the data folder's by default; a node
/// started with <c>--postgres</c> reads the cluster's). While PostgreSQL cannot be reached the last
/// run read is kept: an answer's health may be a moment old, but the answer is not refused for it.
/// </para>
/// </summary>
public sealed class FigureHealthReader(HubDatabase database, KpiDictionary dictionary, EventCatalog catalog, KpiEngine? engine = null, IQualityRows? results = null)
{
    private readonly IQualityRows _results = results ?? new SqliteQualityRows(database);

    private static readonly string[] PaymentEvents = ["payment_succeeded", "payment_failed", "order_status_changed"];

    private const long RecheckMilliseconds = 1000;

    private readonly Lock _gate = new();
    private Run? _latest;
    private long? _lookedUpAt;
    private long _generation;

    private sealed record Prepared(QualityResult Result, IReadOnlyList<string>? Types, bool Connector, bool Marts);

    /// <summary>A stored run's findings at warn or fail, each prepared.</summary>
    private sealed record Run(string RunId, DateTimeOffset CheckedAt, IReadOnlyList<Prepared> Findings);

    /// <summary>The health of figures of <paramref name="metrics"/> (dictionary ids) seen through <paramref name="scope"/> and <paramref name="filter"/>.</summary>
    public FigureHealth For(IEnumerable<string> metrics, AccessScope scope, DimensionFilter filter)
    {
        if (Latest() is not { } run)
        {
            return new FigureHealth(HealthState.Unchecked, null, null, null, []);
        }
        var kpis = metrics.Distinct().Select(id => dictionary.TryGet(id, out var d) ? d : null).OfType<KpiDefinition>().ToList();
        var countries = Countries(scope, filter);
        var findings = new List<HealthFinding>();
        foreach (var p in run.Findings)
        {
            var r = p.Result;
            if (!Concerns(r, countries))
            {
                continue;
            }
            var touched = kpis.Where(k => Concerns(p, k)).Select(k => k.Id).ToList();
            if (touched.Count > 0)
            {
                findings.Add(new HealthFinding(r.Check, r.Subject, r.Country, r.Status, r.Message, r.Since, touched));
            }
        }
        var late = findings.Where(f => f.Check == "freshness").ToList();
        var state = findings.Any(f => f.Check != "freshness" && f.Status == QualityStatus.Fail) ? HealthState.Failing
            : late.Count > 0 ? HealthState.Stale : HealthState.Fresh;
        var since = late.Select(f => f.Since ?? run.CheckedAt).DefaultIfEmpty().Min();
        return new FigureHealth(state, run.CheckedAt, run.RunId, late.Count > 0 ? since : null,
            [.. findings.OrderByDescending(f => f.Status).ThenBy(f => f.Check, StringComparer.Ordinal).ThenBy(f => f.Subject, StringComparer.Ordinal)]);
    }

    /// <summary>
    /// The newest run's findings, read again only when a newer run exists. The newest run id is
    /// looked up again when this process saved a run, and otherwise at most once a second (a run
    /// saved by another process, <c>atalaya quality run</c>, shows within a second).
    /// </summary>
    private Run? Latest()
    {
        var now = Environment.TickCount64;
        var generation = QualityResults.Generation;
        lock (_gate)
        {
            if (_lookedUpAt is { } at && now - at < RecheckMilliseconds && generation == _generation)
            {
                return _latest;
            }
        }
        Run? latest = null;
        try
        {
            var runId = _results.LatestRun();
            if (runId is not null)
            {
                lock (_gate)
                {
                    latest = _latest?.RunId == runId ? _latest : null;
                }
                if (latest is null)
                {
                    var results = _results.Read(runId);
                    latest = results.Count == 0 ? null
                        : new Run(runId, results[0].CheckedAt, [.. results.Where(r => r.Status is QualityStatus.Warn or QualityStatus.Fail).Select(Prepare)]);
                }
            }
        }
        catch (Postgres.StateUnavailableException)
        {
            // The cluster's PostgreSQL is away: keep the run read last (looked up again after a second).
            lock (_gate)
            {
                latest = _latest;
            }
        }
        lock (_gate)
        {
            (_latest, _lookedUpAt, _generation) = (latest, now, generation);
            return latest;
        }
    }

    /// <summary>What a finding is about, worked out once per run: its event types (null: all), whether it is a connector's or the marts'.</summary>
    private Prepared Prepare(QualityResult r) => new(r, EventTypes(r), ConnectorFinding(r), r.Check == "mart_freshness");

    /// <summary>The countries an answer covers: null for every country, else the scope's, its stores', and the filters' (intersected).</summary>
    private HashSet<string>? Countries(AccessScope scope, DimensionFilter filter)
    {
        HashSet<string>? countries = null;
        void Narrow(IEnumerable<string> to)
        {
            var set = to.ToHashSet(StringComparer.Ordinal);
            if (countries is null)
            {
                countries = set;
            }
            else
            {
                countries.IntersectWith(set);
            }
        }
        if (scope.Countries.Count > 0)
        {
            Narrow(scope.Countries);
        }
        if (scope.Stores.Count > 0)
        {
            Narrow(StoreCountries(scope.Stores));
        }
        if (filter.Values.TryGetValue(Dimension.Country, out var filtered))
        {
            Narrow(filtered);
        }
        if (filter.Values.TryGetValue(Dimension.StoreId, out var stores))
        {
            Narrow(StoreCountries(stores));
        }
        return countries;
    }

    private IEnumerable<string> StoreCountries(IEnumerable<string> stores) =>
        engine is null ? [] : stores.Select(engine.CountryOfStore).OfType<string>();

    private static bool Concerns(QualityResult r, HashSet<string>? countries)
    {
        if (r.Country is { } country)
        {
            return countries is null || countries.Contains(country);
        }
        // Scoped callers read their own countries' freshness and volume instead of the hub's.
        return countries is null || r.Check is not ("freshness" or "volume");
    }

    private bool Concerns(Prepared p, KpiDefinition kpi)
    {
        if (p.Connector)
        {
            return kpi.IsConnector;
        }
        if (p.Marts)
        {
            return false;
        }
        // A type outside the catalog (a custom event) is read by no KPI, not even those of "any event".
        return p.Types is null ? kpi.Events.Count > 0 : p.Types.Any(t => kpi.Events.Contains(t) || (kpi.Reads(t) && catalog.TryGet(t, out _)));
    }

    private static bool ConnectorFinding(QualityResult r) => r.Check switch
    {
        "connector" => true,
        "dead_letters" => r.Subject.StartsWith("connector:", StringComparison.Ordinal),
        "pipeline" => ConnectorSources.All.Any(p => ConnectorSources.JobName(p) == r.Subject),
        _ => false,
    };

    /// <summary>The event types a finding is about, or null when it is about all of them.</summary>
    private IReadOnlyList<string>? EventTypes(QualityResult r)
    {
        var subject = r.Subject;
        var typeAt = subject.IndexOf("event_type:", StringComparison.Ordinal);
        return r.Check switch
        {
            "volume" when typeAt >= 0 => [subject[(typeAt + "event_type:".Length)..]],
            "null_rate" when subject.StartsWith("money_events.", StringComparison.Ordinal) => [.. catalog.Types.Where(t => t.Monetary).Select(t => t.Type)],
            "null_rate" when subject.StartsWith("store_events.", StringComparison.Ordinal) => null,
            "null_rate" => [subject[..Math.Max(0, subject.IndexOf('.', StringComparison.Ordinal))]],
            "schema_drift" => [subject.Split('.')[0]],
            "consistency" when subject == "unknown_orders" => ["order_status_changed"],
            "consistency" when subject == "order_amounts" => ["purchase_completed", "order_status_changed"],
            "dead_letters" => PaymentEvents,
            _ => null,
        };
    }
}
