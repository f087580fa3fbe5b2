using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using Atalaya.Engine.Config;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace Atalaya.Engine.Connectors;

/// <summary>A provider's final answer to one request, after the transient retries.</summary>
internal sealed record ProviderAnswer(int Status, string? ContentType, byte[] Body, TimeSpan? RetryAfter, string Request)
{
    public bool Ok => Status is >= 200 and < 300;

    public RawPage Page(int pageNo) => new(pageNo, Status, Request, ContentType, Body);
}

/// <summary>
/// Outbound HTTP for one provider, through a Polly pipeline: retry (exponential backoff with
/// jitter, or the provider's Retry-After when it gives one) → circuit breaker → timeout per
/// attempt. Only transient outcomes are retried or counted by the breaker: a refused or dropped
/// connection, a timeout, 429 and 5xx. Everything else (401, 400, a rate-limit error in a 400
/// body) comes back at once for the client to classify. The pipeline, and so the breaker, is
/// shared by every run of the process against the same provider endpoint: a provider that is down
/// is left alone for the break duration instead of being called once per day of a backfill.
/// </summary>
internal sealed class ProviderHttp : IDisposable
{
    private static readonly ConcurrentDictionary<string, ResiliencePipeline<HttpResponseMessage>> Pipelines = new(StringComparer.Ordinal);
    private static readonly ResiliencePropertyKey<List<string>> RetryLogKey = new("atalaya.retry-log");

    private readonly HttpClient _client;
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;
    private readonly string _provider;

    public ProviderHttp(string provider, ProviderSettings settings, HttpMessageHandler? handler = null)
    {
        _provider = provider;
        _client = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        _client.Timeout = Timeout.InfiniteTimeSpan;
        _client.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("Atalaya", "1.0"));
        var key = string.Join('|', provider, settings.BaseUrl, settings.TokenUrl, settings.TimeoutSeconds, settings.MaxRetries,
            settings.RetryBaseDelaySeconds, settings.MaxRetryAfterSeconds, settings.BreakerMinimumThroughput, settings.BreakerBreakSeconds);
        _pipeline = Pipelines.GetOrAdd(key, _ => Build(settings));
    }

    /// <summary>What the retries did in this client's calls, for the run's record ("attempt 1: 503; waited 2.1 s").</summary>
    public List<string> RetryLog { get; } = [];

    /// <summary>
    /// Sends a request (built afresh for each attempt) and returns the final answer with its body
    /// read. Throws a transient <see cref="ConnectorException"/> when no answer came: timeouts,
    /// network errors, or the provider's breaker open.
    /// </summary>
    public async Task<ProviderAnswer> SendAsync(Func<HttpRequestMessage> build, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        var log = new List<string>();
        context.Properties.Set(RetryLogKey, log);
        string request = "";
        try
        {
            using var response = await _pipeline.ExecuteAsync(async c =>
            {
                var message = build();
                request = $"{message.Method} {message.RequestUri?.PathAndQuery}";
                var answer = await _client.SendAsync(message, HttpCompletionOption.ResponseContentRead, c.CancellationToken).ConfigureAwait(false);
                return answer;
            }, context).ConfigureAwait(false);
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            return new ProviderAnswer((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, body, RetryAfter(response), request);
        }
        catch (BrokenCircuitException)
        {
            throw new ConnectorException(ErrorClass.Transient,
                $"{_provider}: the circuit breaker is open after repeated failures; calls resume after the break (breaker_break_seconds)");
        }
        catch (TimeoutRejectedException e)
        {
            throw new ConnectorException(ErrorClass.Transient, $"{_provider}: no answer within the timeout ({request}) after every retry", e);
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            throw new ConnectorException(ErrorClass.Transient, $"{_provider}: the connection failed ({e.Message}) after every retry", e);
        }
        finally
        {
            RetryLog.AddRange(log);
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private static ResiliencePipeline<HttpResponseMessage> Build(ProviderSettings settings)
    {
        var maxRetryAfter = TimeSpan.FromSeconds(settings.MaxRetryAfterSeconds);
        return new ResiliencePipelineBuilder<HttpResponseMessage>()
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = Math.Max(1, settings.MaxRetries),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromSeconds(settings.RetryBaseDelaySeconds),
                // Zero retries is expressed by a predicate that never retries (Polly needs at least one).
                ShouldHandle = args => ValueTask.FromResult(settings.MaxRetries > 0 && Transient(args.Outcome)
                    && !(args.Outcome.Result is { } r && RetryAfter(r) > maxRetryAfter)),
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Result is { } r && RetryAfter(r) is { } wait ? wait : (TimeSpan?)null),
                OnRetry = args =>
                {
                    if (args.Context.Properties.TryGetValue(RetryLogKey, out var log))
                    {
                        log.Add($"attempt {args.AttemptNumber + 1}: {Describe(args.Outcome)}; retried after {args.RetryDelay.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s");
                    }
                    return ValueTask.CompletedTask;
                },
            })
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<HttpResponseMessage>
            {
                FailureRatio = 0.5,
                MinimumThroughput = settings.BreakerMinimumThroughput,
                SamplingDuration = TimeSpan.FromSeconds(Math.Max(30, settings.BreakerBreakSeconds)),
                BreakDuration = TimeSpan.FromSeconds(Math.Max(0.5, settings.BreakerBreakSeconds)),
                ShouldHandle = args => ValueTask.FromResult(Transient(args.Outcome)),
            })
            .AddTimeout(TimeSpan.FromSeconds(settings.TimeoutSeconds))
            .Build();
    }

    /// <summary>Worth another attempt: no answer, or an answer saying "later" (429, 5xx).</summary>
    private static bool Transient(Outcome<HttpResponseMessage> outcome) => outcome.Exception switch
    {
        HttpRequestException or IOException or TimeoutRejectedException => true,
        null => outcome.Result is { } r && ((int)r.StatusCode == 429 || (int)r.StatusCode >= 500),
        _ => false,
    };

    private static string Describe(Outcome<HttpResponseMessage> outcome) => outcome.Exception switch
    {
        TimeoutRejectedException => "timed out",
        { } e => e.GetType().Name,
        null => $"HTTP {(int)outcome.Result!.StatusCode}" + (RetryAfter(outcome.Result) is { } wait ? $" (Retry-After {wait.TotalSeconds:0} s)" : ""),
    };

    /// <summary>Retry-After as seconds or as a date.</summary>
    private static TimeSpan? RetryAfter(HttpResponseMessage response) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - DateTimeOffset.UtcNow is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero,
        _ => null,
    };

    public void Dispose() => _client.Dispose();
}
