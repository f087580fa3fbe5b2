using Atalaya.Engine.Demo;
using Atalaya.Tests.Kpi.Datasets;
using Atalaya.Tests.Kpi.Http;
using Atalaya.Tests.Kpi.Reference;

namespace Atalaya.Tests.Kpi;

/// <summary>A hub stopped and started again on the same folder answers exactly as before, and as the reference.</summary>
public sealed class RestartTests
{
    [Fact]
    public async Task A_restarted_hub_gives_identical_answers()
    {
        await using var hub = await KpiHub.StartWithDemoAsync(new DemoOptions(Days: 3, Seed: 13, EndDate: new DateOnly(2026, 3, 3), SessionsPerDay: 40));
        var b = new EventBuilder("restart");
        await hub.PostAsync([b.Order("2026-03-02T10:00:00Z", "o-after", "mx-001", "u-late", "s-late"), b.PageView("2026-03-03T23:59:59Z", "u-late", "s-late")]);
        string[] paths =
        [
            "/api/kpi/query?start_date=2026-02-28&end_date=2026-03-03&aggregate=daily&group_by=country&limit=100000",
            "/api/kpi/query?start_date=2026-03-01&end_date=2026-03-03&aggregate=hourly&tz=Europe/Stockholm&limit=100000",
            "/api/kpi/query?start_date=2026-02-23&end_date=2026-03-03&aggregate=weekly&group_by=store_id,platform&country=MX,CO&limit=100000",
            "/api/analysis/funnel?steps=page_view,add_to_cart,purchase_completed&start_date=2026-03-01&end_date=2026-03-03",
            "/api/analysis/retention?period=week",
            "/api/analysis/top-products?start_date=2026-03-01&end_date=2026-03-03&limit=20",
        ];
        var before = new List<string>();
        foreach (var path in paths)
        {
            before.Add((await hub.Api.GetJsonAsync(path)).GetProperty(path.Contains("funnel", StringComparison.Ordinal) ? "steps" : "data").GetRawText());
        }

        await hub.RestartAsync();

        for (var i = 0; i < paths.Length; i++)
        {
            var after = (await hub.Api.GetJsonAsync(paths[i])).GetProperty(paths[i].Contains("funnel", StringComparison.Ordinal) ? "steps" : "data").GetRawText();
            Assert.True(before[i] == after, $"{paths[i]} answers differently after the restart");
        }
        var query = new KpiQuery(new DateOnly(2026, 2, 28), new DateOnly(2026, 3, 3)) { GroupBy = ["country"] };
        var differences = KpiComparison.Differences(KpiReference.Query(hub.Reference, query), await hub.Api.QueryAsync(query), query);
        Assert.True(differences.Count == 0, KpiComparison.Describe("after the restart: " + query, differences));
        Assert.Contains(hub.Reference.Orders, o => o.Text("order_id") == "o-after");
    }
}
