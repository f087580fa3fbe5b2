using System.Net;
using Atalaya.Engine.Access;
using Atalaya.Tests.Kpi.Http;

namespace Atalaya.Tests.Kpi;

/// <summary>Bad parameters answer 400 with a message naming the parameter; tokens are required.</summary>
[Collection(KpiCollection.Name)]
public sealed class MetricsApiErrorTests(KpiDatasets datasets)
{
    public static TheoryData<string, string> BadParameters() => new()
    {
        { "/api/kpi/query?metric=happiness", "metric" },
        { "/api/kpi/query?metric=gmv,happiness", "metric" },
        { "/api/kpi/query?aggregate=yearly", "aggregate" },
        { "/api/kpi/query?start_date=2026-13-01", "start_date" },
        { "/api/kpi/query?start_date=yesterday", "start_date" },
        { "/api/kpi/query?start_date=2026-03-01&end_date=2026-02-30", "end_date" },
        { "/api/kpi/query?start_date=2026-03-05&end_date=2026-03-01", "end_date" },
        { "/api/kpi/query?tz=Mars/Olympus_Mons", "tz" },
        { "/api/kpi/query?group_by=planet", "group_by" },
        { "/api/kpi/query?group_by=country,planet", "group_by" },
        { "/api/kpi/query?limit=0", "limit" },
        { "/api/kpi/query?limit=100001", "limit" },
        { "/api/kpi/query?limit=ten", "limit" },
        { "/api/kpi/query?colour=blue", "colour" },
        { "/api/kpi/summary?metric=happiness", "metric" },
        { "/api/kpi/summary?tz=Nowhere/City", "tz" },
        { "/api/kpi/summary?compare=sometimes", "compare" },
        { "/api/kpi/timeseries?metric=gmv&hours=0", "hours" },
        { "/api/kpi/timeseries?metric=gmv&hours=721", "hours" },
        { "/api/kpi/timeseries?hours=24", "metric" },
        { "/api/analysis/funnel?steps=page_view", "steps" },
        { "/api/analysis/funnel?steps=page_view,add_to_cart&window=0", "window" },
        { "/api/analysis/retention?period=year", "period" },
        { "/api/analysis/top-products?order_by=price", "order_by" },
        { "/api/analysis/top-products?limit=0", "limit" },
        { "/api/analysis/top-products?aggregate=daily", "aggregate" },
    };

    [Theory]
    [MemberData(nameof(BadParameters))]
    public async Task A_bad_parameter_answers_400_naming_it(string pathAndQuery, string parameter)
    {
        var (status, body) = await datasets["empty"].Hub.Api.GetAsync(pathAndQuery);

        Assert.True(status == HttpStatusCode.BadRequest, $"{pathAndQuery} answered {(int)status}: {MetricsClient.Clip(body)}");
        Assert.Contains(parameter, body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reads_need_a_read_token()
    {
        var hub = datasets["empty"].Hub;

        var (none, _) = await hub.Api.GetAsync("/api/kpi/query", bearer: "");
        var (unknown, _) = await hub.Api.GetAsync("/api/kpi/query", bearer: "atl_admin_notatoken");
        var (writeKey, _) = await hub.Api.GetAsync("/api/kpi/query", bearer: hub.Server.WriteKey);
        var (analyst, _) = await hub.Api.GetAsync("/api/kpi/query", bearer: hub.Server.CreateToken(Role.Analyst));

        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Forbidden, HttpStatusCode.OK], [none, unknown, writeKey, analyst]);
    }
}
