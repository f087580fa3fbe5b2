using System.Collections.Concurrent;
using System.Text.Json;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Kpi.Projection;

public sealed partial class KpiProjection
{
    private const int ReplayBatchSize = 1024;

    /// <summary>
    /// Applies stored blocks in storage order, reading the facts of the next events on another
    /// thread while this one adds the facts read before. A replay at start-up (the events after
    /// the snapshot) then uses two cores: reading an event's facts is about two thirds of its cost.
    ///
    /// The two threads share nothing but the facts handed over: reading only interns text into
    /// <see cref="Pools"/>, and <see cref="Add"/> never reads the pools (it works on their ids).
    /// Both go in storage order, so the pools and the tables come out exactly as a one-thread
    /// replay makes them. Call under <see cref="Write"/>; returns the number of events applied,
    /// reported after each batch to <paramref name="applied"/>.
    /// </summary>
    internal long ApplyBlocks(IEnumerable<StoredBlock> blocks, Action<long>? applied = null)
    {
        using var read = new BlockingCollection<ReplayBatch>(boundedCapacity: 4);
        using var free = new BlockingCollection<ReplayBatch>();
        for (var i = 0; i < 6; i++)
        {
            free.Add(new ReplayBatch());
        }
        using var stop = new CancellationTokenSource();
        // A thread of its own rather than the pool's, as for the other start-up work (Hub.Open).
        var reading = Task.Factory.StartNew(() => ReadBatches(blocks, read, free, stop.Token), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);
        long count = 0;
        var stoppedEarly = true;
        try
        {
            foreach (var batch in read.GetConsumingEnumerable())
            {
                for (var i = 0; i < batch.Count; i++)
                {
                    Add(batch.Facts[i]);
                    LastSeq = batch.Seq[i];
                }
                count += batch.Count;
                batch.Count = 0;
                free.Add(batch);
                applied?.Invoke(count);
            }
            stoppedEarly = false;
        }
        finally
        {
            stop.Cancel();
            try
            {
                // A read or decode failure surfaces here, once every event before it is applied.
                reading.GetAwaiter().GetResult();
            }
            catch (OperationCanceledException) when (stoppedEarly)
            {
                // Adding failed and stopped the reader: that failure is the one to report.
            }
        }
        return count;
    }

    private void ReadBatches(IEnumerable<StoredBlock> blocks, BlockingCollection<ReplayBatch> read, BlockingCollection<ReplayBatch> free,
        CancellationToken stop)
    {
        try
        {
            var batch = free.Take(stop);
            foreach (var block in blocks)
            {
                var json = new Utf8JsonReader(block.Json.Span);
                json.Read();
                var seq = block.FirstSeq;
                while (json.Read() && json.TokenType == JsonTokenType.StartObject)
                {
                    _reader.Read(ref json, batch.Facts[batch.Count]);
                    batch.Seq[batch.Count++] = seq++;
                    if (batch.Count == ReplayBatchSize)
                    {
                        read.Add(batch, stop);
                        batch = free.Take(stop);
                    }
                }
                // The facts hold no reference into the block: its buffer can serve the next one.
                block.Release();
            }
            if (batch.Count > 0)
            {
                read.Add(batch, stop);
            }
        }
        finally
        {
            read.CompleteAdding();
        }
    }

    /// <summary>Facts read ahead of the thread that adds them, with their sequence numbers; reused.</summary>
    private sealed class ReplayBatch
    {
        public readonly EventFacts[] Facts = Enumerable.Range(0, ReplayBatchSize).Select(_ => new EventFacts()).ToArray();
        public readonly long[] Seq = new long[ReplayBatchSize];
        public int Count;
    }
}
