using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Atalaya.Engine.Collect;
using Atalaya.Engine.Kpi.Projection;
using Atalaya.Engine.Storage;
using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Privacy;

/// <summary>
/// Everything stored about one person: their ids (the one asked for and the ids linked to it), the
/// raw blocks and quarantined rows that hold them, and their events.
/// </summary>
internal sealed record PersonTrace(
    PersonRef Person,
    IReadOnlyList<string> UserIds,
    IReadOnlyList<string> AnonymousIds,
    IReadOnlyList<long> BlockIds,
    IReadOnlyList<long> FailedEventIds,
    IReadOnlyList<JsonObject> Events,
    IReadOnlyList<JsonObject> Quarantined,
    long CutSeq)
{
    public bool Found => Events.Count > 0 || Quarantined.Count > 0;

    public IEnumerable<string> AllIds => UserIds.Concat(AnonymousIds);
}

/// <summary>
/// Finds a person's trace without reading every block: the KPI projection knows which stored events
/// are the person's (its user column, keyed by their ids) and when they happened, so only the blocks
/// whose time range covers one of those events are read. Linked ids come from the events read: the
/// anonymous ids a user id was seen with (and an alias's previous id); from an anonymous id, the one
/// user id it was seen with (several would be several people on one device: then none), and that
/// user's anonymous ids. An anonymous id the projection keys no event by (seen only beside user ids)
/// is searched for in every block.
/// </summary>
internal static class PersonFinder
{
    private const int MaxRounds = 4;

    public static PersonTrace Find(PersonalDataStores stores, PersonRef person)
    {
        var users = new List<string>();
        var anonymous = new List<string>();
        (person.IsUser ? users : anonymous).Add(person.Id);
        var known = new HashSet<string>(StringComparer.Ordinal) { person.Id };
        // Blocks read so far, as their JSON arrays: only the events naming a known id are parsed.
        var decoded = new Dictionary<long, byte[]>();
        var blocks = new SortedSet<long>();
        var events = new List<JsonObject>();
        long cut = 0;
        using var connection = stores.Database.Connect();
        var searched = new HashSet<string>(StringComparer.Ordinal);
        for (var round = 0; round < MaxRounds; round++)
        {
            var fresh = known.Where(searched.Add).ToList();
            if (fresh.Count == 0)
            {
                break;
            }
            var (times, lastSeq) = EventTimes(stores.Kpis.Projection, fresh);
            cut = Math.Max(cut, lastSeq);
            foreach (var blockId in BlocksCovering(connection, times, cut))
            {
                if (!decoded.ContainsKey(blockId))
                {
                    decoded[blockId] = ReadBlockJson(connection, blockId);
                }
            }
            if (round == 0 && times.Count == 0 && !person.IsUser)
            {
                // The projection keys an event by its user id when it has one, so an anonymous id seen
                // only beside user ids (a device several people share) is known to no key: every block
                // is searched for it. Rare, and slower (a full read), but nothing of it is missed.
                foreach (var (blockId, json) in BlocksNaming(connection, Quoted([person.Id]), cut))
                {
                    decoded[blockId] = json;
                }
            }
            // Links seen in every block read so far (a new id may appear in a block read before).
            var quoted = Quoted(known);
            Link(person, decoded.Values.SelectMany(json => Naming(json, quoted)), users, anonymous, known);
        }
        var finalQuoted = Quoted(known);
        foreach (var (blockId, json) in decoded)
        {
            var holds = false;
            foreach (var e in Naming(json, finalQuoted))
            {
                if (PersonalFields.Ids(e).Any(id => known.Contains(id.Value)))
                {
                    holds = true;
                    events.Add(e);
                }
            }
            if (holds)
            {
                blocks.Add(blockId);
            }
        }
        var (failedIds, quarantined) = FindQuarantined(connection, known);
        SortByTime(events);
        return new PersonTrace(person, users, anonymous, [.. blocks], failedIds, events, quarantined, cut);
    }

