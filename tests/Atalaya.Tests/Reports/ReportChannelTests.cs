using System.Text;
using Atalaya.Engine;
using Atalaya.Engine.Alerts.Notifications;
using Atalaya.Engine.Config;
using Atalaya.Engine.Demo;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Reports;
using Atalaya.Tests.Alerts;
using Atalaya.Tests.Kpi.Http;

namespace Atalaya.Tests.Reports;

/// <summary>
/// A recipient that names an alert channel gets the report through it: queued in the notification
/// outbox by the report job (so a channel that is down never fails the run, and the alert loop's
/// retries, breaker and dead letters apply), with the file attached and the headline figures and
/// link in the text; a channel the alerts section does not define stops the configuration.
/// </summary>
public sealed class ReportChannelTests
{
    private readonly string _variable = "ATALAYA_TEST_REPORT_SLACK_" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();

    private EnvironmentConfig Config() => EnvironmentFiles.Parse($$"""
        environment: dev
        alerts:
          delivery_retries: 0
          channels:
            - {name: team, type: slack, url_env: {{_variable}}}
        reports:
          recipients:
            - {name: ops-team, reports: [daily], channels: [team]}
        """, "report-channels.yaml", "dev");

    [Fact]
    public async Task A_recipients_channel_receives_the_daily_report_with_its_figures_and_link()
    {
        await using var receiver = await Receiver.StartAsync();
        Environment.SetEnvironmentVariable(_variable, receiver.Url.ToString());
        var config = Config();
        await using var hub = await KpiHub.StartWithDemoAsync(new DemoOptions(Days: 5, Seed: 8, SessionsPerDay: 40));
        var database = hub.Server.Hub.Database;

        var run = new JobRunner(database, hub.Server.Hub.Kpis, config).Run("report_daily", "test").Run!;

        Assert.Equal(RunStatus.Success, run.Status);
        var report = new ReportStore(database).List().Single(r => r.Kind == ReportKind.Daily);
        OutboxEntry queued;
        using (var connection = database.Connect())
        {
            queued = Assert.Single(NotificationOutbox.List(connection, "pending"));
        }
        Assert.Equal("team", queued.Channel);
        var attachment = Assert.Single(queued.Notification.Attachments);
        Assert.Equal(report.FileName, attachment.FileName);
        Assert.Equal(File.ReadAllBytes(ReportStore.FileIn(database, report.FileName)), attachment.Content);
        Assert.Contains($"/api/reports/{report.Id}", queued.Notification.Text);
        Assert.Contains("gmv: ", queued.Notification.Text);

        using var http = new HttpClient();
        var dispatcher = new NotificationDispatcher(database, NotificationChannels.Create(config.Alerts, http, TimeProvider.System), config.Alerts);
        var delivered = await dispatcher.DeliverPendingAsync();

        Assert.Equal((1, 0), (delivered.Sent, delivered.DeadLettered));
        var request = Assert.Single(receiver.Accepted);
        Assert.Contains(report.Id, Encoding.UTF8.GetString(request.Body));
    }

    [Fact]
    public void A_recipient_naming_a_channel_the_alerts_section_lacks_stops_the_configuration()
    {
        var problem = Assert.Throws<ConfigException>(() => EnvironmentFiles.Parse("""
            environment: dev
            reports:
              recipients:
                - {name: ops-team, channels: [mail]}
            """, "report-channels.yaml", "dev"));

        Assert.Contains("reports.recipients[0].channels: 'mail' is not a channel of alerts.channels (none is configured)", problem.Message);
    }
}
