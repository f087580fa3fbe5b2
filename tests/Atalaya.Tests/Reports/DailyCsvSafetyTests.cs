using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Atalaya.Engine.Reports;
using Atalaya.Tests.Kpi.Datasets;
using Atalaya.Tests.Kpi.Http;

namespace Atalaya.Tests.Reports;

/// <summary>Whatever a sender puts in a store id, the daily CSV keeps one field per column and its file name stays in the reports folder.</summary>
public sealed class DailyCsvSafetyTests
{
    [Fact]
    public async Task A_store_id_with_commas_quotes_and_slashes_is_quoted_in_its_field_and_cleaned_in_the_file_name()
    {
        await using var hub = await KpiHub.StartEmptyAsync();
        const string Store = "../tienda \"A\", centro";
        var now = DateTime.UtcNow;
        var at = now.AddMinutes(-Math.Min(30, now.TimeOfDay.TotalMinutes / 2)).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        var events = new EventBuilder("csv");
        events.Add("store_visited", at, "u1", "s1", Place.Mexico, new JsonObject { ["store_id"] = Store });
        events.Add("store_visited", at, "u2", "s2", Place.Mexico, new JsonObject { ["store_id"] = "mx-001" });
        await hub.PostAsync(events.Events);

        var today = DateOnly.FromDateTime(now);
        var report = new ReportBuilder(hub.Server.Hub.Kpis).Build(new ReportRequest(ReportKind.Daily, today, ReportScope.Store(Store)), DateTimeOffset.UtcNow);
        var lines = Encoding.UTF8.GetString(report.Content).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);

        var quoted = $"{today:yyyy-MM-dd},\"store:../tienda \"\"A\"\", centro\",";
        Assert.All(lines.Skip(1), l => Assert.StartsWith(quoted, l, StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith(quoted + "ALL,store_visits,1,", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith(quoted + "MX,store_visits,1,", StringComparison.Ordinal));
        Assert.Matches("^daily-[0-9-]+-store-[A-Za-z0-9._-]+_[0-9a-f]{8}\\.csv$", report.FileName);
        Assert.DoesNotContain("/", report.FileName, StringComparison.Ordinal);
        var stored = new ReportStore(hub.Server.Hub.Database).Save(report, DateTimeOffset.UtcNow, null);
        Assert.Equal(Path.Combine(hub.Server.DataDirectory, "reports"), Path.GetDirectoryName(Path.GetFullPath(ReportStore.FileIn(hub.Server.Hub.Database, stored.FileName))));
    }
}
