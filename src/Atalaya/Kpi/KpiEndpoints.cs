using System.Globalization;
using Atalaya.Access;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Kpi.Analysis;
using Atalaya.Engine.Kpi.Query;
using Atalaya.Http;

namespace Atalaya.Kpi;

/// <summary>
/// The metrics API (docs/metrics-api.md): <c>/api/kpi/*</c> and <c>/api/analysis/*</c>. Each call goes
/// through <see cref="ReadCall"/> (token, parameters, audit) and hands the engine an immutable
/// query that carries the reader's scope. Nothing here computes a figure or filters one out.
/// </summary>
public static class KpiEndpoints
{
    private static readonly string[] QueryParams = ["metric", .. KpiParameters.Range, "aggregate", "group_by", "limit", .. KpiParameters.Filters];
    internal static readonly string[] SummaryParams = ["metric", "tz", "compare", .. KpiParameters.Filters];
    private static readonly string[] TimeseriesParams = ["metric", "hours", "tz", .. KpiParameters.Filters];
    private static readonly string[] FunnelParams = ["steps", "window", .. KpiParameters.Range, .. KpiParameters.Filters];
    private static readonly string[] RetentionParams = ["period", "orders", .. KpiParameters.Range, .. KpiParameters.Filters];
    private static readonly string[] BenchmarkParams = ["metric", "store_id", .. KpiParameters.Range];
    private static readonly string[] TopProductsParams = ["order_by", "limit", "orders", .. KpiParameters.Range, .. KpiParameters.Filters];

