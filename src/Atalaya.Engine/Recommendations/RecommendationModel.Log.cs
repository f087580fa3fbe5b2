using System.Text.Json;
using Atalaya.Engine.Storage;
using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Recommendations;

/// <summary>
/// How the model keeps up with the event log. <see cref="Follow"/> hooks the commit callback
/// (after the KPI engine's) but stays dormant, so CLI commands that open a hub pay nothing.
/// <see cref="Start"/> (the server's loader) fixes a watermark W, the last stored sequence number,
/// in the same critical section that wakes the follower: from then on the follower applies events
/// after W as they commit and the loader reads the stored blocks up to W, each block under the lock
/// so ingestion never waits for the whole history. Every event is applied exactly once either way.
/// </summary>
public sealed partial class RecommendationModel
{
    private long _watermark = long.MaxValue;
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the stored history has been read (<see cref="Start"/>).</summary>
    public Task Loaded => _loaded.Task;

    public bool IsLoaded => _loaded.Task.IsCompletedSuccessfully;

    /// <summary>Stored events the follower could not read (it never throws on the commit path).</summary>
    public long Unreadable { get; private set; }

    /// <summary>Feeds every commit of <paramref name="log"/> after the KPI engine's callback, once started.</summary>
    public void Follow(EventLog log)
    {
        var before = log.Committed;
        log.Committed = batches =>
        {
            before?.Invoke(batches);
            OnCommitted(batches);
        };
    }

    private void OnCommitted(IReadOnlyList<CommittedBatch> batches)
    {
        lock (_gate)
        {
            foreach (var committed in batches)
            {
                var seq = committed.FirstSeq;
                var events = committed.Batch.Events;
                for (var i = 0; i < events.Length; i++)
                {
                    if (!committed.Kept[i])
                    {
                        continue;
                    }
                    if (seq++ > _watermark)
                    {
                        ApplySafely(committed.Batch.Json(events[i]));
                    }
                }
            }
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
    /// Reads the stored history (the blocks whose newest event is within <paramref name="horizon"/>
    /// of the newest stored event) and wakes the follower. Returns the events read.
    /// </summary>
    public long Start(SqliteConnection connection, TimeSpan horizon, CancellationToken cancellationToken = default)
    {
        long watermark, newest;
        lock (_gate)
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT coalesce(max(first_seq + event_count - 1), 0), coalesce(max(max_timestamp), 0) FROM event_blocks;";
            using (var reader = command.ExecuteReader())
            {
                reader.Read();
                watermark = reader.GetInt64(0);
                newest = reader.GetInt64(1);
            }
            _watermark = watermark;
            // Live events interleave with the history while it loads: pruning by the newest
            // timestamp would close sessions whose later views are still to be read.
            _pruning = false;
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

    /// <summary>Applies every event of a stored block (a JSON array); the caller holds the lock.</summary>
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
