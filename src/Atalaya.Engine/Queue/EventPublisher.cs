using System.Collections.Concurrent;
using System.Net.Sockets;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Atalaya.Engine.Queue;

/// <summary>
/// Puts messages on the event queue and returns only once the broker has confirmed them: a quorum
/// queue confirms after a majority of its replicas wrote the message to disk, so a collector that
/// answers 2xx after <see cref="PublishAsync"/> has handed the events over for good. Messages are
/// persistent and mandatory (a message no queue takes comes back as an error, not silently lost).
///
/// One connection, opened on first use, with a small pool of confirm-tracking channels: a publish
/// rents a channel for the time of one confirm, so <see cref="EventQueueOptions.PublishChannels"/>
/// publishes are in flight at once and the rest wait their turn. When the broker is down or the
/// connection is lost, a publish fails at once with <see cref="QueueUnavailableException"/> instead of
/// waiting; the client library reconnects in the background (automatic recovery), so the same
/// publisher works again when the broker is back.
/// </summary>
internal sealed class EventPublisher : IAsyncDisposable
{
    private readonly EventQueueOptions options;
    private readonly EventQueueTopology topology;
    private readonly TimeProvider time;
    private readonly SemaphoreSlim connecting = new(1, 1);
    private readonly SemaphoreSlim slots;
    private readonly ConcurrentQueue<IChannel> idle = new();
    private IConnection? connection;
    private DateTimeOffset nextConnectAttempt = DateTimeOffset.MinValue;
    private string lastConnectError = "";
    private volatile string? blockedReason;
    private int disposed;

    public EventPublisher(EventQueueOptions options, TimeProvider? time = null)
    {
        options.Validate();
        this.options = options;
        this.time = time ?? TimeProvider.System;
        topology = new EventQueueTopology(options);
        slots = new SemaphoreSlim(options.PublishChannels, options.PublishChannels);
    }

    public EventQueueTopology Topology => topology;

    /// <summary>Publishes one message to a shard queue and waits for the broker's confirm.</summary>
    /// <exception cref="QueueUnavailableException">The broker did not take the message; nothing was confirmed.</exception>
    public Task PublishAsync(int shard, ReadOnlyMemory<byte> body, IReadOnlyDictionary<string, object?>? headers, CancellationToken ct) =>
        PublishToAsync("", topology.ShardQueue(shard), body, headers, ct);

    /// <summary>
    /// Publishes events a writer inserted into ClickHouse to the written-events exchange, which
    /// every node's KPI projection follows (a fanout: each node's own queue gets a copy; with no
    /// node listening the message is simply dropped), and waits for the broker's confirm.
    /// </summary>
    /// <exception cref="QueueUnavailableException">The broker did not take the message.</exception>
    public Task PublishWrittenAsync(ReadOnlyMemory<byte> body, CancellationToken ct) =>
        PublishToAsync(topology.WrittenExchange, "", body, null, ct);

    /// <summary>Publishes a message with headers to the written-events exchange (a control message the nodes' feeds apply in order with the events).</summary>
    /// <exception cref="QueueUnavailableException">The broker did not take the message.</exception>
    public Task PublishControlAsync(ReadOnlyMemory<byte> body, IReadOnlyDictionary<string, object?> headers, CancellationToken ct) =>
        PublishToAsync(topology.WrittenExchange, "", body, headers, ct);

