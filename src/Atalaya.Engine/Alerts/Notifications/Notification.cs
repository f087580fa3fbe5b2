namespace Atalaya.Engine.Alerts.Notifications;

/// <summary>
/// A message for people: what every channel delivers (an alert firing or resolved, or — for other
/// features such as reports — any text with files attached). Channels render it their own way: a
/// Slack text, a signed JSON body, an e-mail with attachments, an Alertmanager alert.
/// </summary>
public sealed record Notification(string Title, string Text)
{
    /// <summary>info, warning or critical.</summary>
    public string Severity { get; init; } = "info";

    /// <summary>firing, resolved, or message (not an alert).</summary>
    public string Status { get; init; } = "message";

    public string? AlertId { get; init; }

    public string? Rule { get; init; }

    public string? Subject { get; init; }

    public double? Value { get; init; }

    public double? Threshold { get; init; }

    public DateTimeOffset StartsAt { get; init; }

    public DateTimeOffset? EndsAt { get; init; }

    /// <summary>Files to deliver with the message (e-mail attaches them; the webhook carries them base64; Slack lists their names).</summary>
    public IReadOnlyList<NotificationAttachment> Attachments { get; init; } = [];
}

public sealed record NotificationAttachment(string FileName, string ContentType, byte[] Content);

/// <summary>
/// Delivers a <see cref="Notification"/> one way. One attempt per call: retries, the circuit
/// breaker and the dead-letter outbox are the dispatcher's (<see cref="NotificationDispatcher"/>).
/// Throw <see cref="ChannelException"/>: transient (retry, maybe after Retry-After) or not.
/// </summary>
public interface INotificationChannel
{
    string Name { get; }

    /// <summary>slack, webhook, email or alertmanager.</summary>
    string Type { get; }

    Task SendAsync(Notification notification, CancellationToken cancellationToken);
}

/// <summary>A delivery that failed. The message never holds a secret (URLs with tokens, keys, passwords are redacted).</summary>
internal sealed class ChannelException(string message, bool transient, TimeSpan? retryAfter = null) : Exception(message)
{
    /// <summary>Worth retrying: a timeout, a refused connection, 408, 429, 5xx.</summary>
    public bool Transient { get; } = transient;

    /// <summary>What the receiver asked for with Retry-After.</summary>
    public TimeSpan? RetryAfter { get; } = retryAfter;
}
