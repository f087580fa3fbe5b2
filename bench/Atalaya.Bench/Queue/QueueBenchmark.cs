using System.Diagnostics;
using System.Globalization;
using Atalaya.Engine.Queue;
using RabbitMQ.Client;

namespace Atalaya.Bench.Queue;

/// <summary>
/// Publish-with-confirm throughput of the event queue (docs/scale-out.md): messages of
/// <c>--batch</c> generated events (about 700 B each, the ingest benchmark's events) published to the
/// shard queues by 1 and 4 concurrent publishers, each publish awaiting its confirm, as a collector
/// does before it answers. Every run publishes to fresh queues, which are deleted after it.
/// Starts its own RabbitMQ node with scripts/services.sh unless <c>--rabbitmq-uri</c> is given.
/// </summary>
internal static class QueueBenchmark
{
    public const string Usage = """
        usage: dotnet run -c Release --project bench/Atalaya.Bench -- queue [--messages N] [--batch N] [--rabbitmq-uri URI] [--out FILE]

          --messages N      messages per run (default 60)
          --batch N         events per message (default 5000)
          --rabbitmq-uri U  an already running broker (default: start one with scripts/services.sh)
          --out FILE        write the printed figures as the "queue" section of FILE (docs/benchmarks.md)
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        var messages = 60;
        var batch = 5_000;
        string? uri = null;
        string? output = null;
        for (var i = 1; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : "";
            switch (args[i])
            {
                case "--messages" when int.TryParse(value, CultureInfo.InvariantCulture, out messages) && messages >= 1: i++; break;
                case "--batch" when int.TryParse(value, CultureInfo.InvariantCulture, out batch) && batch >= 1: i++; break;
                case "--rabbitmq-uri" when value.StartsWith("amqp", StringComparison.Ordinal): uri = value; i++; break;
                case "--out" when value.Length > 0: output = value; i++; break;
                default:
                    Console.WriteLine(Usage);
                    return args[i] is "--help" or "-h" ? 0 : 2;
            }
        }
        using var printed = new PrintedSection();
        var state = Directory.CreateTempSubdirectory("atalaya-queue-bench-").FullName;
        var started = uri is null;
        if (started)
        {
            Environment.SetEnvironmentVariable("ATALAYA_SERVICES", state);
            var clock = Stopwatch.StartNew();
            var printedUri = HubProcess.Run("bash", Repository.Root(), "scripts/services.sh", "start", "rabbitmq");
            uri = printedUri.Split('\n').First(l => l.StartsWith("RABBITMQ_URI=", StringComparison.Ordinal))["RABBITMQ_URI=".Length..].Trim();
            Console.WriteLine($"RabbitMQ started by scripts/services.sh in {clock.Elapsed.TotalSeconds:F1} s");
        }
        try
        {
            var generated = EventFactory.Generate(messages * batch, batch, seed: 11);
            var bytes = generated.HubBodies.Sum(b => (long)b.Length);
            Console.WriteLine($"{messages} messages of {batch:N0} events, {bytes / (messages * batch)} B an event, {bytes / messages / 1024.0 / 1024.0:F1} MiB a message; 4 shard quorum queues; every publish awaits its confirm; each run checks that the queues then hold every message");
            Console.WriteLine("  publishers  channels  messages/s    events/s   MiB/s  confirm p50 ms  p95 ms");
            foreach (var (publishers, channels) in new[] { (1, 1), (4, 1), (4, 4) })
            {
                await RunOnceAsync(new Uri(uri!), generated.HubBodies, batch, publishers, channels);
            }
            if (output is not null)
            {
                printed.Save(Path.Combine(Repository.Root(), output), "queue", "Event queue: publish with confirm", args);
            }
            return 0;
        }
        finally
        {
            if (started)
            {
                HubProcess.Run("bash", Repository.Root(), "scripts/services.sh", "stop", "rabbitmq");
            }
            Directory.Delete(state, recursive: true);
        }
    }

    private static async Task RunOnceAsync(Uri broker, List<byte[]> bodies, int batch, int publishers, int channels)
    {
        var options = new EventQueueOptions
        {
            Broker = broker,
            Shards = 4,
            Prefix = "bench." + Guid.NewGuid().ToString("N")[..8],
            PublishChannels = channels,
            ConfirmTimeout = TimeSpan.FromSeconds(60),
        };
        await using (var publisher = new EventPublisher(options))
        {
            await publisher.PublishAsync(0, bodies[0], null, CancellationToken.None); // connect and declare outside the timing
            var latencies = new double[bodies.Count];
            var next = 0;
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, publishers).Select(_ => Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next) - 1) < bodies.Count)
                {
                    var one = Stopwatch.StartNew();
                    await publisher.PublishAsync(i % options.Shards, bodies[i], null, CancellationToken.None);
                    latencies[i] = one.Elapsed.TotalMilliseconds;
                }
            })));
            var seconds = clock.Elapsed.TotalSeconds;
            Array.Sort(latencies);
            var mib = bodies.Sum(b => (long)b.Length) / 1024.0 / 1024.0;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {publishers,10}  {channels,8}  {bodies.Count / seconds,10:F1}  {bodies.Count * (double)batch / seconds,10:N0}  {mib / seconds,6:F1}  {latencies[latencies.Length / 2],14:F1}  {latencies[(int)(latencies.Length * 0.95)],6:F1}"));
        }
        var connection = await new ConnectionFactory { Uri = broker }.CreateConnectionAsync();
        await using (connection)
        {
            await using var channel = await connection.CreateChannelAsync();
            var topology = new EventQueueTopology(options);
            long queued = 0;
            for (var shard = 0; shard < options.Shards; shard++)
            {
                queued += (await channel.QueueDeclarePassiveAsync(topology.ShardQueue(shard))).MessageCount;
                await channel.QueueDeleteAsync(topology.ShardQueue(shard));
            }
            if (queued != bodies.Count + 1)
            {
                throw new InvalidOperationException($"{queued} messages in the queues after {bodies.Count + 1} confirmed publishes");
            }
            await channel.QueueDeleteAsync(topology.DeadLetterQueue);
            await channel.ExchangeDeleteAsync(topology.DeadLetterExchange);
        }
    }
}
