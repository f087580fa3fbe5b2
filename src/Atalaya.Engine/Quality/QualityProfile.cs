using System.Text.Json;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Storage;
using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Quality;

/// <summary>The per-event measures the profile counts (column <c>measure</c> of <c>dq_profile</c>).</summary>
internal static class Measure
{
    public const string Events = "events";

    /// <summary>Neither user_id nor anonymous_id: no user key, so user and customer KPIs cannot count it.</summary>
    public const string NoUser = "no_user";

    /// <summary>No session_id (the event is in no session KPI).</summary>
    public const string NoSession = "no_session";

    /// <summary>The event names a store (<c>properties.store_id</c>).</summary>
    public const string StoreRef = "store_ref";

    /// <summary>It names a store but has no country: the store was never registered by store_created and the client sent none.</summary>
    public const string NoCountry = "no_country";

    /// <summary>A monetary event whose FX rate could not be found (flag <c>fx_rate_missing</c>).</summary>
    public const string FxMissing = "fx_missing";

    /// <summary>Its timestamp was more than 24 h in the future and was clamped (flag <c>timestamp_clamped</c>).</summary>
    public const string Clamped = "clamped";

    /// <summary>An order whose amounts do not add up (see <see cref="QualityProfile.Inconsistent"/>).</summary>
    public const string Inconsistent = "inconsistent";
}

/// <summary>
/// The incremental pass behind the data-quality checks. It reads the raw events stored since its
/// watermark once and adds them to per-day counters (<c>dq_profile</c>: events, missing fields,
/// FX rates not found, clamped times, orders that do not add up) and to the record of fields
/// outside the catalog (<c>dq_schema_seen</c>), then moves the watermark, all in one transaction.
/// The checks then read small tables instead of scanning events: a check over 7 days costs the
/// same at 10 thousand or 10 million events, and a late event counts in its own day.
/// Where the events are read from is <paramref name="events"/>: the data folder's log on the
/// embedded hub, ClickHouse on a cluster node (each stored event's JSON, the same bytes); the
/// counting and the counters are one code path for both.
/// </summary>
internal sealed class QualityProfile(HubDatabase database, EventCatalog catalog, IEventPositions events)
{
    /// <summary>The watermark's name in <c>dq_state</c> for the data folder's sequence numbers.</summary>
    public const string StateName = "profile";

    /// <summary>Amounts may differ by this much per order line (prices are rounded line by line).</summary>
    private const decimal Cent = 0.01m;

    /// <summary>The measures in the order of a key's counter array.</summary>
    private static readonly string[] Measures =
        [Measure.Events, Measure.NoUser, Measure.NoSession, Measure.StoreRef, Measure.NoCountry, Measure.FxMissing, Measure.Clamped, Measure.Inconsistent];

    // One lookup per event: the key's counters are an array indexed like Measures.
    private readonly Dictionary<(string Day, string Source, string Type), long[]> _counts = [];
    private readonly Dictionary<(string Type, string Field), (string First, string Last, long Events)> _seen = [];

    // Per country, day and type: events and the newest receive time (unix ms), for the per-country checks.
    private readonly Dictionary<(string Day, string Country, string Type), (long Events, long LastReceived)> _countries = [];

    /// <summary>The watermark's name in <c>dq_state</c> for positions of <paramref name="kind"/> (<see cref="IEventPositions.Kind"/>).</summary>
    public static string StateNameOf(string kind) => kind == StoredEventPositions.Sequence ? StateName : $"{StateName}@{kind}";

    /// <summary>Counts the events stored since the last pass; returns how many it read and how many counter rows it added to.</summary>
    public (long Events, long Rows) Run()
    {
        _counts.Clear();
        _seen.Clear();
        _countries.Clear();
        using var connection = database.Connect();
        var state = StateNameOf(events.Kind);
        var after = Watermark(connection, state);
        long read = 0;
        var through = events.ReadAfter(after ?? 0, e =>
        {
            Count(e);
            read++;
        });
        return (read, Save(connection, state, fresh: after is null, through));
    }

    /// <summary>The last stored sequence number the counters include (0 before the first pass).</summary>
    public static long Watermark(SqliteConnection connection) => Watermark(connection, StateName) ?? 0;

