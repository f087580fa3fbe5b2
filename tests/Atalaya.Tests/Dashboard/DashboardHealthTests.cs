using Atalaya.Engine.Quality;

namespace Atalaya.Tests.Dashboard;

/// <summary>
/// The data-quality badge beside each card and panel (chromium headless): a quality run with a failing
/// volume check and a late feed in Mexico, and a failing check in Colombia, is stored as the newest
/// run; the Mexican lead's cards say "check failing: volume MX" on the order figures and "stale since"
/// on the others, never a word of Colombia. The run found before is stored again afterwards.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class DashboardHealthTests(DashboardFixture fixture)
{
    [Fact]
    public async Task Cards_and_panels_show_the_health_of_their_figures_for_the_readers_scope()
    {
        var database = fixture.Hub.Server.Hub.Database;
        var before = QualityResults.Read(database, QualityResults.LatestRun(database)!);
        var checkedAt = DateTimeOffset.UtcNow.AddSeconds(1);
        var since = new DateTimeOffset(checkedAt.UtcDateTime.Date, TimeSpan.Zero).AddMinutes(10 * 60 + 40);
        QualityResult[] planted =
        [
            new("volume", "country:MX/event_type:purchase_completed", QualityStatus.Fail, -9, 3, 5, "z", "No purchase_completed from MX yesterday.") { Country = "MX" },
            new("freshness", "country:MX", QualityStatus.Warn, 3, 2, 6, "hours", "No event of country MX for 3 h.") { Country = "MX", Since = since },
            new("volume", "country:CO", QualityStatus.Fail, -8, 3, 5, "z", "No events from CO yesterday.") { Country = "CO" },
        ];
        Save("dash-health", checkedAt, planted);
        try
        {
            await using var lead = await DashboardPage.OpenAsync(fixture);
            await lead.LogInAsync(fixture.LeadToken);
            var badges = await lead.Page.EvalOnSelectorAllAsync<Dictionary<string, string>[]>("#cards [data-metric]",
                "cards => cards.map(c => ({ metric: c.dataset.metric, state: c.querySelector('.health')?.dataset.health ?? '', text: c.querySelector('.health')?.textContent ?? '', title: c.querySelector('.health')?.title ?? '' }))");
            var byMetric = badges.ToDictionary(b => b["metric"]);
            Assert.Equal(("failing", "check failing: volume MX"), (byMetric["gmv"]["state"], byMetric["gmv"]["text"]));
            Assert.Contains("No purchase_completed from MX yesterday.", byMetric["gmv"]["title"], StringComparison.Ordinal);
            Assert.Equal(("stale", "stale since 10:40 UTC"), (byMetric["leads"]["state"], byMetric["leads"]["text"]));
            Assert.All(badges, b => Assert.DoesNotContain("CO", b["title"], StringComparison.Ordinal));
            Assert.Equal("failing", await lead.Page.GetAttributeAsync("#panel-trend h2 .health", "data-health"));
            Assert.Empty(lead.ConsoleErrors);
            await lead.ScreenshotAsync("dashboard-health-lead");
        }
        finally
        {
            Save("dash-health-restored", DateTimeOffset.UtcNow.AddSeconds(2), before);
        }
    }

    private void Save(string runId, DateTimeOffset at, IReadOnlyList<QualityResult> results)
    {
        using var connection = fixture.Hub.Server.Hub.Database.Connect();
        QualityResults.Save(connection, runId, at, results);
    }
}
