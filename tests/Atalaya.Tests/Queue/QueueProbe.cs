using System.Collections.Concurrent;
using System.Text;
using Atalaya.Tests.Support;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Atalaya.Tests.Queue;

/// <summary>A plain client connection, to look at queues without going through the code under test.</summary>
internal sealed class QueueProbe : IAsyncDisposable
{
    private readonly IConnection connection;
    private readonly IChannel channel;

    private QueueProbe(IConnection connection, IChannel channel)
    {
        this.connection = connection;
        this.channel = channel;
    }

    public static async Task<QueueProbe> OpenAsync(Uri broker)
    {
        var connection = await new ConnectionFactory { Uri = broker }.CreateConnectionAsync();
        return new QueueProbe(connection, await connection.CreateChannelAsync());
    }

    public Task DeclareClassicAsync(string queue) =>
        channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false);

    /// <summary>Messages ready in the queue (not counting those delivered and not yet acknowledged).</summary>
    public async Task<uint> ReadyAsync(string queue) => (await channel.QueueDeclarePassiveAsync(queue)).MessageCount;

    /// <summary>
    /// Takes every ready message out of a queue (acknowledged), in order. Through a consumer, since
    /// quorum queues with single active consumer refuse basic.get.
    /// </summary>
    public async Task<List<(string Body, IDictionary<string, object?> Headers)>> DrainAsync(string queue)
    {
        var ready = await ReadyAsync(queue);
        var messages = new ConcurrentQueue<(string, IDictionary<string, object?>)>();
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += (_, delivery) =>
        {
            messages.Enqueue((Encoding.UTF8.GetString(delivery.Body.Span), delivery.BasicProperties.Headers ?? new Dictionary<string, object?>()));
            return Task.CompletedTask;
        };
        var tag = await channel.BasicConsumeAsync(queue, autoAck: true, consumer);
        await Wait.UntilAsync(() => messages.Count >= ready, $"{ready} messages from {queue}");
        await channel.BasicCancelAsync(tag);
        return [.. messages];
    }

    public async ValueTask DisposeAsync()
    {
        await channel.DisposeAsync();
        await connection.CloseAsync();
        await connection.DisposeAsync();
    }
}
