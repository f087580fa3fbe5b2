using System.Buffers;
using System.Text.Json;
using Atalaya.Engine.Queue;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Cluster;

/// <summary>
/// <c>atalaya migrate --to-cluster</c> (docs/scale-out.md): publishes every event of an embedded data
/// folder's log, oldest block first, to the cluster's shard queues with confirms, and records after
/// each round the last sequence number whose events are all confirmed, in
/// <see cref="CheckpointFile"/> beside the database. Run again after an interruption, it goes on
/// from there; the events of the round that was cut off are published again and the writers count
/// them once (they dedupe by event_id). The events keep their ids, times and received_at.
/// </summary>
public sealed class ClusterMigration
{
    public const string CheckpointFile = "cluster-migration.json";

    /// <summary>Events published in one round before the checkpoint moves (about 50 MB of stored JSON).</summary>
    internal int RoundEvents { get; init; } = 50_000;

    /// <summary>The events of the folder's log after the checkpoint of this target.</summary>
    public static long Remaining(string dataDirectory, ClusterNode target)
    {
        var database = HubDatabase.Open(dataDirectory);
        using var connection = database.Connect();
        return StoredBlocks.CountAfter(connection, ReadCheckpoint(dataDirectory, Target(target)));
    }

    /// <summary>Publishes the events after the checkpoint; <paramref name="progress"/> hears the events published so far by this run. Returns that count.</summary>
    /// <exception cref="StoreUnavailableException">RabbitMQ is unreachable; what was confirmed is in the checkpoint.</exception>
    public async Task<long> RunAsync(string dataDirectory, ClusterNode target, Action<long>? progress, CancellationToken ct)
    {
        var database = HubDatabase.Open(dataDirectory);
        var name = Target(target);
        var after = ReadCheckpoint(dataDirectory, name);
        var shards = target.Queue.Shards;
        var bodies = new ArrayBufferWriter<byte>?[shards];
        long published = 0, inRound = 0, lastSeq = after;
        using var connection = database.Connect();
        foreach (var block in StoredBlocks.After(connection, after))
        {
            ct.ThrowIfCancellationRequested();
            var seq = block.FirstSeq;
            foreach (var storedEvent in Elements(block.Json))
            {
                var id = StoredEventIds.Read(storedEvent.Span);
                var body = bodies[EventQueueTopology.ShardOf(id, shards)] ??= new ArrayBufferWriter<byte>(1 << 20);
                // The log's sequence number keeps the events' order, ties included, on the cluster.
                ArrivalLine.Write(body, seq++, storedEvent.Span);
                inRound++;
            }
            lastSeq = block.FirstSeq + block.Count - 1;
            if (inRound >= RoundEvents)
            {
                await PublishAsync(target, bodies, ct).ConfigureAwait(false);
                published += inRound;
                inRound = 0;
                WriteCheckpoint(dataDirectory, name, lastSeq);
                progress?.Invoke(published);
            }
        }
        if (inRound > 0)
        {
            await PublishAsync(target, bodies, ct).ConfigureAwait(false);
            published += inRound;
            WriteCheckpoint(dataDirectory, name, lastSeq);
            progress?.Invoke(published);
        }
        return published;
    }

    /// <summary>Publishes each shard's round (in messages of at most <see cref="ArrivalLine.MigrationMessageBytes"/>, so a writer's prefetch holds little) and clears it once confirmed.</summary>
    private static async Task PublishAsync(ClusterNode target, ArrayBufferWriter<byte>?[] bodies, CancellationToken ct)
    {
        var publishes = new List<Task>();
        for (var shard = 0; shard < bodies.Length; shard++)
        {
            if (bodies[shard] is { WrittenCount: > 0 } body)
            {
                foreach (var message in ArrivalLine.Parts(body.WrittenMemory, ArrivalLine.MigrationMessageBytes))
                {
                    publishes.Add(target.Publisher.PublishAsync(shard, message, null, ct));
                }
            }
        }
        try
        {
            await Task.WhenAll(publishes).ConfigureAwait(false);
        }
        catch (QueueUnavailableException e)
        {
            throw new StoreUnavailableException($"The cluster's queue is unavailable: {e.Message}", e);
        }
        foreach (var body in bodies)
        {
            body?.ResetWrittenCount();
        }
    }

    /// <summary>Each element of a block's JSON array, as its raw bytes.</summary>
    private static List<ReadOnlyMemory<byte>> Elements(ReadOnlyMemory<byte> json)
    {
        var elements = new List<ReadOnlyMemory<byte>>();
        var reader = new Utf8JsonReader(json.Span);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            var start = (int)reader.TokenStartIndex;
            reader.Skip();
            elements.Add(json.Slice(start, (int)reader.BytesConsumed - start));
        }
        return elements;
    }

    /// <summary>The checkpoint belongs to one target: a folder moved to a second cluster starts over.</summary>
    private static string Target(ClusterNode target) => $"{target.ClickHouseSettings.Url}{target.ClickHouseSettings.Database} {target.Queue.Broker.Host}:{target.Queue.Broker.Port}";

    private static long ReadCheckpoint(string dataDirectory, string target)
    {
        var path = Path.Combine(dataDirectory, CheckpointFile);
        if (!File.Exists(path))
        {
            return 0;
        }
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        return document.RootElement.GetProperty("target").GetString() == target ? document.RootElement.GetProperty("last_seq").GetInt64() : 0;
    }

    private static void WriteCheckpoint(string dataDirectory, string target, long lastSeq)
    {
        var path = Path.Combine(dataDirectory, CheckpointFile);
        var temporary = path + ".tmp";
        using (var stream = PrivateFiles.Create(temporary))
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            writer.WriteString("target", target);
            writer.WriteNumber("last_seq", lastSeq);
            writer.WriteEndObject();
        }
        File.Move(temporary, path, overwrite: true);
    }
}
