using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Atalaya.Engine.ClickHouse;

namespace Atalaya.Engine.Privacy;

/// <summary>A row of <c>events</c> as read for a rewrite: its id, its month (<c>toYYYYMM(ts)</c>) and its stored JSON.</summary>
internal readonly record struct StoredRow(string EventId, string Month, string Payload);

/// <summary>
/// The one sanctioned rewrite of the cluster's stored events (docs/privacy.md), shared by the erasure
/// and the personal-fields job, as <see cref="BlockRewrite"/> is on the embedded hub. Each row's
/// stored JSON is rewritten in C# by the caller (the same <see cref="Collect.PersonalFields"/> code
/// as on the embedded hub, so the rows end as the blocks do), mapped again to its columns
/// (<see cref="StoredEventMapper"/>: <c>user_id</c> and <c>anonymous_id</c> follow the payload), and
/// written back by an <c>ALTER TABLE events UPDATE</c> mutation keyed by <c>event_id</c>
/// (<c>transform(event_id, ids, new values, old value)</c>). The event keeps its id, time and every
/// other column, so <c>event_ids</c> and the writer's exact dedupe are untouched: a retried old event
/// is still a duplicate. ClickHouse applies a mutation to each data part atomically, so a crash
/// leaves each row old or new; running the same rewrite again gives the same rows (a scrubbed
/// payload scrubs to itself). ClickHouse 18.16 has no <c>mutations_sync</c>: the rewrite waits
/// until <c>system.mutations</c> shows none of the table's mutations pending.
/// </summary>
internal static class ClickHouseEventRewrite
{
    /// <summary>SQL text per mutation, well under ClickHouse's max_query_size (256 KiB).</summary>
    private const int MaxStatementChars = 160_000;

    /// <summary>How long a rewrite waits for ClickHouse to apply its mutations before it gives up (a large table's parts are rewritten whole).</summary>
    public static readonly TimeSpan MutationWait = TimeSpan.FromMinutes(30);

    /// <summary>
    /// Rewrites the rows <paramref name="rewrite"/> changes (it gets each row's event, changes it in
    /// place and says whether it did); returns how many rows changed and their months.
    /// </summary>
    public static async Task<(int Events, IReadOnlyCollection<string> Months)> RewriteAsync(ClickHouseClient clickHouse, IEnumerable<StoredRow> rows,
        Func<JsonObject, bool> rewrite, CancellationToken ct)
    {
        var changed = new List<(string EventId, EventRow Row)>();
        var months = new HashSet<string>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            if (JsonNode.Parse(row.Payload) is not JsonObject e || !rewrite(e))
            {
                continue;
            }
            var output = new ArrayBufferWriter<byte>(row.Payload.Length);
            using (var writer = new Utf8JsonWriter(output, Collect.EventNormalizer.WriterOptions))
            {
                e.WriteTo(writer);
            }
            // The rewritten event was a row before and keeps its id, type and time: it maps again.
            var mapped = StoredEventMapper.TryMap(output.WrittenMemory, out var reason)
                ?? throw new InvalidOperationException($"event {row.EventId} cannot be a row once rewritten: {reason}");
            changed.Add((row.EventId, mapped));
            months.Add(row.Month);
        }
        var at = 0;
        while (at < changed.Count)
        {
            var statement = Mutation(changed, ref at);
            await clickHouse.ExecuteAsync(statement, ct).ConfigureAwait(false);
        }
        if (changed.Count > 0)
        {
            await WaitForMutationsAsync(clickHouse, ct).ConfigureAwait(false);
        }
        return (changed.Count, months);
    }

    /// <summary>One mutation for the rows from <paramref name="at"/> on, as many as fit <see cref="MaxStatementChars"/> (at least one); moves <paramref name="at"/> past them.</summary>
    private static string Mutation(List<(string EventId, EventRow Row)> changed, ref int at)
    {
        var ids = new StringBuilder();
        var users = new StringBuilder();
        var anonymous = new StringBuilder();
        var payloads = new StringBuilder();
        var first = true;
        for (; at < changed.Count; at++)
        {
            var (eventId, row) = changed[at];
            var payload = ClickHouseClient.Literal(Encoding.UTF8.GetString(row.Payload.Span));
            if (!first && ids.Length * 4 + users.Length + anonymous.Length + payloads.Length + payload.Length > MaxStatementChars)
            {
                break;
            }
            var separator = first ? "" : ",";
            ids.Append(separator).Append(ClickHouseClient.Literal(eventId));
            users.Append(separator).Append(ClickHouseClient.Literal(row.UserId));
            anonymous.Append(separator).Append(ClickHouseClient.Literal(row.AnonymousId));
            payloads.Append(separator).Append(payload);
            first = false;
        }
        return $"""
            ALTER TABLE {EventsSchema.Events} UPDATE
                user_id = transform(event_id, [{ids}], [{users}], user_id),
                anonymous_id = transform(event_id, [{ids}], [{anonymous}], anonymous_id),
                payload = transform(event_id, [{ids}], [{payloads}], payload)
            WHERE event_id IN ({ids})
            """;
    }

    /// <summary>Waits until ClickHouse has applied every mutation of <c>events</c> (polling <c>system.mutations</c>).</summary>
    public static async Task WaitForMutationsAsync(ClickHouseClient clickHouse, CancellationToken ct)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        var pause = TimeSpan.FromMilliseconds(50);
        while (await clickHouse.ScalarInt64Async(
            $"SELECT count() FROM system.mutations WHERE database = currentDatabase() AND table = '{EventsSchema.Events}' AND is_done = 0", ct).ConfigureAwait(false) > 0)
        {
            if (started.Elapsed > MutationWait)
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"ClickHouse has not applied the rewrite of the events table within {MutationWait.TotalMinutes:0} minutes (see system.mutations); the work is recorded and is finished by the next try or start"));
            }
            await Task.Delay(pause, ct).ConfigureAwait(false);
            pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.FromSeconds(1).Ticks));
        }
    }
}