    /// <summary>The position of <paramref name="state"/>'s kind the counters include; null when they were never counted from positions of that kind.</summary>
    private static long? Watermark(SqliteConnection connection, string state)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT through_seq FROM dq_state WHERE name = $name;";
        command.Parameters.AddWithValue("$name", state);
        return command.ExecuteScalar() is long seq ? seq : null;
    }

    private void Count(JsonElement e)
    {
        var type = e.GetProperty("event_type").GetString()!;
        // Stored timestamps are UTC ISO 8601 ('2026-11-27T10:00:00Z'): the day is the first ten characters.
        var day = e.GetProperty("timestamp").GetString()![..10];
        var source = e.TryGetProperty("source_system", out var s) ? s.GetString() ?? "" : "";
        var key = (day, source, type);
        if (!_counts.TryGetValue(key, out var counts))
        {
            _counts[key] = counts = new long[Measures.Length];
        }
        counts[0]++;
        if (!Has(e, "user_id") && !Has(e, "anonymous_id"))
        {
            counts[1]++;
        }
        if (!Has(e, "session_id"))
        {
            counts[2]++;
        }
        var hasProperties = e.TryGetProperty("properties", out var properties) && properties.ValueKind == JsonValueKind.Object;
        var country = e.TryGetProperty("context", out var context) && context.ValueKind == JsonValueKind.Object
            && context.TryGetProperty("country", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
        if (hasProperties && Has(properties, "store_id"))
        {
            counts[3]++;
            if (string.IsNullOrEmpty(country))
            {
                counts[4]++;
            }
        }
        if (!string.IsNullOrEmpty(country) && e.TryGetProperty("received_at", out var r) && r.TryGetDateTimeOffset(out var received))
        {
            var ms = received.ToUnixTimeMilliseconds();
            var countryKey = (day, country, type);
            _countries[countryKey] = _countries.TryGetValue(countryKey, out var seen) ? (seen.Events + 1, Math.Max(seen.LastReceived, ms)) : (1, ms);
        }
        if (e.TryGetProperty("flags", out var flags) && flags.ValueKind == JsonValueKind.Array)
        {
            foreach (var flag in flags.EnumerateArray())
            {
                if (flag.ValueEquals("fx_rate_missing"u8))
                {
                    counts[5]++;
                }
                else if (flag.ValueEquals("timestamp_clamped"u8))
                {
                    counts[6]++;
                }
            }
        }
        if (hasProperties && Inconsistent(type, properties))
        {
            counts[7]++;
        }
        Drift(e, type, day, hasProperties ? properties : default);
    }

    /// <summary>
    /// An order's amounts that cannot all be right: a purchase whose subtotal is not the sum of its
    /// lines (price × quantity, a cent of rounding per line), or a final-status snapshot whose total
    /// is neither subtotal + delivery_fee − discount (tax included in prices) nor that plus tax, or
    /// whose commission is larger than the order. Negative amounts never get this far: the
    /// catalog rejects them.
    /// </summary>
    public static bool Inconsistent(string type, JsonElement properties)
    {
        switch (type)
        {
            case "purchase_completed" when Number(properties, "subtotal") is { } subtotal
                && properties.TryGetProperty("items", out var items) && items.ValueKind == JsonValueKind.Array:
                {
                    decimal sum = 0;
                    var lines = 0;
                    foreach (var item in items.EnumerateArray())
                    {
                        sum += (Number(item, "price") ?? 0) * (Number(item, "quantity") ?? 0);
                        lines++;
                    }
                    return Math.Abs(sum - subtotal) > Cent * Math.Max(1, lines);
                }
            case "order_status_changed" when properties.TryGetProperty("snapshot", out var snapshot) && snapshot.ValueKind == JsonValueKind.Object
                && Number(snapshot, "total") is { } total && Number(snapshot, "subtotal") is { } sub:
                {
                    var net = sub + (Number(snapshot, "delivery_fee") ?? 0) - (Number(snapshot, "discount") ?? 0);
                    var tax = Number(snapshot, "tax") ?? 0;
                    var adds = Math.Abs(net - total) <= Cent || Math.Abs(net + tax - total) <= Cent;
                    return !adds || (Number(snapshot, "commission_amount") ?? 0) > total + Cent;
                }
            default:
                return false;
        }
    }

    private void Drift(JsonElement e, string type, string day, JsonElement properties)
    {
        if (!catalog.TryGet(type, out var rule))
        {
            See(type, "", day);
            return;
        }
        // Extra top-level members are kept under "extra"; "segment" there is the hub's own
        // annotation of a mapped Segment message, whose spec-defined properties are not drift.
        var extra = e.TryGetProperty("extra", out var x) && x.ValueKind == JsonValueKind.Object ? x : default;
        var fromSegment = extra.ValueKind == JsonValueKind.Object && extra.TryGetProperty("segment", out _);
        if (properties.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in properties.EnumerateObject())
            {
                if (!Declared(rule, p.Name) && !(fromSegment && Collect.SegmentSpec.SpecProperties.Contains(p.Name)))
                {
                    See(type, "properties." + p.Name, day);
                }
            }
        }
        if (extra.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in extra.EnumerateObject())
            {
                if (p.Name != "segment")
                {
                    See(type, p.Name, day);
                }
            }
        }
    }

    /// <summary>Whether the catalog type declares the property (required or optional).</summary>
    public static bool Declared(EventTypeRule rule, string property)
    {
        foreach (var field in rule.Properties)
        {
            if (field.Name == property)
            {
                return true;
            }
        }
        return false;
    }

    private void See(string type, string field, string day)
    {
        var key = (type, field);
        _seen[key] = _seen.TryGetValue(key, out var s)
            ? (string.CompareOrdinal(day, s.First) < 0 ? day : s.First, string.CompareOrdinal(day, s.Last) > 0 ? day : s.Last, s.Events + 1)
            : (day, day, 1);
    }

    private static bool Has(JsonElement owner, string name) =>
        owner.TryGetProperty(name, out var v) && v.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined)
        && !(v.ValueKind == JsonValueKind.String && v.GetString()!.Length == 0);

    private static decimal? Number(JsonElement owner, string name) =>
        owner.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetDecimal(out var d) ? d : null;

    /// <summary>
    /// Adds the counters to the tables and moves the watermark, in one transaction; returns the rows
    /// written. A <paramref name="fresh"/> pass (the first from positions of its kind) starts the
    /// counters afresh: those there counted events from elsewhere (a folder that was an embedded hub
    /// before it became a cluster node), which the new positions cover again.
    /// </summary>
    private long Save(SqliteConnection connection, string state, bool fresh, long through)
    {
        long rows = 0;
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        if (fresh)
        {
            command.CommandText = $"""
                DELETE FROM dq_profile; DELETE FROM dq_schema_seen; DELETE FROM dq_country_profile;
                DELETE FROM dq_state WHERE name = '{StateName}' OR name LIKE '{StateName}@%';
                """;
            command.ExecuteNonQuery();
        }
        command.CommandText = """
            INSERT INTO dq_profile (day, source_system, event_type, measure, count) VALUES ($day, $source, $type, $measure, $count)
            ON CONFLICT (day, source_system, event_type, measure) DO UPDATE SET count = count + excluded.count;
            """;
        var day = command.Parameters.Add("$day", SqliteType.Text);
        var source = command.Parameters.Add("$source", SqliteType.Text);
        var type = command.Parameters.Add("$type", SqliteType.Text);
        var measure = command.Parameters.Add("$measure", SqliteType.Text);
        var count = command.Parameters.Add("$count", SqliteType.Integer);
        foreach (var (key, counts) in _counts)
        {
            for (var m = 0; m < Measures.Length; m++)
            {
                if (counts[m] > 0)
                {
                    (day.Value, source.Value, type.Value, measure.Value, count.Value) = (key.Day, key.Source, key.Type, Measures[m], counts[m]);
                    command.ExecuteNonQuery();
                    rows++;
                }
            }
        }
        command.Parameters.Clear();
        command.CommandText = """
            INSERT INTO dq_schema_seen (event_type, field, first_seen, last_seen, events) VALUES ($type, $field, $first, $last, $events)
            ON CONFLICT (event_type, field) DO UPDATE SET first_seen = min(first_seen, excluded.first_seen),
                last_seen = max(last_seen, excluded.last_seen), events = events + excluded.events;
            """;
        type = command.Parameters.Add("$type", SqliteType.Text);
        var field = command.Parameters.Add("$field", SqliteType.Text);
        var first = command.Parameters.Add("$first", SqliteType.Text);
        var last = command.Parameters.Add("$last", SqliteType.Text);
        var events = command.Parameters.Add("$events", SqliteType.Integer);
        foreach (var (key, s) in _seen)
        {
            (type.Value, field.Value, first.Value, last.Value, events.Value) = (key.Type, key.Field, s.First, s.Last, s.Events);
            command.ExecuteNonQuery();
            rows++;
        }
        command.Parameters.Clear();
        command.CommandText = """
            INSERT INTO dq_country_profile (day, country, event_type, events, last_received_at) VALUES ($day, $country, $type, $events, $last)
            ON CONFLICT (day, country, event_type) DO UPDATE SET events = events + excluded.events,
                last_received_at = max(last_received_at, excluded.last_received_at);
            """;
        day = command.Parameters.Add("$day", SqliteType.Text);
        var country = command.Parameters.Add("$country", SqliteType.Text);
        type = command.Parameters.Add("$type", SqliteType.Text);
        events = command.Parameters.Add("$events", SqliteType.Integer);
        var lastReceived = command.Parameters.Add("$last", SqliteType.Integer);
        foreach (var (key, c) in _countries)
        {
            (day.Value, country.Value, type.Value, events.Value, lastReceived.Value) = (key.Day, key.Country, key.Type, c.Events, c.LastReceived);
            command.ExecuteNonQuery();
            rows++;
        }
        command.Parameters.Clear();
        command.CommandText = """
            INSERT INTO dq_state (name, through_seq) VALUES ($name, $seq)
            ON CONFLICT (name) DO UPDATE SET through_seq = excluded.through_seq;
            """;
        command.Parameters.AddWithValue("$name", state);
        command.Parameters.AddWithValue("$seq", through);
        command.ExecuteNonQuery();
        transaction.Commit();
        return rows;
    }
}
