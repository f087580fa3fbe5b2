namespace Atalaya.Engine.ClickHouse;

/// <summary>What one <see cref="ClickHouseEventWriter.InsertAsync(IReadOnlyList{ReadOnlyMemory{byte}}, IReadOnlyList{long}, CancellationToken)"/> did: rows inserted (<paramref name="Written"/>,
/// in batch order), events already there (or twice in the batch), and the events that cannot be rows, by
/// index in the batch, with the reason.</summary>
internal sealed record EventWriteResult(IReadOnlyList<EventRow> Written, int Duplicates, IReadOnlyList<UnmappableEvent> Unmappable)
{
    public int Inserted => Written.Count;
}

/// <summary>A stored event that cannot be a row, for the caller's dead-letter queue.</summary>
internal readonly record struct UnmappableEvent(int Index, string Reason);

/// <summary>
/// Inserts stored events into <c>events</c> exactly once by event_id, so that a redelivered batch
/// (a crash between the insert and the queue's ack) counts nothing twice. ClickHouse has no unique
/// key, and ReplacingMergeTree only removes duplicates at some later merge, so the writer checks
/// before it inserts:
///
/// 1. map each event to a row; one that cannot be mapped is reported, not thrown;
/// 2. keep the first of each event_id in the batch;
/// 3. ask ClickHouse which of the batch's ids it has: in <c>event_ids</c> (sorted by id, so the
///    lookup reads little), and, for the ids not there, in <c>events</c> itself within the batch's
///    time range (see below);
/// 4. insert the rest into <c>events</c>, then their ids into <c>event_ids</c>.
///
/// Why exact: the check and the insert are not one transaction, so the invariant is that one
/// writer owns an id (the writer of a shard is its queue's single active consumer): nothing inserts
/// the batch's ids between the check and the insert. A crash can stop the writer at any point; the
/// queue then redelivers the batch:
/// - before the events insert: nothing was written, the redelivery inserts it all;
/// - after the events insert (one block of one request: all rows or none) and before the ids
///   insert: <c>events</c> holds the rows and <c>event_ids</c> does not. Step 3 finds them in
///   <c>events</c> (a redelivery is the same stored bytes, so the same times), counts them as
///   duplicates and writes the missing ids to <c>event_ids</c>, which repairs the half-done batch;
/// - after both inserts: step 3 finds every id in <c>event_ids</c>.
/// Events first, ids second, because the other order would lose events: ids written, crash, and
/// the redelivery would take the missing events for duplicates. The look in <c>events</c> costs
/// one query a batch over the batch's time span of the table, which for live traffic is minutes.
/// </summary>
internal sealed class ClickHouseEventWriter(ClickHouseClient client)
{
    private static readonly string[] IdColumns = ["event_id", "ts"];

    public Task<EventWriteResult> InsertAsync(IReadOnlyList<ReadOnlyMemory<byte>> storedEvents, CancellationToken cancellationToken) =>
        InsertAsync(storedEvents, null, cancellationToken);

    /// <param name="arrivals">Each event's arrival position (see <see cref="EventRow.Arrival"/>), or null when not known.</param>
    public async Task<EventWriteResult> InsertAsync(IReadOnlyList<ReadOnlyMemory<byte>> storedEvents, IReadOnlyList<long>? arrivals, CancellationToken cancellationToken)
    {
        var unmappable = new List<UnmappableEvent>();
        var unique = new List<EventRow>(storedEvents.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var duplicates = 0;
        for (var i = 0; i < storedEvents.Count; i++)
        {
            if (StoredEventMapper.TryMap(storedEvents[i], out var reason) is not { } row)
            {
                unmappable.Add(new UnmappableEvent(i, reason!));
            }
            else if (seen.Add(row.EventId))
            {
                unique.Add(arrivals is null ? row : row with { Arrival = arrivals[i] });
            }
            else
            {
                duplicates++;
            }
        }
        if (unique.Count == 0)
        {
            return new EventWriteResult([], duplicates, unmappable);
        }

        var known = await IdsInAsync(EventsSchema.EventIds, "", unique, cancellationToken);
        var unknown = unique.Where(r => !known.Contains(r.EventId)).ToList();
        var (from, to) = (unknown.Count > 0 ? unknown.Min(r => r.Timestamp) : default, unknown.Count > 0 ? unknown.Max(r => r.Timestamp) : default);
        var halfWritten = unknown.Count == 0 ? [] : await IdsInAsync(EventsSchema.Events,
            $"ts >= toDateTime({from.ToUnixTimeSeconds()}) AND ts <= toDateTime({to.ToUnixTimeSeconds()}) AND ", unknown, cancellationToken);
        var fresh = unknown.Where(r => !halfWritten.Contains(r.EventId)).ToList();

        if (fresh.Count > 0)
        {
            await client.InsertAsync(EventsSchema.Events, StoredEventMapper.Columns, async (rows, ct) =>
            {
                foreach (var row in fresh)
                {
                    StoredEventMapper.Write(row, rows.Row);
                    await rows.EndRowAsync(ct);
                }
            }, cancellationToken);
        }
        var ids = fresh.Concat(unknown.Where(r => halfWritten.Contains(r.EventId))).ToList();
        if (ids.Count > 0)
        {
            await client.InsertAsync(EventsSchema.EventIds, IdColumns, async (rows, ct) =>
            {
                foreach (var row in ids)
                {
                    rows.Row.WriteStartObject();
                    rows.Row.WriteString("event_id"u8, row.EventId);
                    StoredEventMapper.WriteTime(rows.Row, "ts"u8, row.Timestamp);
                    rows.Row.WriteEndObject();
                    await rows.EndRowAsync(ct);
                }
            }, cancellationToken);
        }
        return new EventWriteResult(fresh, duplicates + unique.Count - fresh.Count, unmappable);
    }

    /// <summary>The ids of <paramref name="rows"/> that <paramref name="table"/> holds, asked with the ids as an external table.</summary>
    private async Task<HashSet<string>> IdsInAsync(string table, string condition, List<EventRow> rows, CancellationToken cancellationToken)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        var ids = new ExternalTable("batch_ids", "event_id String", rows.Select(r => TabSeparated.Escape(r.EventId)));
        await foreach (var row in client.QueryAsync($"SELECT DISTINCT event_id FROM {table} WHERE {condition}event_id IN batch_ids", ids, cancellationToken))
        {
            found.Add(row[0]!);
        }
        return found;
    }
}
