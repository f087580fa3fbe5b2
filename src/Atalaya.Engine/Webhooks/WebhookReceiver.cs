using Atalaya.Engine.Collect;
using Atalaya.Engine.Config;
using Atalaya.Engine.Connectors;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Webhooks;

/// <summary>How a webhook request ended: the HTTP status to answer and what to say.</summary>
public sealed record WebhookOutcome(int Status, string Message, long? Id = null, string? State = null, int Events = 0);

/// <summary>
/// Inbound provider webhooks, in steps: the provider must be configured → the signature header
/// must parse → its timestamp must be within the tolerance → the HMAC must match → the body is
/// stored in webhook_inbox and committed (a signature already stored is a replay and is refused)
/// → only then mapped to catalog events and put through the collector's validation and dedupe.
/// Once stored the answer is 2xx whatever the mapping does: a payload that cannot be mapped or is
/// rejected by the catalog becomes a dead letter for <c>atalaya webhooks replay</c>, since asking
/// the provider to resend the same payload would not help. The bodies and dead letters live in the
/// data folder or, given the cluster's PostgreSQL (<paramref name="shared"/>), there for every node;
/// while it cannot be reached the receiver throws <see cref="Postgres.StateUnavailableException"/>
/// before answering, which the host answers 503 so that the provider delivers again.
/// </summary>
public sealed class WebhookReceiver(IngestPipeline pipeline, HubDatabase database, EnvironmentConfig config, TimeProvider time, Postgres.PostgresState? shared = null)
{
    private readonly IWebhookInbox _inbox = WebhookInbox.For(database, shared);
    private readonly IConnectorRows _letters = ConnectorRows.For(database, shared);

    /// <summary>Bodies above this are refused (413): provider events are a few KiB.</summary>
    public const int MaxBodyBytes = 1024 * 1024;

    public static string SourceSystem(string provider) => "webhook_" + provider;

    public async Task<WebhookOutcome> ReceiveAsync(string provider, string? signatureHeader, byte[] body, CancellationToken cancellationToken = default)
    {
        if (!config.Webhooks.TryGetValue(provider, out var settings))
        {
            return new WebhookOutcome(404, config.Webhooks.Count == 0
                ? $"no webhook provider '{provider}': none is configured (webhooks: in the environment file)"
                : $"no webhook provider '{provider}'; configured: {string.Join(", ", config.Webhooks.Keys.Order(StringComparer.Ordinal))}");
        }
        if (body.Length > MaxBodyBytes)
        {
            return new WebhookOutcome(413, $"the body is {body.Length} bytes; at most {MaxBodyBytes} are accepted");
        }
        var secret = Environment.GetEnvironmentVariable(settings.SecretEnv);
        if (string.IsNullOrEmpty(secret))
        {
            // The hub's configuration, not the request, is wrong: the provider should retry later.
            return new WebhookOutcome(503, $"the hub has no signing secret for '{provider}' (the environment variable {settings.SecretEnv} is not set); try again later");
        }
        if (WebhookSignature.Parse(signatureHeader) is not { } signature)
        {
            return new WebhookOutcome(400, $"the {settings.SignatureHeader} header is missing or not of the form t=UNIX_SECONDS,v1=HEX_HMAC_SHA256");
        }
        var now = time.GetUtcNow();
        var skew = now.ToUnixTimeSeconds() - signature.Timestamp;
        if (Math.Abs(skew) > settings.ToleranceSeconds)
        {
            return new WebhookOutcome(400, $"the signature's timestamp is {Math.Abs(skew)} s {(skew > 0 ? "old" : "in the future")}; at most {settings.ToleranceSeconds} s are accepted (replays are refused)");
        }
        if (!WebhookSignature.Matches(secret, signature.Timestamp, body, signature.Signatures))
        {
            return new WebhookOutcome(401, $"the signature does not match the body: sign t.body with HMAC-SHA256 and the shared secret ({settings.SecretEnv})");
        }
        var stored = _inbox.Store(provider, signature.Timestamp, signatureHeader!, body, now);
        // An earlier delivery stored but not processed was not acknowledged (the hub failed after
        // storing it and answered 503): this delivery, the provider's retry, processes it.
        if (!stored.New && stored.Status != "stored")
        {
            return new WebhookOutcome(409, "replay refused: a request with this signature was already received");
        }
        return await ProcessAsync(provider, settings, stored.Id, body, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Maps a stored body and ingests its events; a failure becomes a dead letter. Used by replays too.</summary>
    public async Task<WebhookOutcome> ProcessAsync(string provider, WebhookSettings settings, long id, byte[] body, CancellationToken cancellationToken = default)
    {
        string failure;
        try
        {
            var events = WebhookMapper.Map(settings.Mapping, provider, body);
            var result = await pipeline.IngestNativeAsync(events, ndjson: false, SourceSystem(provider), cancellationToken).ConfigureAwait(false);
            if (result.Rejected.Count == 0)
            {
                _inbox.SetState(id, "mapped", result.Accepted);
                return new WebhookOutcome(200, result.Accepted > 0 ? "stored" : "already stored (a resend of the same event)", id, "mapped", result.Accepted);
            }
            failure = "rejected by the catalog: " + string.Join("; ", result.Rejected.SelectMany(r => r.Errors));
        }
        catch (Exception e) when (e is WebhookMappingException or MalformedBodyException)
        {
            failure = "mapping failed: " + e.Message;
        }
        // The dead letter first: a failure between the two leaves the body 'stored', which the provider's retry processes again.
        _letters.AddDeadLetter(new NewDeadLetter("webhook", provider, "", null, null, id, "mapping", failure), time.GetUtcNow());
        _inbox.SetState(id, "dead", 0);
        return new WebhookOutcome(202, $"stored, but not mapped ({failure}); kept as a dead letter for `atalaya webhooks replay`", id, "dead");
    }

    /// <summary>Reprocesses open webhook dead letters (one when <paramref name="deadLetterId"/> is set); returns them with their new outcome.</summary>
    public async Task<IReadOnlyList<(DeadLetter Letter, WebhookOutcome Outcome)>> ReplayAsync(long? deadLetterId, CancellationToken cancellationToken = default)
    {
        List<DeadLetter> letters = [.. _letters.DeadLetters("webhook").Where(l => deadLetterId is null || l.Id == deadLetterId)];
        var results = new List<(DeadLetter, WebhookOutcome)>();
        foreach (var letter in letters)
        {
            if (!config.Webhooks.TryGetValue(letter.Provider, out var settings) || letter.WebhookId is not { } id)
            {
                results.Add((letter, new WebhookOutcome(404, $"the provider '{letter.Provider}' is no longer configured")));
                continue;
            }
            if (_inbox.Body(id) is not { } body)
            {
                results.Add((letter, new WebhookOutcome(404, $"the body of dead letter {letter.Id} (webhook {id}) is not in the inbox")));
                continue;
            }
            var outcome = await ProcessAsync(letter.Provider, settings, id, body, cancellationToken).ConfigureAwait(false);
            // When it failed again, the new failure was recorded as its own dead letter; this one is superseded by it.
            _letters.Resolve(letter.Id, outcome.State != "dead" ? "replay" : "replay (failed again, see the newer dead letter)", time.GetUtcNow());
            results.Add((letter, outcome));
        }
        return results;
    }
}
