using Atalaya.Engine.Config;
using Atalaya.Engine.Jobs;

namespace Atalaya.Engine.Reports;

/// <summary>
/// The scheduled report jobs (<c>report_daily</c>, <c>report_weekly</c>, <c>report_monthly</c>; cron
/// in <c>reports.*_schedule</c>). A run builds its period's report for the whole platform (in
/// <c>reports.locale</c>) and for every recipient's scope and language, stores each (replacing a
/// rerun's), delivers it to the recipients who asked for it, then drops reports older than
/// <c>reports.retention_days</c>. The period depends only on the run's UTC day, so every run of one
/// day (a retry, a catch-up after a restart) rewrites the same reports instead of adding some.
/// </summary>
internal static class ReportJobs
{
    public static IEnumerable<JobDefinition> All() => ReportKinds.All.Select(kind => new JobDefinition(
        ReportKinds.JobName(kind), Description(kind), $"reports.{ReportKinds.Name(kind)}_schedule", ReportKinds.JobName(kind), c => Run(c, kind)));

    private static string Description(ReportKind kind) => kind switch
    {
        ReportKind.Daily => "Daily CSV report of yesterday (platform and each recipient's scope), kept under reports/ and delivered.",
        ReportKind.Weekly => "Weekly HTML report: the 7 and 28 days ending yesterday, for the platform and each recipient.",
        _ => "Monthly HTML report of the last whole month, with the top 5 sources and countries, for the platform and each recipient.",
    };

    /// <summary>The reports a run builds: the platform's, then one per distinct recipient scope and language, with who receives each.</summary>
    public static IReadOnlyList<(ReportScope Scope, string Locale, IReadOnlyList<EnvironmentConfig.ReportRecipient> Recipients)> Targets(
        EnvironmentConfig config, ReportKind kind)
    {
        var wanting = config.Reports.Recipients.Where(r => r.Reports.Contains(ReportKinds.Name(kind))).ToList();
        var targets = new List<(ReportScope, string, IReadOnlyList<EnvironmentConfig.ReportRecipient>)>();
        var platformLocale = kind == ReportKind.Daily ? "en" : config.Reports.Locale;
        foreach (var group in wanting
            .Select(r => (Recipient: r, Scope: ScopeOf(r), Locale: kind == ReportKind.Daily ? "en" : r.Locale))
            .Append((Recipient: null!, Scope: ReportScope.All, Locale: platformLocale))
            .GroupBy(t => (t.Scope, t.Locale)))
        {
            targets.Add((group.Key.Scope, group.Key.Locale, group.Where(t => t.Recipient is not null).Select(t => t.Recipient).ToList()));
        }
        // The platform's report first, then by id, so runs list their steps in a stable order.
        return targets.OrderBy(t => t.Item1.Kind != ReportScopeKind.All).ThenBy(t => t.Item1.Label, StringComparer.Ordinal)
            .ThenBy(t => t.Item2, StringComparer.Ordinal).ToList();
    }

    public static ReportScope ScopeOf(EnvironmentConfig.ReportRecipient recipient) =>
        recipient.Store is { } store ? ReportScope.Store(store) : recipient.Country is { } country ? ReportScope.Country(country) : ReportScope.All;

    private static List<StepOutcome> Run(JobContext c, ReportKind kind)
    {
        var now = c.Time.GetUtcNow();
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var date = ReportPeriod.DefaultDate(kind, today);
        var period = ReportPeriod.For(kind, date);
        var builder = new ReportBuilder(c.Engine, c.ReportingCurrency, new Quality.FigureHealthReader(c.Database, c.Engine.Dictionary, Catalog.EventCatalog.Default, c.Engine, Quality.QualityRows.For(c.Database, c.Shared)));
        var store = ReportStore.For(c.Database, c.Shared);
        var delivery = new ChannelDelivery(Alerts.AlertRows.Of(c.Database, c.Shared), new FolderDelivery(Path.Combine(c.Database.DataDirectory, ReportStore.Folder, FolderDelivery.Folder)), c.Time);
        var steps = new List<StepOutcome>();
        foreach (var (scope, locale, recipients) in Targets(c.Config, kind))
        {
            var step = ReportBuilder.Id(kind, period, scope, locale);
            try
            {
                var report = builder.Build(new ReportRequest(kind, date, scope, locale), now);
                store.Save(report, now, c.RunId);
                var failed = new List<string>();
                foreach (var recipient in recipients)
                {
                    try
                    {
                        delivery.Deliver(recipient, report);
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or Microsoft.Data.Sqlite.SqliteException)
                    {
                        failed.Add($"{recipient.Name}: {e.Message}");
                    }
                }
                var note = recipients.Count == 0 ? "stored" : "stored; delivered to " + string.Join(", ", recipients.Select(r => r.Name).Except(failed.Select(f => f.Split(':')[0])));
                steps.Add(new StepOutcome(step, failed.Count == 0, 1, period.Start, period.End, failed.Count == 0 ? null : "delivery failed for " + string.Join("; ", failed))
                {
                    Note = note,
                });
            }
            catch (Exception e) when (e is ReportException or IOException or UnauthorizedAccessException or Postgres.StateUnavailableException)
            {
                steps.Add(new StepOutcome(step, false, 0, period.Start, period.End, e.Message));
            }
        }
        try
        {
            var expired = store.Expire(today, c.Config.Reports.RetentionDays);
            steps.Add(new StepOutcome("retention", true, expired, null, null, null) { Note = $"reports whose period ended over {c.Config.Reports.RetentionDays} days ago deleted" });
        }
        catch (Exception e) when (e is IOException or Postgres.StateUnavailableException)
        {
            steps.Add(new StepOutcome("retention", false, 0, null, null, e.Message));
        }
        return steps;
    }
}
