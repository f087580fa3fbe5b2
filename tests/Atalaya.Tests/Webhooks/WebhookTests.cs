using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Atalaya.Engine;
using Atalaya.Engine.Config;
using Atalaya.Engine.Connectors;
using Atalaya.Engine.Webhooks;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Webhooks;

/// <summary>
/// POST /api/webhooks/{provider} on a real hub: Stripe-style HMAC-SHA256 signatures with a
/// 5-minute tolerance, replays refused, bodies stored before the answer, mapped to catalog events
/// through the collector's validation and dedupe, failures kept as dead letters and replayed.
/// </summary>
public sealed class WebhookTests : IAsyncLifetime
{
    private readonly string _secretVariable = "ATALAYA_TEST_WH_" + Guid.NewGuid().ToString("N").ToUpperInvariant();
    private readonly string _secret = "whsec_" + Guid.NewGuid().ToString("N");
    private TestHub _hub = null!;

    public async Task InitializeAsync()
    {
        Environment.SetEnvironmentVariable(_secretVariable, _secret);
        _hub = await TestHub.StartAsync(o => o with { Config = Config("stripe") });
    }

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        Environment.SetEnvironmentVariable(_secretVariable, null);
    }

    /// <summary>Provider "payments" maps Stripe events; provider "orders" uses <paramref name="ordersMapping"/>.</summary>
    private EnvironmentConfig Config(string ordersMapping) => EnvironmentFiles.Parse($"""
        environment: dev
        webhooks:
          payments:
            secret_env: {_secretVariable}
            signature_header: Stripe-Signature
            mapping: stripe
          orders:
            secret_env: {_secretVariable}
            mapping: {ordersMapping}
        """, "test.yaml", "dev");

    private static string PaymentSucceeded(string eventId, long amount = 12345, string currency = "mxn") => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["id"] = eventId,
        ["object"] = "event",
        ["type"] = "payment_intent.succeeded",
        ["created"] = DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds(),
        ["data"] = new Dictionary<string, object>
        {
            ["object"] = new Dictionary<string, object>
            {
                ["id"] = "pi_" + eventId,
                ["object"] = "payment_intent",
                ["amount"] = amount,
                ["amount_received"] = amount,
                ["currency"] = currency,
                ["metadata"] = new Dictionary<string, string> { ["order_id"] = "o-" + eventId },
            },
        },
    });

    private static string OrderDelivered(string eventId) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["id"] = eventId,
        ["type"] = "order.status_changed",
        ["occurred_at"] = DateTimeOffset.UtcNow.AddMinutes(-2).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        ["order"] = new Dictionary<string, object> { ["id"] = "o-77", ["store_id"] = "s-1", ["status"] = "EN_CAMINO" },
    });

    private Task<HttpResponseMessage> PostAsync(string provider, string body, string? signature, string header = "Stripe-Signature")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/api/webhooks/{provider}") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (signature is not null)
        {
            request.Headers.TryAddWithoutValidation(header, signature);
        }
        return _hub.Client.SendAsync(request);
    }

    private string Sign(string body, DateTimeOffset? at = null, string? secret = null) =>
        WebhookSignature.Sign(secret ?? _secret, (at ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds(), Encoding.UTF8.GetBytes(body));

    private long Count(string sql)
    {
        using var connection = _hub.Hub.Database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private string? Text(string sql)
    {
        using var connection = _hub.Hub.Database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar()?.ToString();
    }

    [Fact]
    public async Task A_signed_payment_is_stored_then_becomes_a_payment_succeeded_event()
    {
        var body = PaymentSucceeded("evt_1");

        using var response = await PostAsync("payments", body, Sign(body));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("mapped", answer.RootElement.GetProperty("status").GetString());
        Assert.Equal(1, answer.RootElement.GetProperty("events").GetInt32());
        Assert.Equal(body, Text("SELECT CAST(body AS TEXT) FROM webhook_inbox WHERE provider = 'payments'"));
        Assert.Equal("payment_succeeded", Text("SELECT event_type FROM raw_events WHERE event_id = 'payments:evt_1'"));
        Assert.Equal("123.45", Text("SELECT json_extract(event, '$.properties.amount') FROM raw_events WHERE event_id = 'payments:evt_1'"));
        Assert.Equal("MXN", Text("SELECT json_extract(event, '$.properties.currency') FROM raw_events WHERE event_id = 'payments:evt_1'"));
        Assert.Equal("o-evt_1", Text("SELECT json_extract(event, '$.properties.order_id') FROM raw_events WHERE event_id = 'payments:evt_1'"));
        Assert.Equal("webhook_payments", Text("SELECT source_system FROM raw_events WHERE event_id = 'payments:evt_1'"));
    }

    [Fact]
    public async Task The_same_signed_request_sent_again_is_refused_as_a_replay()
    {
        var body = PaymentSucceeded("evt_2");
        var signature = Sign(body);
        using var first = await PostAsync("payments", body, signature);

        using var again = await PostAsync("payments", body, signature);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Contains("replay refused", await again.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(1, Count("SELECT count(*) FROM webhook_inbox"));
    }

    [Fact]
    public async Task A_delivery_stored_but_never_processed_is_processed_by_the_providers_retry_not_refused()
    {
        // The hub stored the body, then failed before mapping it (the shared state or the queue went
        // away) and answered 503: the body is in the inbox, still 'stored', with no event from it.
        var body = PaymentSucceeded("evt_retry");
        var signature = Sign(body);
        var stored = WebhookInbox.For(_hub.Hub.Database, null).Store("payments", WebhookSignature.Parse(signature)!.Value.Timestamp, signature, Encoding.UTF8.GetBytes(body), DateTimeOffset.UtcNow);

        using var retry = await PostAsync("payments", body, signature);
        using var again = await PostAsync("payments", body, signature);

        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        using (var answer = JsonDocument.Parse(await retry.Content.ReadAsStringAsync()))
        {
            Assert.Equal((stored.Id, "mapped"), (answer.RootElement.GetProperty("id").GetInt64(), answer.RootElement.GetProperty("status").GetString()));
        }
        Assert.Equal("payment_succeeded", Text("SELECT event_type FROM raw_events WHERE event_id = 'payments:evt_retry'"));
        Assert.Equal(1, Count("SELECT count(*) FROM webhook_inbox"));
        // Once processed, the same signature is a replay again.
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
    }

    [Fact]
    public async Task A_provider_retry_with_a_new_signature_is_stored_but_the_event_only_once()
    {
        var body = PaymentSucceeded("evt_3");
        using var first = await PostAsync("payments", body, Sign(body, DateTimeOffset.UtcNow.AddSeconds(-30)));

        using var retry = await PostAsync("payments", body, Sign(body));

        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        using var answer = JsonDocument.Parse(await retry.Content.ReadAsStringAsync());
        Assert.Equal(0, answer.RootElement.GetProperty("events").GetInt32());
        Assert.Equal(2, Count("SELECT count(*) FROM webhook_inbox"));
        Assert.Equal(1, Count("SELECT count(*) FROM raw_events WHERE event_id = 'payments:evt_3'"));
    }

    [Theory]
    [InlineData(-360, HttpStatusCode.BadRequest, " s old; at most 300 s")]
    [InlineData(400, HttpStatusCode.BadRequest, "in the future")]
    [InlineData(-290, HttpStatusCode.OK, "stored")]
    public async Task Signatures_older_or_newer_than_five_minutes_are_refused(int offsetSeconds, HttpStatusCode expected, string message)
    {
        var body = PaymentSucceeded("evt_t" + offsetSeconds.ToString(CultureInfo.InvariantCulture));

        using var response = await PostAsync("payments", body, Sign(body, DateTimeOffset.UtcNow.AddSeconds(offsetSeconds)));

        Assert.Equal(expected, response.StatusCode);
        Assert.Contains(message, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(expected == HttpStatusCode.OK ? 1 : 0, Count("SELECT count(*) FROM webhook_inbox"));
    }

    [Fact]
    public async Task Bad_signatures_and_unknown_providers_get_a_clear_4xx_and_store_nothing()
    {
        var body = PaymentSucceeded("evt_4");

        using var wrongSecret = await PostAsync("payments", body, Sign(body, secret: "whsec_other"));
        using var tampered = await PostAsync("payments", body.Replace("12345", "99999", StringComparison.Ordinal), Sign(body));
        using var missing = await PostAsync("payments", body, null);
        using var malformed = await PostAsync("payments", body, "sha256=abc");
        using var unknown = await PostAsync("paypal", body, Sign(body));

        Assert.Equal(HttpStatusCode.Unauthorized, wrongSecret.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, tampered.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Contains("Stripe-Signature header is missing", await missing.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("configured: orders, payments", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0, Count("SELECT count(*) FROM webhook_inbox"));
    }

    [Fact]
    public async Task A_payload_the_catalog_rejects_is_kept_as_a_dead_letter_and_acknowledged()
    {
        var body = PaymentSucceeded("evt_5", currency: "pesos");

        using var response = await PostAsync("payments", body, Sign(body));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("dead", Text("SELECT status FROM webhook_inbox"));
        var letters = ConnectorRows.For(_hub.Hub.Database, null);
        var letter = Assert.Single(letters.DeadLetters("webhook"));
        Assert.Equal("payments", letter.Provider);
        Assert.Contains("rejected by the catalog", letter.Reason, StringComparison.Ordinal);
        Assert.Contains("currency", letter.Reason, StringComparison.Ordinal);
        Assert.Equal(0, Count("SELECT count(*) FROM raw_events WHERE event_id = 'payments:evt_5'"));
        // Until the alert engine reads them, an open dead letter is a failed data-quality finding.
        var finding = Assert.Single(Engine.Quality.ConnectorHealth.Check(letters, _hub.Hub.Jobs.Runs, Config("stripe")));
        Assert.Equal(("dead_letters", "webhook:payments", Engine.Quality.QualityStatus.Fail), (finding.Check, finding.Subject, finding.Status));
        Assert.Contains("atalaya webhooks replay", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_payload_the_mapping_does_not_cover_is_replayed_once_the_mapping_is_fixed()
    {
        // "orders" is configured with the stripe mapping by mistake.
        var body = OrderDelivered("ord_evt_1");
        var stale = Config("stripe");
        await using (var wrong = await TestHub.StartAsync(o => o with { Config = stale }))
        {
            using var response = await PostToAsync(wrong, "orders", body);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            Assert.Contains("covers payment_intent.succeeded", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);

            var fixedConfig = Config("order_status");
            var replayed = await new WebhookReceiver(wrong.Hub.Pipeline, wrong.Hub.Database, fixedConfig, TimeProvider.System).ReplayAsync(null);

            var (letter, outcome) = Assert.Single(replayed);
            Assert.Equal("mapped", outcome.State);
            Assert.Empty(ConnectorRows.For(wrong.Hub.Database, null).DeadLetters("webhook"));
            using var connection = wrong.Hub.Database.Connect();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT json_extract(event, '$.properties.status') FROM raw_events WHERE event_id = 'orders:ord_evt_1';";
            Assert.Equal("EN_CAMINO", command.ExecuteScalar());
            command.CommandText = "SELECT status FROM webhook_inbox;";
            Assert.Equal("mapped", command.ExecuteScalar());
            Assert.Equal("orders", letter.Provider);
        }
    }

    private async Task<HttpResponseMessage> PostToAsync(TestHub hub, string provider, string body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/api/webhooks/{provider}") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("Webhook-Signature", Sign(body));
        return await hub.Client.SendAsync(request);
    }
}
