using System.Net;
using System.Net.Http.Headers;
using Atalaya.Engine.Access;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Hardening;

/// <summary>
/// Every GET endpoint that takes a date answers 400 to a date it cannot serve (far past, far
/// future, impossible, a huge relative range), never a 5xx, and the refusal is in the audit log
/// before the answer.
/// </summary>
public sealed class ExtremeDateTests
{
    private static readonly string[] DateEndpoints =
    [
        "/api/kpi/query?",
        "/api/kpi/benchmark?metric=gmv&store_id=st-1&",
        "/api/analysis/funnel?steps=page_view,add_to_cart&",
        "/api/analysis/retention?",
        "/api/analysis/top-products?",
        "/api/runs?",
    ];

    private static readonly string[] ExtremeRanges =
    [
        "start_date=9999-12-31&end_date=9999-12-31",
        "end_date=9999-12-31",
        "start_date=9999-12-30&end_date=9999-12-31",
        "start_date=0001-01-01&end_date=0001-01-01",
        "start_date=0001-01-01&end_date=0001-01-02",
        "start_date=0001-01-01",
        "start_date=2026-02-30",
        "end_date=2026-02-30",
        "start_date=99999999d",
        "start_date=2147483648d",
        "start_date=-5d",
        "start_date=1800-01-01&end_date=1800-01-03",
        "start_date=2999-01-01&end_date=2999-01-03",
    ];

    public static List<string> ExtremeCalls()
    {
        var calls = new List<string>();
        foreach (var endpoint in DateEndpoints)
        {
            foreach (var range in ExtremeRanges)
            {
                if (endpoint.StartsWith("/api/runs", StringComparison.Ordinal) && range.Contains('d', StringComparison.Ordinal) && !range.Contains('-', StringComparison.Ordinal))
                {
                    continue; // /api/runs takes calendar dates only; "99999999d" is covered as not a date below
                }
                calls.Add(endpoint + range);
                if (!endpoint.StartsWith("/api/runs", StringComparison.Ordinal))
                {
                    // Time zones at both ends of the offset range push local midnights past DateTime's range.
                    calls.Add(endpoint + range + "&tz=Pacific/Kiritimati");
                    calls.Add(endpoint + range + "&tz=Etc/GMT%2B12");
                }
            }
        }
        calls.Add("/api/runs?date=9999-12-31");
        calls.Add("/api/runs?date=0001-01-01");
        calls.Add("/api/runs?date=2026-02-30");
        calls.Add("/api/runs?start_date=99999999d");
        calls.Add("/api/audit?from=9999-12-31&to=9999-12-31");
        calls.Add("/api/audit?from=0001-01-01");
        calls.Add("/api/audit?to=0001-01-01T00:00:00%2B14:00");
        calls.Add("/api/audit?from=9999-12-31T23:59:59-12:00");
        calls.Add("/api/audit?from=2026-02-30");
        return calls;
    }

    [Fact]
    public async Task Every_date_taking_GET_endpoint_answers_400_to_extreme_dates_and_audits_it()
    {
        await using var hub = await TestHub.StartAsync();
        var admin = hub.CreateToken(Role.Admin);
        var failures = new List<string>();
        foreach (var call in ExtremeCalls())
        {
            var path = call[..call.IndexOf('?', StringComparison.Ordinal)];
            var auditSql = $"SELECT count(*) FROM audit_log WHERE action = 'GET {path}' AND status = 400;";
            var auditedBefore = StoredEvents.Query(hub.DataDirectory, auditSql).Single();
            using var request = new HttpRequestMessage(HttpMethod.Get, call);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", admin);
            using var response = await hub.Client.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != HttpStatusCode.BadRequest)
            {
                failures.Add($"{call} → {(int)response.StatusCode} {body[..Math.Min(body.Length, 160)]}");
                continue;
            }
            if (StoredEvents.Query(hub.DataDirectory, auditSql).Single() == auditedBefore)
            {
                failures.Add($"{call} → 400 but no audit row with status 400");
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task An_unexpected_failure_of_a_read_is_audited_as_500()
    {
        // The last line of defence: if an endpoint throws something nobody mapped to a 4xx, the
        // refusal is still recorded (a 500 missing from the audit hides exactly the calls to look at).
        await using var hub = await TestHub.StartAsync();
        var admin = hub.CreateToken(Role.Admin);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/runs?limit=5");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", admin);
        using (var c = hub.Hub.Database.Connect())
        {
            using var drop = c.CreateCommand();
            drop.CommandText = "ALTER TABLE pipeline_runs RENAME TO pipeline_runs_gone;";
            drop.ExecuteNonQuery();
        }

        using var response = await hub.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("1", StoredEvents.Query(hub.DataDirectory, "SELECT count(*) FROM audit_log WHERE action = 'GET /api/runs' AND status = 500;").Single());
    }
}
