using System.Globalization;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Atalaya.Engine;
using Atalaya.Engine.Alerts.Notifications;
using Atalaya.Tests.Support;
using MimeKit;
using Polly.CircuitBreaker;

namespace Atalaya.Tests.Alerts;

/// <summary>
/// Delivery through real receivers on 127.0.0.1: a webhook receiver (Slack's stands in the same
/// way), Debian's aiosmtpd for e-mail and prometheus-alertmanager. Retries honour Retry-After, the
/// breaker opens and half-opens, what fails is dead-lettered and replayed.
/// </summary>
public sealed class ChannelTests : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "atalaya-channels-" + Guid.NewGuid().ToString("N"));
    private readonly string _secretVariable = "ATALAYA_TEST_SECRET_" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();
    private readonly string _secret = "whsec-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(12));
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private Hub _hub = null!;

    public Task InitializeAsync()
    {
        _hub = Hub.Open(_directory);
        Environment.SetEnvironmentVariable(_secretVariable, _secret);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        Environment.SetEnvironmentVariable(_secretVariable, null);
        _http.Dispose();
        await _hub.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task A_webhook_answering_503_twice_gets_exactly_one_accepted_signed_delivery()
    {
        await using var receiver = await Receiver.StartAsync();
        receiver.Answer = n => n < 2 ? (503, n == 0 ? 1 : null, "busy") : (200, null, "ok");
        var dispatcher = Dispatcher($"{{name: ops, type: webhook, url: \"{receiver.Url}\", secret_env: {_secretVariable}}}", retries: 3);
        Enqueue("ops", new Notification("[CRITICAL] gmv-floor", "gmv is 10, below 1000") { Severity = "critical", Status = "firing", Rule = "gmv-floor" });

        var report = await dispatcher.DeliverPendingAsync();

        Assert.Equal(new DeliveryReport(1, 0), report);
        Assert.Equal(3, receiver.Requests.Count);
        var delivered = Assert.Single(receiver.Accepted);
        // Signature: t=<unix>,v1=<hex HMAC-SHA256(key, "t.body")>, checked the way a receiver would.
        var header = delivered.Headers["X-Atalaya-Signature"];
        var parts = header.Split(',').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        var signed = Encoding.ASCII.GetBytes(parts["t"] + ".").Concat(delivered.Body).ToArray();
        Assert.Equal(Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(_secret), signed)), parts["v1"]);
        Assert.InRange(long.Parse(parts["t"], CultureInfo.InvariantCulture), DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        using var body = JsonDocument.Parse(delivered.Body);
        Assert.Equal("gmv-floor", body.RootElement.GetProperty("rule").GetString());
        Assert.Equal("firing", body.RootElement.GetProperty("status").GetString());
        var sent = Assert.Single(Outbox("sent"));
        Assert.Equal(3, sent.Attempts);
        Assert.DoesNotContain(_secret, Encoding.UTF8.GetString(delivered.Body), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_breaker_opens_after_repeated_failures_and_half_opens_after_its_break()
    {
        await using var receiver = await Receiver.StartAsync();
        receiver.Answer = _ => (503, null, "down");
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var dispatcher = Dispatcher($"{{name: team, type: slack, url_env: {_secretVariable}_URL}}", retries: 0, clock, url: receiver.Url.ToString());
        for (var i = 0; i < 4; i++)
        {
            Enqueue("team", new Notification($"n{i}", "x"));
            await dispatcher.DeliverPendingAsync();
        }
        Assert.Equal(CircuitState.Open, dispatcher.Circuit("team"));
        Assert.Equal(4, receiver.Requests.Count);

        Enqueue("team", new Notification("n4", "x"));
        Assert.Equal(new DeliveryReport(0, 1), await dispatcher.DeliverPendingAsync());
        Assert.Equal(4, receiver.Requests.Count); // not even tried
        Assert.Contains("circuit is open", Outbox("dead")[^1].LastError, StringComparison.Ordinal);
        // The Slack URL is the secret: no error message carries it.
        Assert.All(Outbox("dead"), e => Assert.DoesNotContain("secretpath", e.LastError, StringComparison.Ordinal));

        clock.Advance(TimeSpan.FromSeconds(31));
        var seen = new List<CircuitState>();
        receiver.OnRequest = _ => seen.Add(dispatcher.Circuit("team"));
        receiver.Answer = _ => (200, null, "ok");
        var (requeued, report) = await dispatcher.ReplayAsync(null);
        Assert.Equal((5, new DeliveryReport(5, 0)), (requeued, report));
        Assert.Equal(CircuitState.HalfOpen, seen[0]);
        Assert.Equal(CircuitState.Closed, dispatcher.Circuit("team"));
        Assert.Equal(5, receiver.Accepted.Count());
        Assert.Contains("*n0*", Encoding.UTF8.GetString(receiver.Accepted.First().Body), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Email_goes_through_a_real_SMTP_server_with_its_attachment()
    {
        var port = ExternalTool.FreePort();
        var maildir = Path.Combine(_directory, "maildir");
        var smtp = ExternalTool.Start("/usr/bin/python3", "-m", "aiosmtpd", "-n", "-l", $"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Mailbox", maildir);
        try
        {
            await Wait.UntilAsync(() => Task.FromResult(CanConnect(port)), "aiosmtpd to listen");
            var dispatcher = Dispatcher($"{{name: mail, type: email, smtp: \"127.0.0.1:{port}\", from: \"atalaya@example.test\", to: [\"ops@example.test\", \"cto@example.test\"]}}", retries: 2);
            var csv = Encoding.UTF8.GetBytes("day,gmv\n2026-11-19,1234.5\n");
            Enqueue("mail", new Notification("Daily report", "Attached: yesterday's figures.") { Attachments = [new NotificationAttachment("daily.csv", "text/csv", csv)] });

            Assert.Equal(new DeliveryReport(1, 0), await dispatcher.DeliverPendingAsync());

            string[] files = [];
            await Wait.UntilAsync(() => Task.FromResult((files = Directory.Exists(Path.Combine(maildir, "new")) ? Directory.GetFiles(Path.Combine(maildir, "new")) : []).Length > 0), "the message in the maildir");
            using var message = await MimeMessage.LoadAsync(Assert.Single(files));
            Assert.Equal("Daily report", message.Subject);
            Assert.Equal(["ops@example.test", "cto@example.test"], message.To.Mailboxes.Select(m => m.Address));
            Assert.Contains("yesterday's figures", message.TextBody, StringComparison.Ordinal);
            var attachment = Assert.IsAssignableFrom<MimePart>(Assert.Single(message.Attachments));
            Assert.Equal("daily.csv", attachment.FileName);
            using var content = new MemoryStream();
            await attachment.Content!.DecodeToAsync(content);
            Assert.Equal(csv, content.ToArray());
        }
        finally
        {
            ExternalTool.Stop(smtp);
        }
    }

    [Fact]
    public async Task Email_to_a_server_that_is_down_is_dead_lettered_and_replayed_once_it_is_up()
    {
        var port = ExternalTool.FreePort();
        var dispatcher = Dispatcher($"{{name: mail, type: email, smtp: \"127.0.0.1:{port}\", from: \"a@example.test\", to: [\"b@example.test\"]}}", retries: 1);
        Enqueue("mail", new Notification("t", "x"));
        Assert.Equal(new DeliveryReport(0, 1), await dispatcher.DeliverPendingAsync());
        Assert.Contains("cannot talk to the SMTP server", Outbox("dead")[0].LastError, StringComparison.Ordinal);

        var maildir = Path.Combine(_directory, "maildir2");
        var smtp = ExternalTool.Start("/usr/bin/python3", "-m", "aiosmtpd", "-n", "-l", $"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Mailbox", maildir);
        try
        {
            await Wait.UntilAsync(() => Task.FromResult(CanConnect(port)), "aiosmtpd to listen");
            Assert.Equal((1, new DeliveryReport(1, 0)), await dispatcher.ReplayAsync("mail"));
            Assert.Empty(Outbox("dead"));
        }
        finally
        {
            ExternalTool.Stop(smtp);
        }
    }

    [Fact]
    public async Task Alertmanager_receives_the_alert_and_its_resolution()
    {
        var port = ExternalTool.FreePort();
        var folder = Path.Combine(_directory, "alertmanager");
        Directory.CreateDirectory(folder);
        var config = Path.Combine(folder, "alertmanager.yml");
        await File.WriteAllTextAsync(config, "route:\n  receiver: none\nreceivers:\n  - name: none\n");
        var am = ExternalTool.Start("prometheus-alertmanager", $"--config.file={config}", $"--storage.path={folder}",
            $"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=");
        try
        {
            var baseUrl = $"http://127.0.0.1:{port}";
            await Wait.UntilAsync(async () => await Ok($"{baseUrl}/-/ready"), "alertmanager to be ready");
            var dispatcher = Dispatcher($"{{name: am, type: alertmanager, url: \"{baseUrl}\"}}", retries: 2);
            var started = DateTimeOffset.UtcNow.AddMinutes(-1);
            var firing = new Notification("[CRITICAL] gmv-floor", "gmv is 10") { Severity = "critical", Status = "firing", Rule = "gmv-floor", Subject = "", StartsAt = started };
            Enqueue("am", firing);
            Assert.Equal(new DeliveryReport(1, 0), await dispatcher.DeliverPendingAsync());

            using (var alerts = JsonDocument.Parse(await _http.GetStringAsync($"{baseUrl}/api/v2/alerts")))
            {
                var alert = Assert.Single(alerts.RootElement.EnumerateArray());
                Assert.Equal("gmv-floor", alert.GetProperty("labels").GetProperty("alertname").GetString());
                Assert.Equal("critical", alert.GetProperty("labels").GetProperty("severity").GetString());
                Assert.Equal("gmv is 10", alert.GetProperty("annotations").GetProperty("description").GetString());
            }

            Enqueue("am", firing with { Status = "resolved", Title = "[RESOLVED] gmv-floor", EndsAt = DateTimeOffset.UtcNow.AddSeconds(-1) });
            Assert.Equal(new DeliveryReport(1, 0), await dispatcher.DeliverPendingAsync());
            await Wait.UntilAsync(async () => JsonDocument.Parse(await _http.GetStringAsync($"{baseUrl}/api/v2/alerts")).RootElement.GetArrayLength() == 0,
                "alertmanager to drop the resolved alert");
        }
        finally
        {
            ExternalTool.Stop(am);
        }
    }

    private async Task<bool> Ok(string url)
    {
        try
        {
            using var response = await _http.GetAsync(url);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private static bool CanConnect(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect("127.0.0.1", port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private NotificationDispatcher Dispatcher(string channel, int retries, TimeProvider? time = null, string? url = null)
    {
        if (url is not null)
        {
            Environment.SetEnvironmentVariable(_secretVariable + "_URL", url);
        }
        var yaml = $"""
            environment: dev
            alerts:
              delivery_retries: {retries}
              delivery_base_delay: 50ms
              breaker_open_for: 30s
              channels:
                - {channel}
            """;
        var config = EnvironmentFiles.Parse(yaml, "test.yaml", "dev");
        var clock = time ?? TimeProvider.System;
        return new NotificationDispatcher(_hub.Database, NotificationChannels.Create(config.Alerts, _http, clock), config.Alerts, clock);
    }

    private void Enqueue(string channel, Notification notification)
    {
        using var connection = _hub.Database.Connect();
        NotificationOutbox.Enqueue(connection, channel, notification, DateTimeOffset.UtcNow);
    }

    private List<OutboxEntry> Outbox(string state)
    {
        using var connection = _hub.Database.Connect();
        return [.. NotificationOutbox.List(connection, state)];
    }
}
