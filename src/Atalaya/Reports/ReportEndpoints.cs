using Atalaya.Access;
using Atalaya.Engine.Access;
using Atalaya.Engine.Reports;
using Atalaya.Http;

namespace Atalaya.Reports;

/// <summary>
/// <c>GET /api/reports</c> lists the stored reports a token may see and <c>GET /api/reports/{id}</c>
/// returns one file (docs/reports.md). A vendor sees only its stores' reports, a country lead only its
/// countries' (not when its token is narrowed to some hubs or zones: a country's report holds all of
/// them), admins and analysts every report. Both calls are audited like every read; a report the
/// token may not see is answered 404, as one that does not exist, so ids reveal nothing.
/// </summary>
public static class ReportEndpoints
{
    private static readonly string[] ListParams = ["kind", "limit"];

    public static IEndpointRouteBuilder MapReports(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/reports", (HttpContext c, HubState s) => ReadCall.RunAsync(c, s, ListParams, List))
            .WithName("Reports").WithTags("Reports").Produces<ReportList>().Refusals()
            .WithSummary("Stored reports this token may see (daily CSV, weekly and monthly HTML), newest period first, each with its download path.")
            .QueryParameters(("kind", "Only daily, weekly or monthly reports."), ("limit", "1–10000, default 100."));
        app.MapGet("/api/reports/{id}", FileAsync)
            .WithName("Report").WithTags("Reports")
            .Produces(StatusCodes.Status200OK, typeof(Stream), "text/csv", "text/html").Refusals(StatusCodes.Status404NotFound)
            .WithSummary("One stored report's file: text/csv for daily reports, self-contained text/html for weekly and monthly ones.");
        return app;
    }

    /// <summary>Whether <paramref name="token"/> may see a report of <paramref name="scope"/>.</summary>
    public static bool Visible(TokenInfo token, ReportScope scope) => token.Role switch
    {
        Role.Admin or Role.Analyst => true,
        Role.Vendor => scope.Kind == ReportScopeKind.Store && token.Stores.Contains(scope.Value, StringComparer.Ordinal),
        Role.CountryOpsLead => scope.Kind == ReportScopeKind.Country && token.Hubs.Count == 0 && token.Zones.Count == 0
            && token.Countries.Contains(scope.Value, StringComparer.Ordinal),
        _ => false,
    };

    private static ReadAnswer List(ReadContext r)
    {
        ReportKind? kind = null;
        if (r.Parameters.List("kind") is { } kinds)
        {
            kind = kinds.Count == 1 && ReportKinds.TryParse(kinds[0], out var k) ? k
                : throw KpiParameters.Bad($"kind: '{string.Join(",", kinds)}' is not one of daily, weekly, monthly");
        }
        var limit = r.Parameters.Int("limit", 1, 10_000, 100);
        var reports = r.Hub.Reports.List(kind).Where(x => Visible(r.Token, x.Scope)).Take(limit).ToList();
        return new ReadAnswer(Answers.Bytes(new ReportList([.. reports.Select(ReportView.Of)], reports.Count), ReportsJson.Web.ReportList), reports.Count);
    }

    private static Task<IResult> FileAsync(HttpContext context, HubState state, string id) => ReadCall.AuditedAsync(context, state, (hub, token, _) =>
    {
        ReadCall.RejectUnknown(context.Request.Query, []);
        var store = hub.Reports;
        if (store.Get(id) is not { } report || !Visible(token, report.Scope))
        {
            throw new BodyException(StatusCodes.Status404NotFound, $"No report '{id}' visible to this token; GET /api/reports lists the ones it may read.");
        }
        var content = store.Content(report)
            ?? throw new BodyException(StatusCodes.Status404NotFound, $"Report '{id}' is listed but its file is gone from the data folder; run its job again (atalaya jobs run {ReportKinds.JobName(report.Kind)}).");
        // The report forbids every fetch itself; the header says so again for browsers opening it from the hub.
        context.Response.Headers.ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";
        context.Response.Headers.XContentTypeOptions = "nosniff";
        var result = report.Kind == ReportKind.Daily
            ? Results.File(content, report.ContentType, report.FileName)
            : Results.Bytes(content, report.ContentType);
        return Task.FromResult(new CallAnswer(result, 1));
    });
}