    public static IEndpointRouteBuilder MapKpi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/kpi/query", (HttpContext c, HubState s) => ReadCall.RunAsync(c, s, QueryParams, Query))
            .Describe("KpiQuery", "KPI values per period and group (docs/metrics-api.md).", QueryParams);
        app.MapGet("/api/kpi/summary", (HttpContext c, HubState s) => ReadCall.RunAsync(c, s, SummaryParams, Summary))
            .Describe("KpiSummary", "Each KPI today so far vs yesterday and the 7-day average (whole days, or with compare=same_time each day until the time it is now).", SummaryParams);
        app.MapGet("/api/kpi/timeseries", (HttpContext c, HubState s) => ReadCall.RunAsync(c, s, TimeseriesParams, Timeseries))
            .Describe("KpiTimeseries", "One KPI per hour over the last hours.", TimeseriesParams, singleMetric: true);
        app.MapGet("/api/kpi/events", KpiEventStream.RunAsync)
            .Describe("KpiEvents", "Server-Sent Events: a `summary` event at once, on change and at least every 10 s.", SummaryParams);
        app.MapGet("/api/kpi/definitions", (HttpContext c, HubState s) => ReadCall.RunAsync(c, s, ["version"], Definitions))
            .Describe("KpiDefinitions", "The KPI dictionary: definitions, versions and change history; `version` gives an earlier dictionary as it was.", ["version"]);
        app.MapGet("/api/kpi/benchmark", (HttpContext c, HubState s, ServeOptions o) => ReadCall.RunAsync(c, s, BenchmarkParams, r => Benchmark(r, o.BenchmarkMinimumPeers)))
            .Describe("KpiBenchmark", "A store's KPI beside the quartiles of comparable stores (same category and country), when enough contribute.", BenchmarkParams, singleMetric: true)
            .Produces<BenchmarkAnswer>();
        app.MapGet("/api/analysis/funnel", (HttpContext c, HubState s) => ReadCall.RunAsync(c, s, FunnelParams, Funnel))
            .Describe("Funnel", "Conversion funnel with windowFunnel semantics.", FunnelParams);
        app.MapGet("/api/analysis/retention", (HttpContext c, HubState s) => ReadCall.RunAsync(c, s, RetentionParams, Retention))
            .Describe("Retention", "Order retention cohorts by month or week.", RetentionParams);
        app.MapGet("/api/analysis/top-products", (HttpContext c, HubState s) => ReadCall.RunAsync(c, s, TopProductsParams, TopProducts))
            .Describe("TopProducts", "Products ranked by revenue, units, orders or views.", TopProductsParams);
        return app;
    }

    /// <summary>The dictionary in force, or with <c>version</c> an earlier one as shipped (its definitions, as they read then).</summary>
    private static ReadAnswer Definitions(ReadContext r)
    {
        var dictionary = r.Hub.Kpis.Dictionary;
        if (r.Parameters.Text("version") is not { } text)
        {
            return new ReadAnswer(dictionary.Document, dictionary.Kpis.Count);
        }
        var versions = KpiDictionary.ShippedVersions;
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var version) || !versions.Contains(version))
        {
            throw KpiParameters.Bad($"version: no dictionary '{text}'; allowed: {string.Join(", ", versions)}");
        }
        var document = KpiDictionary.Shipped(version);
        using var json = System.Text.Json.JsonDocument.Parse(document);
        return new ReadAnswer(document, json.RootElement.GetProperty("kpis").GetArrayLength());
    }

    private static ReadAnswer Query(ReadContext r)
    {
        if (Connectors.MarketingQuery.Requested(r))
        {
            return Connectors.MarketingQuery.Answer(r);
        }
        var (hub, p) = (r.Hub, r.Parameters);
        var (start, end) = p.Dates();
        var query = new KpiQuery(p.Metrics(), start, end, p.Aggregate(), p.TimeZone, p.Filter(), p.GroupBy(), r.Scope, p.Int("limit", 1, 100_000, 1000));
        var result = hub.Kpis.Query(query);
        var health = Health(r, query.Metrics, query.Filters);
        return new ReadAnswer(KpiJson.Write(w => KpiJson.QueryResult(w, result, query, hub.Kpis.Dictionary, p.TimeZoneName, health)), result.Rows.Count);
    }

    internal static ReadAnswer Summary(ReadContext r)
    {
        var (hub, p) = (r.Hub, r.Parameters);
        var filter = p.Filter();
        // whole_day: yesterday and the 7-day average as whole days; same_time: each day only until
        // the local time it is now, so a morning is compared with mornings (the dashboards ask for it).
        var metrics = p.Metrics();
        var sameTime = p.Choice("compare", "whole_day", "whole_day", "same_time") == "same_time";
        var rows = sameTime ? hub.Kpis.SummaryUntilNow(metrics, filter, p.TimeZone, r.Scope) : hub.Kpis.Summary(metrics, filter, p.TimeZone, r.Scope);
        var now = hub.Kpis.Time.GetUtcNow();
        var until = sameTime ? TimeZoneInfo.ConvertTime(now, p.TimeZone).ToString("HH:mm", CultureInfo.InvariantCulture) : null;
        var health = Health(r, metrics, filter);
        return new ReadAnswer(KpiJson.Write(w => KpiJson.Summary(w, rows, now, p.TimeZoneName, filter, until, health)), rows.Count);
    }

    /// <summary>The data-quality state of the figures (docs/quality.md): read from the newest stored quality run, never checked per call.</summary>
    private static Engine.Quality.FigureHealth Health(ReadContext r, IEnumerable<KpiId> metrics, DimensionFilter filter) =>
        r.Hub.Health.For(metrics.Select(KpiIds.Name), r.Scope, filter);

    private static ReadAnswer Timeseries(ReadContext r)
    {
        var (hub, p) = (r.Hub, r.Parameters);
        var metric = p.Metrics(single: true)[0];
        var hours = p.Int("hours", 1, 720, 24);
        var filter = p.Filter();
        var result = hub.Kpis.Timeseries(metric, hours, filter, p.TimeZone, r.Scope);
        var health = Health(r, [metric], filter);
        return new ReadAnswer(KpiJson.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("metric", KpiIds.Name(metric));
            w.WriteStartArray("data");
            foreach (var row in result.Rows)
            {
                w.WriteStartObject();
                w.WriteString("period", row.Period);
                KpiJson.Number(w, "value", row.Value);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNumber("hours", hours);
            w.WriteString("tz", p.TimeZoneName);
            KpiJson.Filters(w, filter);
            KpiJson.Versions(w, [metric], hub.Kpis.Dictionary);
            HealthJson.Write(w, health);
            w.WriteEndObject();
        }), result.Rows.Count);
    }

    private static ReadAnswer Benchmark(ReadContext r, int minimumPeers)
    {
        var (hub, p) = (r.Hub, r.Parameters);
        var metric = p.Metrics(single: true)[0];
        var stores = p.List("store_id");
        if (stores is { Count: > 1 })
        {
            throw KpiParameters.Bad("store_id: give one store");
        }
        var store = stores?[0] ?? (r.Scope.Stores.Count > 0 ? r.Scope.Stores[0]
            : throw KpiParameters.Bad("store_id: is required for tokens that are not a vendor's; the store to compare with its peers"));
        var (start, end) = p.Dates("30d");
        var b = hub.Kpis.Benchmark(metric, store, start, end, p.TimeZone, r.Scope, minimumPeers);
        var name = KpiIds.Name(metric);
        var answer = new BenchmarkAnswer(name, b.StoreId, b.Country, b.Category, Answers.Number(b.Value), b.Available, b.Available ? b.Peers : 0, b.MinimumPeers,
            Answers.Number(b.P25), Answers.Number(b.Median), Answers.Number(b.P75),
            b.Available ? null : $"fewer than {b.MinimumPeers} comparable stores (same category and country) have data in the range",
            Date(start), Date(end), new Dictionary<string, int> { [name] = hub.Kpis.Dictionary.TryGet(name, out var d) ? d.Version : 0 });
        return new ReadAnswer(Answers.Bytes(answer, BenchmarkJson.Web.BenchmarkAnswer), 1);
    }

    private static ReadAnswer Funnel(ReadContext r)
    {
        var (hub, p) = (r.Hub, r.Parameters);
        var steps = p.List("steps") ?? throw KpiParameters.Bad("steps: is required; a comma list of 2 to 10 event types, e.g. page_view,add_to_cart,purchase_completed");
        if (steps.Count is < 2 or > 10)
        {
            throw KpiParameters.Bad($"steps: give 2 to 10 event types, got {steps.Count}");
        }
        var window = p.Int("window", 1, 2_592_000, 3600);
        var (start, end) = p.Dates();
        var filter = p.Filter();
        var result = hub.Kpis.Funnel(steps, TimeSpan.FromSeconds(window), start, end, p.TimeZone, filter, r.Scope);
        return new ReadAnswer(KpiJson.Write(w =>
        {
            KpiJson.Funnel(w, result);
            KpiJson.AnalysisParams(w, new Dictionary<string, object>
            {
                ["steps"] = steps,
                ["window"] = window,
                ["start_date"] = Date(start),
                ["end_date"] = Date(end),
                ["tz"] = p.TimeZoneName,
            }, filter);
        }), result.Count);
    }

    private static ReadAnswer Retention(ReadContext r)
    {
        var (hub, p) = (r.Hub, r.Parameters);
        var period = p.Choice("period", "month", "month", "week");
        DateOnly? start = null, end = null;
        if (p.HasDates)
        {
            (start, end) = p.Dates(defaultStart: "3660d");
        }
        var filter = p.Filter();
        var orders = p.Choice("orders", "placed", "placed", "delivered");
        var result = hub.Kpis.Retention(period == "week", start, end, p.TimeZone, filter, r.Scope, orders == "delivered");
        return new ReadAnswer(KpiJson.Write(w =>
        {
            KpiJson.Retention(w, result);
            KpiJson.AnalysisParams(w, new Dictionary<string, object>
            {
                ["period"] = period,
                ["orders"] = orders,
                ["start_date"] = start is { } s ? Date(s) : "all",
                ["end_date"] = end is { } e ? Date(e) : "all",
                ["tz"] = p.TimeZoneName,
            }, filter);
        }), result.Count);
    }

    private static ReadAnswer TopProducts(ReadContext r)
    {
        var (hub, p) = (r.Hub, r.Parameters);
        var orderBy = p.Choice("order_by", "revenue", "revenue", "units", "orders", "views");
        var limit = p.Int("limit", 1, 1000, 100);
        var (start, end) = p.Dates();
        var filter = p.Filter();
        var order = Enum.Parse<ProductOrder>(orderBy, ignoreCase: true);
        var orders = p.Choice("orders", "placed", "placed", "delivered");
        var result = hub.Kpis.TopProducts(order, limit, start, end, p.TimeZone, filter, r.Scope, orders == "delivered");
        return new ReadAnswer(KpiJson.Write(w =>
        {
            KpiJson.TopProducts(w, result);
            KpiJson.AnalysisParams(w, new Dictionary<string, object>
            {
                ["order_by"] = orderBy,
                ["limit"] = limit,
                ["orders"] = orders,
                ["start_date"] = Date(start),
                ["end_date"] = Date(end),
                ["tz"] = p.TimeZoneName,
            }, filter);
        }), result.Count);
    }

    private static string Date(DateOnly d) => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
