using Atalaya.Engine.Config;

namespace Atalaya.Engine.Reports;

/// <summary>
/// Hands a stored report (its content as stored) to one recipient: <see cref="FolderDelivery"/> always, and
/// <see cref="ChannelDelivery"/> through the alert channels the recipient names
/// (<see cref="EnvironmentConfig.ReportRecipient.Channels"/>).
/// </summary>
internal interface IReportDelivery
{
    /// <summary>Delivers; throws <see cref="IOException"/> (or the channel's error) when it could not.</summary>
    void Deliver(EnvironmentConfig.ReportRecipient recipient, ReportFile report);
}

/// <summary>
/// Delivery to a folder: <c>reports/outbox/NAME/FILE</c> under the data folder, plus
/// <c>FILE.summary.txt</c> with the three headline figures, what a Slack message will say. A rerun
/// overwrites both, like the stored report.
/// </summary>
internal sealed class FolderDelivery(string outbox) : IReportDelivery
{
    public const string Folder = "outbox";

    public string Outbox { get; } = outbox;

    public void Deliver(EnvironmentConfig.ReportRecipient recipient, ReportFile report)
    {
        var folder = Path.Combine(Outbox, recipient.Name);
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, report.FileName), report.Content);
        File.WriteAllText(Path.Combine(folder, report.FileName + ".summary.txt"), Summary(recipient, report));
    }

    /// <summary>The report's id, its three headline figures with their change, and its link: what a Slack message says.</summary>
    public static string Summary(EnvironmentConfig.ReportRecipient recipient, ReportFile report)
    {
        var locale = ReportLocale.Get(recipient.Locale);
        var lines = report.Headline.Select(c =>
            $"{Kpi.KpiIds.Name(c.Metric)}: {(c.Value is { } v ? Kpi.KpiValues.Clean(v).ToString("R", System.Globalization.CultureInfo.InvariantCulture) : "-")} ({locale.Change(c.ChangePct)})");
        return $"{report.Id}\n{string.Join("\n", lines)}\n/api/reports/{report.Id}\n";
    }
}

/// <summary>
/// Delivery through the alert channels (docs/alerts.md): the folder outbox first, then one message
/// per channel the recipient names, queued in the notification outbox (the hub's, or on a cluster the one in PostgreSQL). The
/// alert loop of <c>serve</c> sends it with the same retries, circuit breaker and dead letters as an
/// alert (and <c>atalaya notifications replay</c> resends a dead-lettered one): e-mail carries the
/// file attached, Slack and webhooks the headline figures and the report's link.
/// </summary>
internal sealed class ChannelDelivery(Alerts.IAlertRows outbox, FolderDelivery folder, TimeProvider time) : IReportDelivery
{
    public void Deliver(EnvironmentConfig.ReportRecipient recipient, ReportFile report)
    {
        folder.Deliver(recipient, report);
        if (recipient.Channels.Count == 0)
        {
            return;
        }
        var notification = new Alerts.Notifications.Notification($"Atalaya {report.Kind.ToString().ToLowerInvariant()} report {report.Id}", FolderDelivery.Summary(recipient, report))
        {
            Subject = report.Id,
            Attachments = [new Alerts.Notifications.NotificationAttachment(report.FileName, report.ContentType, report.Content)],
        };
        outbox.Enqueue([.. recipient.Channels.Select(channel => (channel, notification))], time.GetUtcNow());
    }
}
