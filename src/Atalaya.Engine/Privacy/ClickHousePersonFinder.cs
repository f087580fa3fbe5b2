using System.Text;
using System.Text.Json.Nodes;
using Atalaya.Engine.ClickHouse;
using Atalaya.Engine.Collect;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Privacy;

/// <summary>
/// A person's trace on a cluster node, where the events live in ClickHouse (docs/scale-out.md): the
/// same rounds of linking as <see cref="PersonFinder"/>, each asking ClickHouse for the events whose
/// <c>user_id</c> or <c>anonymous_id</c> column holds an id found so far, and the alias events whose
/// stored JSON names one (their previous id is inside). The columns are read in full (a scan of two
/// string columns, no payload), so an anonymous id seen only beside other people's user ids is found
/// as directly as any other. Quarantined rows come from where the node keeps them: PostgreSQL with
/// <c>--postgres</c> (every node's), else the node's own folder.
/// </summary>
internal static class ClickHousePersonFinder
{
    private const int MaxRounds = 4;

    public static async Task<PersonTrace> FindAsync(ClickHouseClient clickHouse, HubDatabase database, Cluster.SharedQuarantine? sharedRefusals, PersonRef person, CancellationToken ct)
    {
        var users = new List<string>();
        var anonymous = new List<string>();
        (person.IsUser ? users : anonymous).Add(person.Id);
        var known = new HashSet<string>(StringComparer.Ordinal) { person.Id };
        var searched = new HashSet<string>(StringComparer.Ordinal);
        var found = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        for (var round = 0; round < MaxRounds; round++)
        {
            var fresh = known.Where(searched.Add).ToList();
            if (fresh.Count == 0)
            {
                break;
            }
            await foreach (var e in NamingAsync(clickHouse, fresh, ct).ConfigureAwait(false))
            {
                if (e["event_id"] is JsonValue id && id.TryGetValue<string>(out var eventId))
                {
                    found.TryAdd(eventId, e);
                }
            }
            PersonFinder.Link(person, found.Values, users, anonymous, known);
        }
        // As on the embedded hub: the events whose id members hold one of the person's ids (an alias
        // event found by its bytes may name the id elsewhere only).
        var events = found.Values.Where(e => PersonalFields.Ids(e).Any(id => known.Contains(id.Value))).ToList();
        PersonFinder.SortByTime(events);
        List<long> failedIds = [];
        List<JsonObject> quarantined;
        if (sharedRefusals is not null)
        {
            quarantined = sharedRefusals.Naming([.. known.Select(id => Encoding.UTF8.GetString(PersonFinder.Quote(id)))]);
        }
        else
        {
            using var connection = database.Connect();
            (failedIds, quarantined) = PersonFinder.FindQuarantined(connection, known);
        }
        return new PersonTrace(person, users, anonymous, [], failedIds, events, quarantined, 0);
    }

    /// <summary>The stored events naming one of <paramref name="ids"/> in their id columns, and alias events whose JSON names one.</summary>
    private static async IAsyncEnumerable<JsonObject> NamingAsync(ClickHouseClient clickHouse, List<string> ids,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        await foreach (var row in NamingRowsAsync(clickHouse, ids, ct).ConfigureAwait(false))
        {
            if (JsonNode.Parse(row.Payload) is JsonObject e)
            {
                yield return e;
            }
        }
    }

    /// <summary>As <see cref="NamingAsync"/>, the rows as stored (an erasure rewrites them: <see cref="ClusterErasure"/>).</summary>
    public static async IAsyncEnumerable<StoredRow> NamingRowsAsync(ClickHouseClient clickHouse, IReadOnlyCollection<string> ids,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        // The ids travel as external data, never inside the SQL text (no quoting to get wrong).
        var table = new ExternalTable("person_ids", "id String, quoted String",
            ids.Select(id => TabSeparated.Escape(id) + "\t" + TabSeparated.Escape(Encoding.UTF8.GetString(PersonFinder.Quote(id)))));
        var sql = $"""
            SELECT event_id, toString(toYYYYMM(ts)), payload FROM {EventsSchema.Events}
            WHERE user_id IN (SELECT id FROM person_ids) OR anonymous_id IN (SELECT id FROM person_ids)
               OR (event_type = 'alias' AND arrayExists(q -> position(payload, q) > 0, (SELECT groupArray(quoted) FROM person_ids)))
            """;
        await foreach (var row in clickHouse.QueryAsync(sql, table, ct).ConfigureAwait(false))
        {
            if (row[2] is { } payload)
            {
                yield return new StoredRow(row[0]!, row[1]!, payload);
            }
        }
    }
}
