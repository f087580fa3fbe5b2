using System.Threading.Channels;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Atalaya.Engine.Queue;

/// <summary>A writer's work on one batch; it returns only once the batch is stored (or marked poison).</summary>
internal delegate Task EventBatchHandler(IReadOnlyList<QueuedMessage> batch, CancellationToken ct);

/// <summary>
/// Consumes shard queues and hands a handler batches of up to <see cref="EventQueueOptions.BatchSize"/>
/// messages or whatever arrived within <see cref="EventQueueOptions.BatchWait"/> of the first one.
/// Invariant: a message is acknowledged only after the handler returned for its batch, so a consumer
/// that dies (process killed, connection closed) loses nothing: the broker gives its unacknowledged
/// messages to the next consumer, and the writer's event_id dedupe absorbs the repeats.
///
/// Poison messages (marked by the handler) are published to the dead-letter exchange with the
/// reason in the <see cref="EventQueueTopology.ReasonHeader"/> header, confirmed, and only then
/// acknowledged. (Rejecting without requeue would let the broker dead-letter them, but a consumer
/// cannot add a header to a message it rejects, so the reason would be lost.) When the handler
/// throws, the batch goes back to the queue after <see cref="EventQueueOptions.RedeliveryDelay"/>;
/// a message whose batch has failed <see cref="EventQueueOptions.MaxDeliveries"/> times (counted by
/// the queue's <c>x-delivery-count</c>) is dead-lettered with the last error instead, so one bad
/// message cannot stall a shard for ever; one that reached <see cref="EventQueueOptions.MaxUnsettledDeliveries"/>
/// (its consumers kept dying with it) is dead-lettered without being handed over at all.
/// </summary>
internal sealed class EventConsumer : IAsyncDisposable
{
    private readonly EventQueueOptions options;
    private readonly EventQueueTopology topology;
    private readonly TimeProvider time;
    private readonly EventBatchHandler handler;
    private readonly Channel<QueuedMessage> inbox = Channel.CreateUnbounded<QueuedMessage>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource stopping = new();
    private IConnection? connection;
    private IChannel? channel;
    private IChannel? deadLetters;
    private Task loop = Task.CompletedTask;
    private int disposed;
    private long acknowledged;

    private EventConsumer(EventQueueOptions options, EventBatchHandler handler, TimeProvider time)
    {
        this.options = options;
        this.handler = handler;
        this.time = time;
        topology = new EventQueueTopology(options);
    }

    /// <summary>Messages acknowledged so far (stored or dead-lettered), for tests and metrics.</summary>
    public long Acknowledged => Interlocked.Read(ref acknowledged);

    /// <summary>The last handler or acknowledgement failure, for diagnostics.</summary>
    public Exception? LastError { get; private set; }

    /// <exception cref="QueueUnavailableException">The broker cannot be reached.</exception>
    public static async Task<EventConsumer> StartAsync(EventQueueOptions options, IReadOnlyList<int> shards, EventBatchHandler handler, TimeProvider? time = null, CancellationToken ct = default)
    {
        options.Validate();
        if (shards.Count == 0)
        {
            throw new ArgumentException("a consumer needs at least one shard to consume", nameof(shards));
        }
        var consumer = new EventConsumer(options, handler, time ?? TimeProvider.System);
        try
        {
            await consumer.ConnectAsync(shards, ct);
        }
        catch (Exception e) when (EventPublisher.IsBrokerFailure(e))
        {
            await consumer.DisposeAsync();
            throw QueueUnavailableException.OnConnect(options.Endpoint, e);
        }
        consumer.loop = Task.Run(consumer.RunAsync, CancellationToken.None);
        return consumer;
    }

