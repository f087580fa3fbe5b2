using Atalaya.Engine;
using Atalaya.Engine.Alerts;

namespace Atalaya.Tests.Dashboard;

/// <summary>The alerts panel of the admin and country views: the alerts of the API, scoped the same way (chromium headless).</summary>
[Collection(DashboardCollection.Name)]
public sealed class DashboardAlertsTests(DashboardFixture fixture)
{
    [Fact]
    public async Task Admin_and_country_lead_see_the_alerts_their_scope_covers()
    {
        var config = EnvironmentFiles.Parse("""
            environment: dev
            alerts:
              rules:
                - {name: dash-mx-gmv, kpi: gmv, window: 24h, below: 1000000000000, scope: {country: MX}, severity: critical}
                - {name: dash-co-gmv, kpi: gmv, window: 24h, below: 1000000000000, scope: {country: CO}}
            """, "test.yaml", "dev");
        new AlertEngine(fixture.Hub.Server.Hub.Database, fixture.Hub.Server.Hub.Kpis, AlertRuleSet.Compile(config), TimeSpan.FromHours(4)).Evaluate();

        await using (var admin = await DashboardPage.OpenAsync(fixture))
        {
            await admin.LogInAsync(fixture.AdminToken);
            Assert.Equal("ready", (await admin.PanelStatesAsync())["alerts"]);
            var text = await admin.Page.InnerTextAsync("#panel-alerts");
            Assert.Contains("dash-mx-gmv", text, StringComparison.Ordinal);
            Assert.Contains("dash-co-gmv", text, StringComparison.Ordinal);
            Assert.Contains("firing", text, StringComparison.Ordinal);
            Assert.Empty(admin.ConsoleErrors);
        }
        await using var lead = await DashboardPage.OpenAsync(fixture);
        await lead.LogInAsync(fixture.LeadToken);
        Assert.Equal("ready", (await lead.PanelStatesAsync())["alerts"]);
        var shown = await lead.Page.InnerTextAsync("#panel-alerts");
        Assert.Contains("dash-mx-gmv", shown, StringComparison.Ordinal);
        Assert.DoesNotContain("dash-co-gmv", shown, StringComparison.Ordinal);
        Assert.Empty(lead.ConsoleErrors);
    }
}
