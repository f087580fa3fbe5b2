using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Atalaya.Engine.Queue;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Queue;

/// <summary>
/// What a collector's publisher does when the broker goes away and comes back: it fails fast with
/// <see cref="QueueUnavailableException"/> (the collector answers 503), and the same object publishes
/// again once the broker is back, with nothing confirmed before the outage lost. Own broker: the
/// tests stop it.
/// </summary>
public sealed class BrokerOutageTests(RabbitBroker broker) : IClassFixture<RabbitBroker>
{
    [Fact]
    public async Task Publishing_fails_fast_while_the_broker_is_down_and_works_again_with_the_same_publisher_when_it_is_back()
    {
        var options = broker.Options(shards: 1);
        await using var publisher = new EventPublisher(options);
        await publisher.PublishAsync(0, "confirmed-before"u8.ToArray(), null, CancellationToken.None);
        var consumed = new ConcurrentQueue<string>();
        await using var consumer = await EventConsumer.StartAsync(options with { Prefix = options.Prefix + ".other" }, [0], (batch, _) =>
        {
            foreach (var message in batch)
            {
                consumed.Enqueue(Encoding.UTF8.GetString(message.Body.Span));
            }
            return Task.CompletedTask;
        });

        await broker.PauseAsync();
        // The bound only keeps a broken publisher from hanging the test; the error comes at once.
        var down = await Assert.ThrowsAsync<QueueUnavailableException>(() =>
            publisher.PublishAsync(0, "during"u8.ToArray(), null, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains(broker.Uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), down.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<QueueUnavailableException>(() =>
            publisher.PublishAsync(0, "during"u8.ToArray(), null, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));

        await broker.ResumeAsync();
        await Wait.UntilAsync(async () =>
        {
            try
            {
                await publisher.PublishAsync(0, "after"u8.ToArray(), null, CancellationToken.None);
                return true;
            }
            catch (QueueUnavailableException)
            {
                return false; // still reconnecting
            }
        }, "a publish confirmed after the broker came back");

        await using var probe = await broker.ProbeAsync();
        var messages = await probe.DrainAsync(publisher.Topology.ShardQueue(0));
        Assert.Equal(["confirmed-before", "after"], messages.Select(m => m.Body)); // durable across the restart; nothing from the outage

        // The consumer reconnected by itself too: it gets what is published on its queues now.
        await using var otherPublisher = new EventPublisher(options with { Prefix = options.Prefix + ".other" });
        await otherPublisher.PublishAsync(0, "for-the-consumer"u8.ToArray(), null, CancellationToken.None);
        await Wait.UntilAsync(() => consumed.Contains("for-the-consumer"), "the consumer received a message after the restart");
    }

    [Fact]
    public async Task Every_publish_confirmed_while_the_broker_stopped_under_load_is_still_queued_after_it_restarts()
    {
        var options = broker.Options(shards: 2) with { PublishChannels = 8 };
        await using var publisher = new EventPublisher(options);
        var confirmed = new ConcurrentBag<string>();
        var refused = 0;
        var other = 0;
        using var stop = new CancellationTokenSource();
        var next = 0;
        async Task PublishUntilStopped()
        {
            while (!stop.IsCancellationRequested)
            {
                var id = $"m-{Interlocked.Increment(ref next)}";
                try
                {
                    await publisher.PublishAsync(EventQueueTopology.ShardOf(id, 2), Encoding.UTF8.GetBytes(id), null, CancellationToken.None);
                    confirmed.Add(id);
                }
                catch (QueueUnavailableException)
                {
                    Interlocked.Increment(ref refused); // a collector answers 503; the sender retries later
                }
                catch (Exception)
                {
                    Interlocked.Increment(ref other);
                }
            }
        }
        var publishers = Enumerable.Range(0, 16).Select(_ => Task.Run(PublishUntilStopped)).ToList();

        await Wait.UntilAsync(() => confirmed.Count >= 500, "500 confirmed publishes");
        await broker.PauseAsync();
        var refusedWhileDown = refused;
        await Wait.UntilAsync(() => refused > refusedWhileDown + 100, "publishes refused while the broker is down");
        await stop.CancelAsync();
        await Task.WhenAll(publishers).WaitAsync(TimeSpan.FromSeconds(60)); // none hangs
        await broker.ResumeAsync();

        Assert.Equal(0, other); // every failure is the one callers know how to answer
        var queued = new HashSet<string>();
        for (var shard = 0; shard < 2; shard++)
        {
            var queue = publisher.Topology.ShardQueue(shard);
            await Wait.UntilAsync(async () =>
            {
                try
                {
                    // A fresh connection per attempt: a quorum queue still electing its leader closes the channel that asked.
                    await using var attempt = await broker.ProbeAsync();
                    await attempt.ReadyAsync(queue);
                    return true;
                }
                catch (Exception e) when (EventPublisher.IsBrokerFailure(e))
                {
                    return false;
                }
            }, $"{queue} available again");
            await using var probe = await broker.ProbeAsync();
            queued.UnionWith((await probe.DrainAsync(queue)).Select(m => m.Body));
        }
        Assert.Empty(confirmed.Except(queued)); // no confirmed message lost
    }

    [Fact]
    public async Task Publishing_is_refused_while_the_broker_blocks_publishers_and_resumes_when_it_unblocks()
    {
        var options = broker.Options(shards: 1);
        await using var publisher = new EventPublisher(options);
        await publisher.PublishAsync(0, "before"u8.ToArray(), null, CancellationToken.None);

        await broker.CtlAsync("set_vm_memory_high_watermark", "0"); // the memory alarm: the broker blocks every publisher
        try
        {
            // The first publish may still be on its way when the broker says it blocks; it ends at the confirm timeout.
            QueueUnavailableException? refused = null;
            await Wait.UntilAsync(async () =>
            {
                refused = await Assert.ThrowsAsync<QueueUnavailableException>(() =>
                    publisher.PublishAsync(0, "blocked"u8.ToArray(), null, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));
                return refused.Message.Contains("blocking publishers", StringComparison.Ordinal);
            }, "a publish refused because the broker blocks publishers");
            Assert.Contains("free memory or disk", refused!.Message, StringComparison.Ordinal);
        }
        finally
        {
            await broker.CtlAsync("set_vm_memory_high_watermark", "0.4");
        }

        await Wait.UntilAsync(async () =>
        {
            try
            {
                await publisher.PublishAsync(0, "after"u8.ToArray(), null, CancellationToken.None);
                return true;
            }
            catch (QueueUnavailableException)
            {
                return false;
            }
        }, "a publish confirmed after the alarm cleared");
    }

    [Fact]
    public async Task A_publisher_whose_broker_was_never_reachable_says_where_it_tried()
    {
        var port = FreePort();
        await using var publisher = new EventPublisher(broker.Options() with { Broker = new Uri($"amqp://guest:guest@127.0.0.1:{port}/") });

        var error = await Assert.ThrowsAsync<QueueUnavailableException>(() =>
            publisher.PublishAsync(0, "x"u8.ToArray(), null, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Contains($"127.0.0.1:{port}", error.Message, StringComparison.Ordinal);
        Assert.Contains("unreachable", error.Message, StringComparison.Ordinal);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