    private async Task PublishToAsync(string exchange, string queue, ReadOnlyMemory<byte> body, IReadOnlyDictionary<string, object?>? headers, CancellationToken ct)
    {
        var open = await ConnectionAsync(ct);
        if (!open.IsOpen)
        {
            throw new QueueUnavailableException($"the connection to RabbitMQ at {Endpoint} is lost; the publisher reconnects every {options.RecoveryInterval.TotalSeconds:0.#} s");
        }
        if (blockedReason is { } reason)
        {
            throw new QueueUnavailableException($"RabbitMQ at {Endpoint} is blocking publishers ({reason}); free memory or disk on the broker");
        }
        await slots.WaitAsync(ct);
        IChannel? channel = null;
        var healthy = false;
        try
        {
            channel = await RentAsync(open, ct);
            using var confirm = CancellationTokenSource.CreateLinkedTokenSource(ct);
            confirm.CancelAfter(options.ConfirmTimeout);
            var properties = new BasicProperties
            {
                Persistent = true,
                Headers = headers is null ? null : new Dictionary<string, object?>(headers),
            };
            // A shard queue must exist (mandatory: a missing one is an error); the fanout may have no listener.
            await channel.BasicPublishAsync(exchange, queue, mandatory: exchange.Length == 0, properties, body, confirm.Token);
            healthy = true;
        }
        catch (PublishException e)
        {
            healthy = true; // the channel is fine; the broker answered about this one message
            throw new QueueUnavailableException(e.IsReturn
                ? $"RabbitMQ returned the message: no queue '{queue}' takes it (was it deleted?)"
                : $"RabbitMQ refused the message for '{(exchange.Length == 0 ? queue : exchange)}' (negative confirm)", e);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new QueueUnavailableException($"RabbitMQ at {Endpoint} did not confirm within {options.ConfirmTimeout.TotalSeconds:0.#} s", e);
        }
        catch (Exception e) when (IsBrokerFailure(e))
        {
            throw new QueueUnavailableException($"RabbitMQ at {Endpoint} is unavailable: {e.Message}", e);
        }
        finally
        {
            await ReturnAsync(channel, healthy);
            slots.Release();
        }
    }

    private string Endpoint => options.Endpoint;

    internal static bool IsBrokerFailure(Exception e) =>
        e is RabbitMQClientException or OperationInterruptedException or IOException or SocketException or TimeoutException or ObjectDisposedException;

    /// <summary>
    /// The connection, opened on first use. A failed first attempt is remembered for
    /// <see cref="EventQueueOptions.ConnectTimeout"/> so that a down broker costs callers one fast
    /// error each, not one connect timeout each; once open, the library's recovery keeps it alive.
    /// </summary>
    private async Task<IConnection> ConnectionAsync(CancellationToken ct)
    {
        if (connection is { } existing)
        {
            return existing;
        }
        await connecting.WaitAsync(ct);
        try
        {
            if (connection is { } raced)
            {
                return raced;
            }
            if (time.GetUtcNow() < nextConnectAttempt)
            {
                throw new QueueUnavailableException($"RabbitMQ at {Endpoint} is unreachable ({lastConnectError}); retrying shortly");
            }
            IConnection? opened = null;
            try
            {
                opened = await options.ConnectionFactory().CreateConnectionAsync(ct);
                opened.ConnectionBlockedAsync += (_, e) => { blockedReason = e.Reason; return Task.CompletedTask; };
                opened.ConnectionUnblockedAsync += (_, _) => { blockedReason = null; return Task.CompletedTask; };
                await using (var declaring = await opened.CreateChannelAsync(cancellationToken: ct))
                {
                    await topology.DeclareAsync(declaring, ct);
                }
                connection = opened;
                return opened;
            }
            catch (Exception e) when (IsBrokerFailure(e))
            {
                if (opened is not null)
                {
                    await opened.DisposeAsync(); // or its automatic recovery would go on in the background
                }
                lastConnectError = e.InnerException?.Message ?? e.Message;
                nextConnectAttempt = time.GetUtcNow() + options.ConnectTimeout;
                throw QueueUnavailableException.OnConnect(Endpoint, e);
            }
        }
        finally
        {
            connecting.Release();
        }
    }

    private async Task<IChannel> RentAsync(IConnection open, CancellationToken ct)
    {
        while (idle.TryDequeue(out var pooled))
        {
            if (pooled.IsOpen)
            {
                return pooled;
            }
            await pooled.DisposeAsync(); // closed by a channel-level error: recovery does not reopen those
        }
        return await open.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), ct);
    }

    /// <summary>A channel that timed out or broke is closed rather than reused: a late confirm must not answer the next publish.</summary>
    private async Task ReturnAsync(IChannel? channel, bool healthy)
    {
        if (channel is null)
        {
            return;
        }
        if (healthy)
        {
            idle.Enqueue(channel);
            return;
        }
        try
        {
            await channel.DisposeAsync();
        }
        catch (Exception e) when (IsBrokerFailure(e))
        {
            // it was already broken; nothing more to release
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 1)
        {
            return;
        }
        while (idle.TryDequeue(out var channel))
        {
            await ReturnAsync(channel, healthy: false);
        }
        if (connection is { } open)
        {
            try
            {
                await open.CloseAsync();
            }
            catch (Exception e) when (IsBrokerFailure(e))
            {
                // the broker is gone; the socket is closed with the object
            }
            await open.DisposeAsync();
        }
        connecting.Dispose();
        slots.Dispose();
    }
}
