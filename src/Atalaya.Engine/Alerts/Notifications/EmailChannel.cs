using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Atalaya.Engine.Alerts.Notifications;

/// <summary>
/// E-mail over SMTP (MailKit): plain text body, the notification's files attached. STARTTLS is used
/// when the server offers it; the password, when there is one, comes from an environment variable or a file.
/// </summary>
internal sealed class EmailChannel(string name, string host, int port, string from, IReadOnlyList<string> to, string? username, string? password) : INotificationChannel
{
    public string Name => name;

    public string Type => "email";

    public async Task SendAsync(Notification notification, CancellationToken cancellationToken)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(from));
        foreach (var address in to)
        {
            message.To.Add(MailboxAddress.Parse(address));
        }
        message.Subject = notification.Title;
        var body = new BodyBuilder { TextBody = notification.Text };
        foreach (var file in notification.Attachments)
        {
            body.Attachments.Add(file.FileName, file.Content, ContentType.Parse(file.ContentType));
        }
        message.Body = body.ToMessageBody();
        using var client = new SmtpClient();
        client.Timeout = 30_000;
        try
        {
            await client.ConnectAsync(host, port, SecureSocketOptions.StartTlsWhenAvailable, cancellationToken).ConfigureAwait(false);
            if (username is not null)
            {
                await client.AuthenticateAsync(username, password ?? "", cancellationToken).ConfigureAwait(false);
            }
            await client.SendAsync(message, cancellationToken).ConfigureAwait(false);
            await client.DisconnectAsync(true, cancellationToken).ConfigureAwait(false);
        }
        catch (SmtpCommandException e)
        {
            // 4xx replies are temporary by definition (RFC 5321); 5xx are not.
            var code = (int)e.StatusCode;
            throw new ChannelException($"{name}: the SMTP server answered {code}: {Redact(e.Message)}", transient: code is >= 400 and < 500);
        }
        catch (AuthenticationException)
        {
            throw new ChannelException($"{name}: the SMTP server refused the user name or password", transient: false);
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or SmtpProtocolException or TimeoutException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new ChannelException($"{name}: cannot talk to the SMTP server {host}:{port} ({Redact(e.Message)})", transient: true);
        }
    }

    private string Redact(string text) => password is { Length: >= 4 } p ? text.Replace(p, "[redacted]", StringComparison.Ordinal) : text;
}
