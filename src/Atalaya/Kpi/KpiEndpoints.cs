using System.Globalization;
using Atalaya.Collect;
using Atalaya.Engine;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Kpi.Analysis;
using Atalaya.Engine.Kpi.Query;
using Atalaya.Hosting;

namespace Atalaya.Kpi;

/// <summary>
/// The metrics API (CONTRACT §3): <c>/api/kpi/*</c> and <c>/api/analysis/*</c>. Each call:
/// read token → parameters (400 naming the bad one) → an immutable query → the KPI engine → JSON.
/// Nothing here computes a figure; the engine does.
/// </summary>
public static class KpiEndpoints
{
    private static readonly string[] QueryParams = ["metric", .. KpiParameters.Range, "aggregate", "group_by", "limit", .. KpiParameters.Filters];
    private static readonly string[] SummaryParams = ["metric", "tz", .. KpiParameters.Filters];
    private static readonly string[] TimeseriesParams = ["metric", "hours", "tz", .. KpiParameters.Filters];
    private static readonly string[] FunnelParams = ["steps", "window", .. KpiParameters.Range, .. KpiParameters.Filters];
    private static readonly string[] RetentionParams = ["period", .. KpiParameters.Range, .. KpiParameters.Filters];
    private static readonly string[] TopProductsParams = ["order_by", "limit", .. KpiParameters.Range, .. KpiParameters.Filters];

