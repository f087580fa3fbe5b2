using Atalaya.Engine.Config;
using Atalaya.Engine.Storage;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;

namespace Atalaya.Engine.Alerts.Notifications;

/// <summary>What one delivery pass did.</summary>
public sealed record DeliveryReport(int Sent, int DeadLettered);

/// <summary>
/// Sends the outbox's pending messages through their channels. Each channel has its own Polly
/// pipeline: retries with exponential backoff and jitter (or the receiver's Retry-After, when it
/// sends one) around a circuit breaker, so a channel that keeps failing is left alone for a while
/// instead of being hammered, and never slows the other channels down. A message that still fails —
/// or meets an open circuit — is dead-lettered: it stays in the outbox for
/// <c>atalaya notifications replay</c>, and the built-in rule notifications-dead-lettered fires.
/// </summary>
public sealed class NotificationDispatcher
{
    private readonly IAlertRows _rows;
    private readonly IReadOnlyDictionary<string, INotificationChannel> _channels;
    private readonly Dictionary<string, (ResiliencePipeline Pipeline, CircuitBreakerStateProvider State)> _pipelines = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);

    /// <summary>Retry-After is honoured up to this long; beyond it the message is dead-lettered and replayed later.</summary>
    public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromMinutes(2);

    public NotificationDispatcher(HubDatabase database, IReadOnlyDictionary<string, INotificationChannel> channels, AlertsSection settings, TimeProvider? time = null)
        : this(new SqliteAlertRows(database), channels, settings, time)
    {
    }

    /// <param name="rows">The outbox: the data folder's, or on a cluster the one in PostgreSQL (only the evaluating node dispatches it).</param>
    public NotificationDispatcher(IAlertRows rows, IReadOnlyDictionary<string, INotificationChannel> channels, AlertsSection settings, TimeProvider? time = null)
    {
        _rows = rows;
        _channels = channels;
        _time = time ?? TimeProvider.System;
        foreach (var name in channels.Keys)
        {
            var state = new CircuitBreakerStateProvider();
            var transient = new PredicateBuilder().Handle<ChannelException>(e => e.Transient);
            var builder = new ResiliencePipelineBuilder { TimeProvider = _time };
            if (settings.DeliveryRetries > 0)
            {
                builder.AddRetry(new RetryStrategyOptions
                {
                    ShouldHandle = transient,
                    MaxRetryAttempts = settings.DeliveryRetries,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = settings.BaseDelay,
                    MaxDelay = MaxRetryAfter,
                    DelayGenerator = args => ValueTask.FromResult(args.Outcome.Exception is ChannelException { RetryAfter: { } after }
                        ? (TimeSpan?)(after > MaxRetryAfter ? MaxRetryAfter : after)
                        : null),
                });
            }
            // Inside the retries, so every attempt counts: half of at least 4 attempts failing within
            // 2 minutes opens the circuit; after breaker_open_for one trial attempt (half-open) decides.
            builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = transient,
                FailureRatio = 0.5,
                MinimumThroughput = 4,
                SamplingDuration = TimeSpan.FromMinutes(2),
                BreakDuration = settings.BreakDuration,
                StateProvider = state,
            });
            _pipelines[name] = (builder.Build(), state);
        }
    }

    public IReadOnlyCollection<string> ChannelNames => _channels.Keys.ToList();

    /// <summary>closed, open, half-open or isolated, per channel (for /metrics and the tests).</summary>
    public CircuitState Circuit(string channel) => _pipelines[channel].State.CircuitState;

    /// <summary>Sends every pending message once (one pass at a time; a concurrent call waits).</summary>
    public async Task<DeliveryReport> DeliverPendingAsync(CancellationToken cancellationToken = default)
    {
        await _oneAtATime.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var pending = _rows.Outbox("pending");
            int sent = 0, dead = 0;
            // Channels are independent: one that is slow or down does not hold the others' messages.
            var byChannel = pending.GroupBy(p => p.Channel).Select(async group =>
            {
                foreach (var entry in group)
                {
                    if (await DeliverAsync(entry, cancellationToken).ConfigureAwait(false))
                    {
                        Interlocked.Increment(ref sent);
                    }
                    else
                    {
                        Interlocked.Increment(ref dead);
                    }
                }
            });
            await Task.WhenAll(byChannel).ConfigureAwait(false);
            return new DeliveryReport(sent, dead);
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    private async Task<bool> DeliverAsync(OutboxEntry entry, CancellationToken cancellationToken)
    {
        var attempts = 0;
        string? error = null;
        if (!_channels.TryGetValue(entry.Channel, out var channel))
        {
            error = $"no channel named '{entry.Channel}' in this environment's alerts.channels";
        }
        else
        {
            try
            {
                await _pipelines[entry.Channel].Pipeline.ExecuteAsync(async ct =>
                {
                    attempts++;
                    await channel.SendAsync(entry.Notification, ct).ConfigureAwait(false);
                }, cancellationToken).ConfigureAwait(false);
            }
            catch (ChannelException e)
            {
                error = e.Message;
            }
            catch (BrokenCircuitException)
            {
                error = $"{entry.Channel}: the circuit is open after repeated failures; not tried";
            }
        }
        if (error is null)
        {
            _rows.MarkSent(entry.Id, attempts, _time.GetUtcNow());
            return true;
        }
        _rows.MarkDead(entry.Id, attempts, error);
        return false;
    }

    /// <summary>Dead messages back to pending, then one delivery pass (what <c>atalaya notifications replay</c> does).</summary>
    public async Task<(int Requeued, DeliveryReport Report)> ReplayAsync(string? channel, CancellationToken cancellationToken = default)
    {
        var requeued = _rows.Requeue(channel);
        return (requeued, await DeliverPendingAsync(cancellationToken).ConfigureAwait(false));
    }
}
