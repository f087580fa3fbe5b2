using System.Text.Json.Nodes;

namespace Atalaya.Engine.Alerts.Notifications;

/// <summary>
/// Prometheus Alertmanager's API: <c>POST /api/v2/alerts</c> with one alert (labels alertname,
/// severity, rule, subject; annotations summary and description). A resolved alert is sent with
/// its endsAt, which resolves it in Alertmanager.
/// </summary>
internal sealed class AlertmanagerChannel(string name, HttpClient http, Uri baseUrl) : INotificationChannel
{
    public string Name => name;

    public string Type => "alertmanager";

    public Task SendAsync(Notification n, CancellationToken cancellationToken)
    {
        var labels = new JsonObject
        {
            ["alertname"] = n.Rule ?? "atalaya_message",
            ["severity"] = n.Severity,
            ["source"] = "atalaya",
        };
        if (!string.IsNullOrEmpty(n.Subject))
        {
            labels["subject"] = n.Subject;
        }
        var alert = new JsonObject
        {
            ["labels"] = labels,
            ["annotations"] = new JsonObject { ["summary"] = n.Title, ["description"] = n.Text },
            ["startsAt"] = n.StartsAt.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        };
        if (n.EndsAt is { } end)
        {
            alert["endsAt"] = end.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        }
        var content = new StringContent(new JsonArray(alert).ToJsonString(), System.Text.Encoding.UTF8, "application/json");
        return HttpChannel.PostAsync(http, name, new Uri(baseUrl, "api/v2/alerts"), content, null, [], cancellationToken);
    }
}