    private async Task ConnectAsync(IReadOnlyList<int> shards, CancellationToken ct)
    {
        connection = await options.ConnectionFactory().CreateConnectionAsync(ct);
        channel = await connection.CreateChannelAsync(cancellationToken: ct);
        deadLetters = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), ct);
        await topology.DeclareAsync(channel, ct);
        await channel.BasicQosAsync(prefetchSize: 0, options.Prefetch, global: false, ct);
        foreach (var shard in shards)
        {
            var queue = topology.ShardQueue(shard);
            var receiver = new AsyncEventingBasicConsumer(channel);
            receiver.ReceivedAsync += (_, delivery) => Receive(shard, delivery);
            await channel.BasicConsumeAsync(queue, autoAck: false, receiver, ct);
        }
    }

    private Task Receive(int shard, BasicDeliverEventArgs delivery)
    {
        var headers = delivery.BasicProperties.Headers is { } h
            ? new Dictionary<string, object?>(h)
            : new Dictionary<string, object?>();
        var deliveryCount = headers.TryGetValue("x-delivery-count", out var count) && count is not null
            ? Convert.ToInt32(count, System.Globalization.CultureInfo.InvariantCulture)
            : 0;
        inbox.Writer.TryWrite(new QueuedMessage(shard, delivery.DeliveryTag, delivery.Body.ToArray(), headers, deliveryCount));
        return Task.CompletedTask;
    }

    private async Task RunAsync()
    {
        var ct = stopping.Token;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (await NextBatchAsync(ct) is not { } batch)
                {
                    return;
                }
                foreach (var message in batch.Where(m => m.DeliveryCount >= options.MaxUnsettledDeliveries))
                {
                    message.MarkPoison($"delivered {message.DeliveryCount} times without being settled: the consumer that had it stopped (crashed, killed or disconnected) each time");
                }
                var handed = batch.Where(m => m.PoisonReason is null).ToList();
                try
                {
                    if (handed.Count > 0)
                    {
                        await handler(handed, ct);
                    }
                }
                catch (Exception e) when (!ct.IsCancellationRequested)
                {
                    // Any handler failure, an IOException from ClickHouse included: the batch is retried.
                    LastError = e;
                    await FailAsync(batch, e, ct);
                    continue;
                }
                // Stored: settle it even if a stop was asked meanwhile, or the next owner stores it again.
                await SucceedAsync(batch, CancellationToken.None);
            }
            catch (Exception) when (ct.IsCancellationRequested)
            {
                return; // stopping: what is not acknowledged goes back to the queue when the channel closes
            }
            catch (Exception e)
            {
                // The connection broke under an acknowledgement or a dead-letter publish: the broker
                // requeues every unacknowledged message of the channel and the library reconnects
                // and resubscribes. Acknowledgements of deliveries from before the break are ignored
                // by the recovered channel, so the loop simply goes on. (Anything else unexpected is
                // kept in LastError for the writer's health, and the loop goes on too.)
                LastError = e;
                await Task.Delay(options.RecoveryInterval, time, CancellationToken.None);
            }
        }
    }

    private async Task<List<QueuedMessage>?> NextBatchAsync(CancellationToken ct)
    {
        if (!await inbox.Reader.WaitToReadAsync(ct))
        {
            return null;
        }
        var batch = new List<QueuedMessage>();
        using var window = new CancellationTokenSource(options.BatchWait, time);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(ct, window.Token);
        while (true)
        {
            while (batch.Count < options.BatchSize && inbox.Reader.TryRead(out var message))
            {
                batch.Add(message);
            }
            if (batch.Count >= options.BatchSize)
            {
                return batch;
            }
            try
            {
                await inbox.Reader.WaitToReadAsync(either.Token);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                return batch; // the window closed
            }
        }
    }

    private async Task SucceedAsync(List<QueuedMessage> batch, CancellationToken ct)
    {
        foreach (var message in batch)
        {
            if (message.PoisonReason is { } reason)
            {
                await DeadLetterAsync(message, reason, ct);
            }
        }
        // Deliveries on one channel arrive in tag order and every earlier one was in this batch or
        // an earlier, settled one, so one multiple-ack settles the whole batch.
        await channel!.BasicAckAsync(batch[^1].DeliveryTag, multiple: true, ct);
        Interlocked.Add(ref acknowledged, batch.Count);
    }

    private async Task FailAsync(List<QueuedMessage> batch, Exception error, CancellationToken ct)
    {
        await Task.Delay(options.RedeliveryDelay, time, ct);
        foreach (var message in batch)
        {
            if (message.PoisonReason is { } reason)
            {
                await DeadLetterAsync(message, reason, ct);
                await channel!.BasicAckAsync(message.DeliveryTag, multiple: false, ct);
                Interlocked.Increment(ref acknowledged);
            }
            else if (message.DeliveryCount + 1 >= options.MaxDeliveries)
            {
                await DeadLetterAsync(message, $"the batch handler failed on {message.DeliveryCount + 1} deliveries; last error: {error.GetType().Name}: {error.Message}", ct);
                await channel!.BasicAckAsync(message.DeliveryTag, multiple: false, ct);
                Interlocked.Increment(ref acknowledged);
            }
            else
            {
                await channel!.BasicNackAsync(message.DeliveryTag, multiple: false, requeue: true, ct);
            }
        }
    }

    private async Task DeadLetterAsync(QueuedMessage message, string reason, CancellationToken ct)
    {
        var headers = new Dictionary<string, object?>(message.Headers)
        {
            [EventQueueTopology.ReasonHeader] = reason,
            ["x-atalaya-shard"] = message.Shard,
        };
        headers.Remove("x-delivery-count");
        var properties = new BasicProperties { Persistent = true, Headers = headers };
        await deadLetters!.BasicPublishAsync(topology.DeadLetterExchange, "", mandatory: true, properties, message.Body, ct);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) == 1)
        {
            return;
        }
        await stopping.CancelAsync();
        try
        {
            await loop;
        }
        catch (OperationCanceledException)
        {
            // the handler saw the cancellation
        }
        inbox.Writer.TryComplete();
        if (connection is not null)
        {
            try
            {
                await connection.CloseAsync();
            }
            catch (Exception e) when (EventPublisher.IsBrokerFailure(e))
            {
                // already gone; its unacknowledged messages are requeued either way
            }
            await connection.DisposeAsync();
        }
        stopping.Dispose();
    }
}
