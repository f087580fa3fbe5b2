using Atalaya.Engine.Config;
namespace Atalaya.Engine.Alerts.Notifications;

/// <summary>
/// Builds the channels of an environment's <c>alerts.channels</c>, reading their URLs and secrets
/// from environment variables or files at that moment (they are kept in memory only, never written).
/// </summary>
public static class NotificationChannels
{
    public static IReadOnlyDictionary<string, INotificationChannel> Create(AlertsSection section, HttpClient http, TimeProvider time)
    {
        var channels = new Dictionary<string, INotificationChannel>(StringComparer.Ordinal);
        foreach (var c in section.Channels)
        {
            channels[c.Name] = Create(c, http, time);
        }
        return channels;
    }

    private static INotificationChannel Create(AlertsSection.ChannelConfig c, HttpClient http, TimeProvider time)
    {
        var url = Secret(c.Url, c.UrlEnv, c.UrlFile);
        var secret = Secret(null, c.SecretEnv, c.SecretFile);
        return c.Type switch
        {
            "slack" => new SlackChannel(c.Name, http, new Uri(url!)),
            "webhook" => new WebhookChannel(c.Name, http, new Uri(url!), System.Text.Encoding.UTF8.GetBytes(secret!), time),
            "alertmanager" => new AlertmanagerChannel(c.Name, http, new Uri(url!.EndsWith('/') ? url : url + "/")),
            "email" => AlertsSection.TrySplitHostPort(c.Smtp!, out var host, out var port)
                ? new EmailChannel(c.Name, host, port, c.From!, c.To, c.Username, secret)
                : throw new InvalidOperationException($"{c.Name}: smtp is not host:port"),
            _ => throw new InvalidOperationException($"{c.Name}: unknown channel type {c.Type}"),
        };
    }

    private static string? Secret(string? value, string? variable, string? file)
    {
        if (!string.IsNullOrEmpty(value))
        {
            return value;
        }
        if (!string.IsNullOrEmpty(variable))
        {
            return System.Environment.GetEnvironmentVariable(variable);
        }
        return string.IsNullOrEmpty(file) ? null : File.ReadAllText(file).Trim();
    }
}