    public static IEndpointRouteBuilder MapKpi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/kpi/query", (HttpContext c, HubState s) => Answer(c, s, QueryParams, Query))
            .Describe("KpiQuery", "KPI values per period and group (CONTRACT §3.1).", QueryParams);
        app.MapGet("/api/kpi/summary", (HttpContext c, HubState s) => Answer(c, s, SummaryParams, Summary))
            .Describe("KpiSummary", "Each KPI today so far vs yesterday and the 7-day average.", SummaryParams);
        app.MapGet("/api/kpi/timeseries", (HttpContext c, HubState s) => Answer(c, s, TimeseriesParams, Timeseries))
            .Describe("KpiTimeseries", "One KPI per hour over the last hours.", TimeseriesParams);
        app.MapGet("/api/kpi/events", KpiEventStream.RunAsync)
            .Describe("KpiEvents", "Server-Sent Events: a `summary` event at once, on change and at least every 10 s.", SummaryParams);
        app.MapGet("/api/kpi/definitions", (HttpContext c, HubState s) => Answer(c, s, [], (hub, _) => hub.Kpis.Dictionary.Document))
            .Describe("KpiDefinitions", "The KPI dictionary: definitions, versions and change history.", []);
        app.MapGet("/api/analysis/funnel", (HttpContext c, HubState s) => Answer(c, s, FunnelParams, Funnel))
            .Describe("Funnel", "Conversion funnel with windowFunnel semantics.", FunnelParams);
        app.MapGet("/api/analysis/retention", (HttpContext c, HubState s) => Answer(c, s, RetentionParams, Retention))
            .Describe("Retention", "Order retention cohorts by month or week.", RetentionParams);
        app.MapGet("/api/analysis/top-products", (HttpContext c, HubState s) => Answer(c, s, TopProductsParams, TopProducts))
            .Describe("TopProducts", "Products ranked by revenue, units, orders or views.", TopProductsParams);
        return app;
    }

    private static IResult Answer(HttpContext context, HubState state, string[] allowed, Func<Hub, KpiParameters, byte[]> run)
    {
        try
        {
            var hub = state.Require();
            ReadAccess.Check(hub.Tokens, context.Request);
            var parameters = new KpiParameters(context.Request.Query, allowed, hub.Kpis.Time);
            return Results.Bytes(run(hub, parameters), "application/json");
        }
        catch (BodyException e)
        {
            return Error(e.StatusCode, e.Message);
        }
        catch (KpiQueryTooLargeException e)
        {
            return Error(StatusCodes.Status400BadRequest, e.Message);
        }
    }

    public static IResult Error(int status, string message) =>
        Results.Json(new ErrorResponse(false, message), AtalayaJson.Web.ErrorResponse, statusCode: status);

    private static byte[] Query(Hub hub, KpiParameters p)
    {
        var (start, end) = p.Dates();
        var query = new KpiQuery(p.Metrics(), start, end, p.Aggregate(), p.TimeZone, p.Filter(), p.GroupBy(), p.Int("limit", 1, 100_000, 1000));
        var result = hub.Kpis.Query(query);
        return KpiJson.Write(w => KpiJson.QueryResult(w, result, query, hub.Kpis.Dictionary, p.TimeZoneName));
    }

    internal static byte[] Summary(Hub hub, KpiParameters p)
    {
        var filter = p.Filter();
        var rows = hub.Kpis.Summary(p.Metrics(), filter, p.TimeZone);
        return KpiJson.Write(w => KpiJson.Summary(w, rows, hub.Kpis.Time.GetUtcNow(), p.TimeZoneName, filter));
    }

    private static byte[] Timeseries(Hub hub, KpiParameters p)
    {
        var metric = p.Metrics(single: true)[0];
        var hours = p.Int("hours", 1, 720, 24);
        var filter = p.Filter();
        var result = hub.Kpis.Timeseries(metric, hours, filter, p.TimeZone);
        return KpiJson.Write(w =>
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
            w.WriteEndObject();
        });
    }

    private static byte[] Funnel(Hub hub, KpiParameters p)
    {
        var steps = p.List("steps") ?? throw KpiParameters.Bad("steps: is required; a comma list of 2 to 10 event types, e.g. page_view,add_to_cart,purchase_completed");
        if (steps.Count is < 2 or > 10)
        {
            throw KpiParameters.Bad($"steps: give 2 to 10 event types, got {steps.Count}");
        }
        var window = p.Int("window", 1, 2_592_000, 3600);
        var (start, end) = p.Dates();
        var filter = p.Filter();
        var result = hub.Kpis.Funnel(steps, TimeSpan.FromSeconds(window), start, end, p.TimeZone, filter);
        return KpiJson.Write(w =>
        {
            KpiJson.Funnel(w, result);
            KpiJson.AnalysisParams(w, new Dictionary<string, string>
            {
                ["steps"] = string.Join(",", steps),
                ["window"] = window.ToString(CultureInfo.InvariantCulture),
                ["start_date"] = Date(start),
                ["end_date"] = Date(end),
                ["tz"] = p.TimeZoneName,
            }, filter);
        });
    }

    private static byte[] Retention(Hub hub, KpiParameters p)
    {
        var period = p.Choice("period", "month", "month", "week");
        DateOnly? start = null, end = null;
        if (p.HasDates)
        {
            (start, end) = p.Dates(defaultStart: "3660d");
        }
        var filter = p.Filter();
        var result = hub.Kpis.Retention(period == "week", start, end, p.TimeZone, filter);
        return KpiJson.Write(w =>
        {
            KpiJson.Retention(w, result);
            KpiJson.AnalysisParams(w, new Dictionary<string, string>
            {
                ["period"] = period,
                ["start_date"] = start is { } s ? Date(s) : "all",
                ["end_date"] = end is { } e ? Date(e) : "all",
                ["tz"] = p.TimeZoneName,
            }, filter);
        });
    }

    private static byte[] TopProducts(Hub hub, KpiParameters p)
    {
        var orderBy = p.Choice("order_by", "revenue", "revenue", "units", "orders", "views");
        var limit = p.Int("limit", 1, 1000, 100);
        var (start, end) = p.Dates();
        var filter = p.Filter();
        var order = Enum.Parse<ProductOrder>(orderBy, ignoreCase: true);
        var result = hub.Kpis.TopProducts(order, limit, start, end, p.TimeZone, filter);
        return KpiJson.Write(w =>
        {
            KpiJson.TopProducts(w, result);
            KpiJson.AnalysisParams(w, new Dictionary<string, string>
            {
                ["order_by"] = orderBy,
                ["limit"] = limit.ToString(CultureInfo.InvariantCulture),
                ["start_date"] = Date(start),
                ["end_date"] = Date(end),
                ["tz"] = p.TimeZoneName,
            }, filter);
        });
    }

    private static string Date(DateOnly d) => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
