using Atalaya.Engine.Config;

namespace Atalaya.Engine.Reports;

/// <summary>
/// Hands a stored report to one recipient. Today the only way is <see cref="FolderDelivery"/>; the
/// e-mail (file attached) and Slack (the headline figures and a link) channels of the alerts feature
/// plug in here when they exist, choosing by <see cref="EnvironmentConfig.ReportRecipient.Channels"/>.
/// </summary>
public interface IReportDelivery
{
    /// <summary>Delivers; throws <see cref="IOException"/> (or the channel's error) when it could not.</summary>
    void Deliver(EnvironmentConfig.ReportRecipient recipient, ReportFile report, string storedPath);
}

/// <summary>
/// Delivery to a folder: <c>reports/outbox/NAME/FILE</c> under the data folder, plus
/// <c>FILE.summary.txt</c> with the three headline figures, what a Slack message will say. A rerun
/// overwrites both, like the stored report.
/// </summary>
public sealed class FolderDelivery(string outbox) : IReportDelivery
{
    public const string Folder = "outbox";

    public string Outbox { get; } = outbox;

    public void Deliver(EnvironmentConfig.ReportRecipient recipient, ReportFile report, string storedPath)
    {
        var folder = Path.Combine(Outbox, recipient.Name);
        Directory.CreateDirectory(folder);
        File.Copy(storedPath, Path.Combine(folder, report.FileName), overwrite: true);
        var locale = ReportLocale.Get(recipient.Locale);
        var lines = report.Headline.Select(c =>
            $"{KpiName(c.Metric)}: {(c.Value is { } v ? Kpi.KpiValues.Clean(v).ToString("R", System.Globalization.CultureInfo.InvariantCulture) : "-")} ({locale.Change(c.ChangePct)})");
        File.WriteAllText(Path.Combine(folder, report.FileName + ".summary.txt"),
            $"{report.Id}\n{string.Join("\n", lines)}\n/api/reports/{report.Id}\n");
    }

    private static string KpiName(Kpi.KpiId id) => Kpi.KpiIds.Name(id);
}