    /// <summary>
    /// One round of linking over the events found so far (each naming a known id): a user id's
    /// anonymous ids (and an alias's previous id); from an anonymous id, the one user id it was seen
    /// with — several would be several people on one device, and then none is taken.
    /// </summary>
    internal static void Link(PersonRef person, IEnumerable<JsonObject> events, List<string> users, List<string> anonymous, HashSet<string> known)
    {
        var seenWithAnonymous = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in events)
        {
            var user = Text(e, "user_id");
            var anon = Text(e, "anonymous_id");
            var previous = Text(e, "previous_id") ?? PersonalFields.AliasPrevious(e);
            if (user is not null && users.Contains(user))
            {
                Add(anonymous, known, anon);
                Add(anonymous, known, previous);
            }
            if (!person.IsUser && (anon == person.Id || previous == person.Id) && user is not null)
            {
                seenWithAnonymous.Add(user);
            }
        }
        if (seenWithAnonymous.Count == 1)
        {
            Add(users, known, seenWithAnonymous.First());
        }
    }

    /// <summary>Oldest first (events of the same instant by id, so that every backend lists them alike).</summary>
    internal static void SortByTime(List<JsonObject> events) =>
        events.Sort((a, b) => string.CompareOrdinal(Text(a, "timestamp"), Text(b, "timestamp")) is var byTime and not 0
            ? byTime
            : string.CompareOrdinal(Text(a, "event_id"), Text(b, "event_id")));

    private static void Add(List<string> list, HashSet<string> known, string? id)
    {
        if (id is { Length: > 0 } && known.Add(id))
        {
            list.Add(id);
        }
    }

    private static string? Text(JsonObject e, string member) =>
        e[member] is JsonValue v && v.TryGetValue<string>(out var text) ? text : null;

    /// <summary>The times of the events the projection counts for these ids, and the last sequence number it holds.</summary>
    private static (List<long> Times, long LastSeq) EventTimes(KpiProjection projection, List<string> ids)
    {
        var times = new List<long>();
        using (projection.Read())
        {
            var wanted = new HashSet<int>();
            foreach (var id in ids)
            {
                if (projection.Pools.Users.Find(id) is var dense and > 0)
                {
                    wanted.Add(dense);
                }
            }
            if (wanted.Count > 0)
            {
                foreach (var chunk in projection.Chunks)
                {
                    var user = chunk.User.AsSpan(0, chunk.Count);
                    for (var i = 0; i < user.Length; i++)
                    {
                        if (user[i] != 0 && wanted.Contains(user[i]))
                        {
                            times.Add(chunk.Ts[i]);
                        }
                    }
                }
            }
            times.Sort();
            return (times, projection.LastSeq);
        }
    }

    /// <summary>The blocks (up to sequence <paramref name="cut"/>) whose time range covers one of <paramref name="times"/> (sorted).</summary>
    private static List<long> BlocksCovering(SqliteConnection connection, List<long> times, long cut)
    {
        var found = new List<long>();
        if (times.Count == 0)
        {
            return found;
        }
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT block_id, min_timestamp, max_timestamp FROM event_blocks WHERE first_seq <= $cut AND max_timestamp >= $from AND min_timestamp <= $to;";
        command.Parameters.AddWithValue("$cut", cut);
        command.Parameters.AddWithValue("$from", times[0]);
        command.Parameters.AddWithValue("$to", times[^1]);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var (min, max) = (reader.GetInt64(1), reader.GetInt64(2));
            // The first of the person's times at or after the block's start: covered when it is not past its end.
            var at = times.BinarySearch(min);
            at = at < 0 ? ~at : at;
            if (at < times.Count && times[at] <= max)
            {
                found.Add(reader.GetInt64(0));
            }
        }
        return found;
    }

    /// <summary>Every block (up to sequence <paramref name="cut"/>) whose bytes name one of the ids, with its JSON array.</summary>
    private static IEnumerable<(long BlockId, byte[] Json)> BlocksNaming(SqliteConnection connection, IReadOnlyList<byte[]> quotedIds, long cut)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT block_id, encoding, events FROM event_blocks WHERE first_seq <= $cut ORDER BY block_id;";
        command.Parameters.AddWithValue("$cut", cut);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var json = BlockCodec.Decode(reader.GetString(1), (byte[])reader.GetValue(2));
            if (MayName(json, quotedIds))
            {
                yield return (reader.GetInt64(0), json);
            }
        }
    }

    private static byte[] ReadBlockJson(SqliteConnection connection, long blockId)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT encoding, events FROM event_blocks WHERE block_id = $id;";
        command.Parameters.AddWithValue("$id", blockId);
        using var reader = command.ExecuteReader();
        return reader.Read() ? BlockCodec.Decode(reader.GetString(0), (byte[])reader.GetValue(1)) : "[]"u8.ToArray();
    }

    /// <summary>The events of a block's JSON array whose bytes name one of the ids (parsed; the others are only scanned).</summary>
    private static List<JsonObject> Naming(byte[] jsonArray, IReadOnlyList<byte[]> quotedIds)
    {
        var found = new List<JsonObject>();
        if (!MayName(jsonArray, quotedIds))
        {
            return found;
        }
        var reader = new Utf8JsonReader(jsonArray);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            var start = (int)reader.TokenStartIndex;
            reader.Skip();
            var raw = jsonArray.AsSpan(start, (int)reader.BytesConsumed - start);
            // A byte match may be inside another value: callers check the id members themselves.
            if (MayName(raw, quotedIds) && JsonNode.Parse(raw) is JsonObject e)
            {
                found.Add(e);
            }
        }
        return found;
    }

    /// <summary>Quarantined rows whose payload names one of the ids (the payload as received, so any spelling).</summary>
    internal static (List<long> Ids, List<JsonObject> Payloads) FindQuarantined(SqliteConnection connection, HashSet<string> ids)
    {
        var rows = new List<long>();
        var payloads = new List<JsonObject>();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, received_at, reason, payload FROM failed_events WHERE instr(payload, $id) > 0;";
        var parameter = command.Parameters.Add("$id", SqliteType.Text);
        var seen = new HashSet<long>();
        foreach (var id in ids)
        {
            // The id as a JSON string, so that a longer id containing it is not taken for it.
            parameter.Value = Encoding.UTF8.GetString(Quote(id));
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                if (seen.Add(reader.GetInt64(0)))
                {
                    rows.Add(reader.GetInt64(0));
                    payloads.Add(new JsonObject
                    {
                        ["received_at"] = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture),
                        ["reason"] = reader.GetString(2),
                        ["payload"] = reader.GetString(3),
                    });
                }
            }
        }
        return (rows, payloads);
    }

    /// <summary>Whether a stored block's raw bytes may name one of the ids (a cheap test before parsing).</summary>
    public static bool MayName(ReadOnlySpan<byte> json, IReadOnlyList<byte[]> quotedIds)
    {
        foreach (var id in quotedIds)
        {
            if (json.IndexOf(id) >= 0)
            {
                return true;
            }
        }
        return false;
    }

    public static List<byte[]> Quoted(IEnumerable<string> ids) =>
        [.. ids.Select(Quote)];

    /// <summary>The id as a JSON string, escaped as the hub stores text.</summary>
    public static byte[] Quote(string id)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(id.Length + 8);
        using (var writer = new Utf8JsonWriter(buffer, Collect.EventNormalizer.WriterOptions))
        {
            writer.WriteStringValue(id);
        }
        return buffer.WrittenSpan.ToArray();
    }
}
