namespace Atalaya.Engine.Storage;

/// <summary>
/// Where the ingest pipeline hands a request's validated events: the embedded <see cref="EventLog"/>
/// (SQLite, group commit), or on a cluster the queue the writers insert from (docs/scale-out.md).
/// Either way the append completes only once the events are durable, and it says which were new.
/// </summary>
internal interface IEventSink
{
    /// <summary>The stores known so far, whose dimensions an order is enriched with.</summary>
    StoreDirectory Stores { get; }

    /// <summary>
    /// Whether the sink stores the batch as a compressed block (the event log does; a cluster's queue
    /// publishes the events as they are). The pipeline then compresses on the request's thread,
    /// in parallel with other requests, rather than leaving it to the log's single writer.
    /// </summary>
    bool StoresCompressedBlocks => true;

    /// <summary>Makes the batch's events durable; throws <see cref="StoreUnavailableException"/> when it cannot (the caller answers 503).</summary>
    Task<AppendOutcome> AppendAsync(AppendBatch batch);
}
