using System.Text;
using System.Text.Json;

namespace Atalaya.Engine.Alerts.Notifications;

/// <summary>A Slack incoming webhook: <c>{"text": …}</c> in mrkdwn. The URL is the secret, so it comes from an environment variable or a file.</summary>
internal sealed class SlackChannel(string name, HttpClient http, Uri url) : INotificationChannel
{
    public string Name => name;

    public string Type => "slack";

    public Task SendAsync(Notification notification, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        text.Append('*').Append(notification.Title).Append("*\n").Append(notification.Text);
        foreach (var file in notification.Attachments)
        {
            // Incoming webhooks cannot carry files; say what was attached elsewhere.
            text.Append("\n_attachment: ").Append(file.FileName).Append('_');
        }
        var body = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["text"] = text.ToString() }, AlertsJson.Default.DictionaryStringString);
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new("application/json");
        return HttpChannel.PostAsync(http, name, url, content, null, [url.ToString()], cancellationToken);
    }
}
