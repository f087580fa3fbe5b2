using System.Globalization;
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
            .WithName("Reports").WithTags("Reports")
            .WithSummary("Stored reports this token may see (daily CSV, weekly and monthly HTML), newest period first, each with its download path.")
            .QueryParameters(("kind", "Only daily, weekly or monthly reports."), ("limit", "1–10000, default 100."));
        app.MapGet("/api/reports/{id}", FileAsync)
            .WithName("Report").WithTags("Reports")
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
        var reports = new ReportStore(r.Hub.Database).List(kind).Where(x => Visible(r.Token, x.Scope)).Take(limit).ToList();
        return new ReadAnswer(KpiJson.Write(w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("data");
            foreach (var x in reports)
            {
                w.WriteStartObject();
                w.WriteString("id", x.Id);
                w.WriteString("kind", ReportKinds.Name(x.Kind));
                w.WriteString("period_start", Day(x.PeriodStart));
                w.WriteString("period_end", Day(x.PeriodEnd));
                w.WriteString("scope", x.Scope.Label);
                w.WriteString("locale", x.Locale);
                w.WriteString("file_name", x.FileName);
                w.WriteString("content_type", x.ContentType);
                w.WriteNumber("bytes", x.Bytes);
                w.WriteString("sha256", x.Sha256);
                w.WriteString("created_at", Engine.Jobs.PipelineRuns.Iso(x.CreatedAt));
                w.WriteString("run_id", x.RunId);
                w.WriteString("url", "/api/reports/" + Uri.EscapeDataString(x.Id));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNumber("count", reports.Count);
            w.WriteEndObject();
        }), reports.Count);
    }

    private static async Task<IResult> FileAsync(HttpContext context, HubState state, string id)
    {
        Engine.Hub hub;
        TokenInfo token;
        try
        {
            hub = state.Require();
            token = ReadAccess.Check(hub.Tokens, context.Request);
        }
        catch (BodyException e)
        {
            return ReadCall.Error(e.StatusCode, e.Message);
        }
        var scope = AccessScope.Of(token);
        int status;
        IResult result;
        var store = new ReportStore(hub.Database);
        var report = store.Get(id);
        byte[]? content = null;
        if (context.Request.Query.Count > 0)
        {
            status = StatusCodes.Status400BadRequest;
            result = ReadCall.Error(status, $"unknown parameter '{context.Request.Query.Keys.First()}'; this endpoint takes none");
        }
        else if (report is null || !Visible(token, report.Scope))
        {
            status = StatusCodes.Status404NotFound;
            result = ReadCall.Error(status, $"No report '{id}' visible to this token; GET /api/reports lists the ones it may read.");
        }
        else if ((content = Read(store.PathOf(report.FileName))) is null)
        {
            status = StatusCodes.Status404NotFound;
            result = ReadCall.Error(status, $"Report '{id}' is listed but its file is gone from the data folder; run its job again (atalaya jobs run {ReportKinds.JobName(report.Kind)}).");
        }
        else
        {
            status = StatusCodes.Status200OK;
            // The report forbids every fetch itself; the header says so again for browsers opening it from the hub.
            context.Response.Headers.ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";
            context.Response.Headers.XContentTypeOptions = "nosniff";
            result = report.Kind == ReportKind.Daily
                ? Results.File(content, report.ContentType, report.FileName)
                : Results.Bytes(content, report.ContentType);
        }
        await hub.Audit.AppendAsync(ReadCall.Entry(hub, context, token, scope, status == StatusCodes.Status200OK ? 1 : 0, status)).ConfigureAwait(false);
        return result;
    }

    private static byte[]? Read(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    private static string Day(DateOnly d) => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
