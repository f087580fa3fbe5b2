using System.Buffers;
using System.Text.Json;
using System.Threading.Channels;
using Atalaya.Engine.Storage;
using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Recommendations;

/// <summary>
/// How the model keeps up with the event log. <see cref="Follow"/> hooks the commit callback
/// (after the KPI engine's) but stays dormant, so CLI commands that open a hub pay nothing.
/// <see cref="Start"/> (the server's loader) fixes a watermark W, the last stored sequence number,
/// in the same critical section that wakes the follower: from then on the follower takes the events
/// after W as they commit and the loader reads the stored blocks up to W, so every event is applied
/// exactly once. The writer thread only copies the events the model reads into one buffer per
/// commit; a consumer task applies them, so acknowledgements never wait for the model (it trails
/// the log by the time of one apply; <see cref="FlushAsync"/> waits for it).
/// </summary>
public sealed partial class RecommendationModel
{
    private readonly Lock _feedGate = new();
    private long _watermark = long.MaxValue;
    private Channel<object>? _feed;
    private Task? _consumer;
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the stored history has been read (<see cref="Start"/>).</summary>
    public Task Loaded => _loaded.Task;

    public bool IsLoaded => _loaded.Task.IsCompletedSuccessfully;

    /// <summary>Stored events the model could not read (it never throws on the commit path).</summary>
    public long Unreadable { get; private set; }

    /// <summary>Hands every commit of <paramref name="log"/> to the model after the KPI engine's callback, once started.</summary>
    public void Follow(EventLog log)
    {
        var before = log.Committed;
        log.Committed = batches =>
        {
            before?.Invoke(batches);
            OnCommitted(batches);
        };
    }

    /// <summary>On the writer thread: copies the kept events after the watermark that the model reads into one JSON array.</summary>
    private void OnCommitted(IReadOnlyList<CommittedBatch> batches)
    {
        Channel<object>? feed;
        long watermark;
        lock (_feedGate)
        {
            (feed, watermark) = (_feed, _watermark);
        }
        if (feed is null)
        {
            return;
        }
        byte[]? buffer = null;
        var length = 0;
        foreach (var committed in batches)
        {
            var seq = committed.FirstSeq;
            var events = committed.Batch.Events;
            for (var i = 0; i < events.Length; i++)
            {
                if (!committed.Kept[i] || seq++ <= watermark)
                {
                    continue;
                }
                var json = committed.Batch.Json(events[i]);
                if (!RecommendationEvent.IsRead(json))
                {
                    continue;
                }
                if (buffer is null || length + json.Length + 2 > buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(Math.Max(64 * 1024, (length + json.Length + 2) * 2));
                    if (buffer is not null)
                    {
                        buffer.AsSpan(0, length).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                    }
                    buffer = larger;
                }
                buffer[length] = (byte)(length == 0 ? '[' : ',');
                length++;
                json.CopyTo(buffer.AsSpan(length));
                length += json.Length;
            }
        }
        if (buffer is not null)
        {
            buffer[length++] = (byte)']';
            if (!feed.Writer.TryWrite(new Chunk(buffer, length)))
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private sealed record Chunk(byte[] Buffer, int Length);

    private async Task ConsumeAsync(ChannelReader<object> reader)
    {
        await foreach (var item in reader.ReadAllAsync().ConfigureAwait(false))
        {
            if (item is Chunk chunk)
            {
                lock (_gate)
                {
                    ApplyBlock(chunk.Buffer.AsSpan(0, chunk.Length));
                }
                ArrayPool<byte>.Shared.Return(chunk.Buffer);
            }
            else if (item is TaskCompletionSource flushed)
            {
                flushed.TrySetResult();
            }
        }
    }

    /// <summary>Completes once every event committed before the call has been applied (immediately when the model is not started).</summary>
    public Task FlushAsync()
    {
        Channel<object>? feed;
        lock (_feedGate)
        {
            feed = _feed;
        }
        var flushed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return feed is not null && feed.Writer.TryWrite(flushed) ? flushed.Task : Task.CompletedTask;
    }

    /// <summary>Stops following the log (the server's shutdown); what was handed over is applied first.</summary>
    public async Task StopAsync()
    {
        Channel<object>? feed;
        lock (_feedGate)
        {
            feed = _feed;
            _feed = null;
        }
        if (feed is not null)
        {
            feed.Writer.TryComplete();
            await _consumer!.ConfigureAwait(false);
        }
    }

    private void ApplySafely(ReadOnlySpan<byte> json)
    {
        try
        {
            ApplyLocked(json);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            Unreadable++;
        }
    }

    /// <summary>
    /// Wakes the follower and reads the stored history (the blocks whose newest event is within
    /// <paramref name="horizon"/> of the newest stored event). Returns the events read.
    /// </summary>
    public long Start(SqliteConnection connection, TimeSpan horizon, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        long watermark, newest;
        lock (_feedGate)
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT coalesce(max(first_seq + event_count - 1), 0), coalesce(max(max_timestamp), 0) FROM event_blocks;";
            using (var reader = command.ExecuteReader())
            {
                reader.Read();
                watermark = reader.GetInt64(0);
                newest = reader.GetInt64(1);
            }
            lock (_gate)
            {
                // Live events interleave with the history while it loads: pruning by the newest
                // timestamp would close sessions whose later views are still to be read.
                _pruning = false;
            }
            _watermark = watermark;
            var feed = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
            _feed = feed;
            _consumer = Task.Run(() => ConsumeAsync(feed.Reader), CancellationToken.None);
        }
        long read = 0;
        try
        {
            using var blocks = connection.CreateCommand();
            blocks.CommandText = """
                SELECT encoding, events, event_count FROM event_blocks
                WHERE first_seq <= $watermark AND max_timestamp >= $since ORDER BY first_seq;
                """;
            blocks.Parameters.AddWithValue("$watermark", watermark);
            blocks.Parameters.AddWithValue("$since", newest - (long)horizon.TotalMilliseconds);
            using var reader = blocks.ExecuteReader();
            while (reader.Read())
            {
                cancellationToken.ThrowIfCancellationRequested();
                var json = BlockCodec.Decode(reader.GetString(0), (byte[])reader.GetValue(1));
                lock (_gate)
                {
                    ApplyBlock(json);
                }
                read += reader.GetInt64(2);
            }
        }
        finally
        {
            lock (_gate)
            {
                _pruning = true;
                Prune();
            }
        }
        _loaded.TrySetResult();
        return read;
    }

    /// <summary>Applies every event of a JSON array of events; the caller holds the lock.</summary>
    private void ApplyBlock(ReadOnlySpan<byte> array)
    {
        var reader = new Utf8JsonReader(array);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            var start = (int)reader.TokenStartIndex;
            reader.Skip();
            ApplySafely(array[start..(int)reader.BytesConsumed]);
        }
    }

    /// <summary>A model built from events in hand (evaluation, benchmarks): no log, no watermark.</summary>
    public static RecommendationModel FromEvents(IEnumerable<byte[]> events)
    {
        var model = new RecommendationModel();
        model.ApplyAll(events);
        return model;
    }

    /// <summary>Applies events in hand, in order.</summary>
    public void ApplyAll(IEnumerable<byte[]> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        lock (_gate)
        {
            foreach (var json in events)
            {
                ApplySafely(json);
            }
        }
        _loaded.TrySetResult();
    }
}
