using System.Buffers;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Atalaya.Engine.Audit;
using Atalaya.Engine.Collect;
using Atalaya.Engine.Kpi;
using Microsoft.Data.Sqlite;

namespace Atalaya.Engine.Privacy;

/// <summary>What an erasure request came to.</summary>
public enum ErasureStatus
{
    /// <summary>The person's data was found and pseudonymized now.</summary>
    Erased,

    /// <summary>Nothing of the person is stored any more and an earlier erasure took their id: nothing to do.</summary>
    AlreadyErased,

    /// <summary>The hub never stored the id.</summary>
    NotFound,
}

public sealed record ErasureOutcome(ErasureStatus Status, string? ErasureId, string PersonHash, int Ids, int Events, int Blocks, int Quarantined);

/// <summary>
/// Erasure by pseudonymization (docs/privacy.md). The person's ids become random pseudonyms and their
/// personal fields go, in the raw blocks that hold them (and only those), the quarantine and the KPI
/// projection's id table, so that every figure stays exactly as it was. Crash-safe: the plan is
/// recorded before anything changes (<c>privacy_erasures</c>, state pending) and each block is
/// swapped whole in one SQLite transaction, so a kill at any point leaves each block old or new;
/// <see cref="ResumePending"/> finishes a pending plan at the next start, before the projection loads.
/// Block writes run on the event log's writer between group commits (no lock contention with
/// ingest, never more than a few blocks at a time), and the last step — blocks stored while the
/// erasure ran, and the projection's re-keying — runs there at one cut, so no event is missed and
/// ingest waits only for that step.
/// </summary>
public sealed class PersonErasure(PersonalDataStores stores)
{
    /// <summary>
    /// How long one writer turn may rewrite blocks before it hands the writer back to ingest (a turn
    /// ends after the block that crosses it): a write waits for at most about one turn.
    /// </summary>
    private static readonly TimeSpan TurnBudget = TimeSpan.FromMilliseconds(150);

    // One erasure at a time per hub: two would rewrite the same block from the same old version.
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Erases one person. <paramref name="actor"/> and <paramref name="role"/> go to the audit entries (with the id hashed).</summary>
    /// <param name="reached">Told each step as it is reached ("recorded", "blocks", "cut", "snapshot"); tests throw from it to stop an erasure as a crash would.</param>
    public async Task<ErasureOutcome> EraseAsync(PersonRef person, string actor, string role, Action<string>? reached = null)
    {
        var personHash = PersonIds.Hash(person.Id);
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            var trace = PersonFinder.Find(stores, person);
            if (!trace.Found)
            {
                var earlier = ErasedBefore(personHash);
                var status = earlier is null ? ErasureStatus.NotFound : ErasureStatus.AlreadyErased;
                await AuditAsync(actor, role, "privacy.erasure.request", personHash, earlier, status == ErasureStatus.NotFound ? 404 : 200, 0).ConfigureAwait(false);
                return new ErasureOutcome(status, earlier, personHash, 0, 0, 0, 0);
            }

            var erasureId = "era_" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
            var plan = ErasurePlan.For(erasureId, trace);
            await AuditAsync(actor, role, "privacy.erasure.request", personHash, erasureId, 202, 0).ConfigureAwait(false);
            await stores.Log.RunExclusiveAsync(c => plan.Record(c, personHash, stores.Kpis.Time.GetUtcNow())).ConfigureAwait(false);
            reached?.Invoke("recorded");

            // The blocks found, a few per writer turn; each is read, rewritten and swapped in one turn
            // (only an erasure changes a block, and erasures take turns, so it is the version read).
            var rewritten = 0;
            for (var at = 0; at < plan.Blocks.Count;)
            {
                await stores.Log.RunExclusiveAsync(c =>
                {
                    var turn = RewriteBlocks(c, plan.Blocks.Skip(at), plan, TurnBudget);
                    rewritten += turn.Blocks;
                    at += turn.Visited;
                }).ConfigureAwait(false);
                reached?.Invoke("blocks");
            }
            // The cut: blocks stored since the search, the quarantine, and the projection's ids. No
            // snapshot runs meanwhile (its commits set aside would bring the old ids back), and the
            // projection's snapshot on disk, which still has the old ids' keys, is replaced before the
            // plan is closed; ingest does not wait for that write (see KpiEngine.SaveSnapshot).
            var events = trace.Events.Count;
            await stores.Kpis.WithoutSnapshotsAsync(async save =>
            {
                await stores.Log.RunExclusiveAsync(c =>
                {
                    var late = BlocksAfter(c, plan.CutSeq);
                    rewritten += RewriteBlocks(c, late, plan);
                    ScrubQuarantine(c, plan);
                    Rekey(stores.Kpis, plan);
                }).ConfigureAwait(false);
                reached?.Invoke("cut");
                foreach (var id in trace.UserIds)
                {
                    stores.Recommendations.ForgetPerson(id, null);
                }
                foreach (var id in trace.AnonymousIds)
                {
                    stores.Recommendations.ForgetPerson(null, id);
                }
                if (File.Exists(stores.SnapshotPath))
                {
                    await Task.Run(() => save(stores.SnapshotPath)).ConfigureAwait(false);
                }
            }).ConfigureAwait(false);
            reached?.Invoke("snapshot");
            await stores.Log.RunExclusiveAsync(c => plan.Complete(c, stores.Kpis.Time.GetUtcNow(), events, rewritten)).ConfigureAwait(false);
            await AuditAsync(actor, role, "privacy.erasure.done", personHash, erasureId, 200, events).ConfigureAwait(false);
            return new ErasureOutcome(ErasureStatus.Erased, erasureId, personHash, plan.Pseudonyms.Count, events, rewritten, plan.FailedEvents.Count);
        }
        finally
        {
            _gate.Release();
        }
    }

    private string? ErasedBefore(string personHash) => new SqliteErasureRows(stores.Database).ErasedBefore(personHash);

    private Task AuditAsync(string actor, string role, string action, string personHash, string? erasureId, int status, int rows)
    {
        var parameters = new JsonObject { ["person"] = personHash };
        if (erasureId is not null)
        {
            parameters["erasure_id"] = erasureId;
        }
        return stores.Audit.AppendAsync(new AuditEntry(stores.Kpis.Time.GetUtcNow(), actor, role, action,
            parameters.ToJsonString(), "{}", "{}", rows, status));
    }

    private static void Rekey(KpiEngine kpis, ErasurePlan plan)
    {
        using (kpis.Projection.Write())
        {
            Rekey(kpis.Projection, plan);
        }
        kpis.Projection.Published();
    }

    /// <summary>Gives each old id's dense id to its pseudonym (a no-op for ids the table does not hold).</summary>
    internal static void Rekey(Kpi.Projection.KpiProjection projection, ErasurePlan plan)
    {
        foreach (var (id, pseudonym) in plan.Pseudonyms)
        {
            projection.Pools.Users.Rekey(id, pseudonym);
        }
    }

    internal static void Rekey(Kpi.Projection.KpiProjection projection, IReadOnlyList<ErasurePlan> plans)
    {
        foreach (var plan in plans)
        {
            Rekey(projection, plan);
        }
    }

    private static List<long> BlocksAfter(SqliteConnection connection, long seq)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT block_id FROM event_blocks WHERE first_seq > $seq ORDER BY block_id;";
        command.Parameters.AddWithValue("$seq", seq);
        using var reader = command.ExecuteReader();
        var ids = new List<long>();
        while (reader.Read())
        {
            ids.Add(reader.GetInt64(0));
        }
        return ids;
    }

    /// <summary>
    /// Rewrites the blocks that still name one of the plan's ids, in one transaction: each is named
    /// in its erasure's <c>rewriting_block</c> (which lets the append-only trigger pass exactly that
    /// block's events column), updated, and the name cleared again. Returns how many changed.
    /// </summary>
    internal static int RewriteBlocks(SqliteConnection connection, IReadOnlyList<long> blockIds, ErasurePlan plan) =>
        blockIds.Count == 0 ? 0 : RewriteBlocks(connection, blockIds, plan, budget: null).Blocks;

    /// <summary>As above, stopping once <paramref name="budget"/> is spent; also says how many of <paramref name="blockIds"/> it went through.</summary>
    private static (int Blocks, int Visited) RewriteBlocks(SqliteConnection connection, IEnumerable<long> blockIds, ErasurePlan plan, TimeSpan? budget)
    {
        var (blocks, _, visited) = BlockRewrite.Run(connection, plan.ErasureId, blockIds, json => Rewrite(json, plan) is { } rewritten ? (rewritten, 1) : (null, 0), budget);
        return (blocks, visited);
    }

    /// <summary>The block's JSON array with the person's events scrubbed, or null when it names none of their ids. Other events keep their bytes.</summary>
    internal static byte[]? Rewrite(byte[] jsonArray, ErasurePlan plan)
    {
        if (!PersonFinder.MayName(jsonArray, plan.QuotedIds))
        {
            return null;
        }
        var output = new ArrayBufferWriter<byte>(jsonArray.Length + 64);
        output.Write("["u8);
        var reader = new Utf8JsonReader(jsonArray);
        reader.Read();
        var first = true;
        var changed = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            var start = (int)reader.TokenStartIndex;
            reader.Skip();
            var raw = jsonArray.AsSpan(start, (int)reader.BytesConsumed - start);
            if (!first)
            {
                output.Write(","u8);
            }
            first = false;
            if (PersonFinder.MayName(raw, plan.QuotedIds) && JsonNode.Parse(raw) is JsonObject e && PersonalFields.Scrub(e, plan.Pseudonyms))
            {
                using var writer = new Utf8JsonWriter(output, Collect.EventNormalizer.WriterOptions);
                e.WriteTo(writer);
                changed = true;
            }
            else
            {
                output.Write(raw);
            }
        }
        output.Write("]"u8);
        return changed ? output.WrittenSpan.ToArray() : null;
    }

    /// <summary>Quarantined payloads naming the person: scrubbed like events, or replaced whole when they are not JSON.</summary>
    internal static void ScrubQuarantine(SqliteConnection connection, ErasurePlan plan)
    {
        if (plan.FailedEvents.Count == 0)
        {
            return;
        }
        using var transaction = connection.BeginTransaction(deferred: false);
        using var read = connection.CreateCommand();
        read.Transaction = transaction;
        read.CommandText = "SELECT payload FROM failed_events WHERE id = $id;";
        var readId = read.Parameters.Add("$id", SqliteType.Integer);
        using var write = connection.CreateCommand();
        write.Transaction = transaction;
        write.CommandText = "UPDATE failed_events SET payload = $payload WHERE id = $id;";
        var writeId = write.Parameters.Add("$id", SqliteType.Integer);
        var writePayload = write.Parameters.Add("$payload", SqliteType.Text);
        foreach (var id in plan.FailedEvents)
        {
            readId.Value = id;
            if (read.ExecuteScalar() is not string payload)
            {
                continue;
            }
            writeId.Value = id;
            writePayload.Value = ScrubQuarantined(payload, plan);
            write.ExecuteNonQuery();
        }
        transaction.Commit();
    }

    /// <summary>A quarantined payload naming the person: scrubbed like an event, or replaced whole when it is not JSON or still names them.</summary>
    internal static string ScrubQuarantined(string payload, ErasurePlan plan)
    {
        string scrubbed;
        try
        {
            scrubbed = JsonNode.Parse(payload) is JsonObject o && ScrubPayload(o, plan) ? o.ToJsonString() : payload;
        }
        catch (JsonException)
        {
            scrubbed = """{"erased":true}""";
        }
        if (plan.QuotedIds.Any(q => scrubbed.Contains(System.Text.Encoding.UTF8.GetString(q), StringComparison.Ordinal)))
        {
            scrubbed = """{"erased":true}"""; // still names them somewhere the scrubber does not look
        }
        return scrubbed;
    }

    private static bool ScrubPayload(JsonObject payload, ErasurePlan plan)
    {
        var changed = PersonalFields.Scrub(payload, plan.Pseudonyms);
        // A Segment batch's messages are in "batch".
        if (payload["batch"] is JsonArray batch)
        {
            foreach (var message in batch.OfType<JsonObject>())
            {
                changed |= PersonalFields.Scrub(message, plan.Pseudonyms);
            }
        }
        return changed;
    }

    /// <summary>
    /// Start-up: finishes the raw part of erasures a crash interrupted (their blocks, the blocks
    /// stored after their cut, the quarantine) and returns their plans, so the projection can be
    /// re-keyed between its snapshot and the blocks replayed after it (<see cref="CompletePending"/>).
    /// </summary>
    internal static IReadOnlyList<ErasurePlan> ResumePending(SqliteConnection connection)
    {
        var plans = ErasurePlan.Pending(connection);
        foreach (var plan in plans)
        {
            RewriteBlocks(connection, [.. plan.Blocks, .. BlocksAfter(connection, plan.CutSeq)], plan);
            ScrubQuarantine(connection, plan);
        }
        return plans;
    }

    /// <summary>Closes resumed plans once the projection is loaded (re-keyed) and its snapshot saved; audited as the completion.</summary>
    internal static void CompletePending(PersonalDataStores stores, IReadOnlyList<ErasurePlan> plans)
    {
        if (plans.Count == 0)
        {
            return;
        }
        stores.Kpis.SaveSnapshot(stores.SnapshotPath);
        using var connection = stores.Database.Connect();
        foreach (var plan in plans)
        {
            plan.Complete(connection, stores.Kpis.Time.GetUtcNow(), 0, plan.Blocks.Count);
            stores.Audit.AppendNow(new AuditEntry(stores.Kpis.Time.GetUtcNow(), "system:start-up", "system", "privacy.erasure.done",
                new JsonObject { ["person"] = plan.PersonHash, ["erasure_id"] = plan.ErasureId, ["resumed"] = true }.ToJsonString(), "{}", "{}", 0, 200));
        }
    }
}

/// <summary>
/// An erasure's plan, recorded before anything changes: the ids and their pseudonyms (in clear only
/// while the erasure is pending: the record keeps their hashes once it is done), the blocks and
/// quarantined rows found, and the cut in the log after which blocks are searched again.
/// </summary>
internal sealed class ErasurePlan
{
    private ErasurePlan(string erasureId, string personHash, Dictionary<string, string> pseudonyms, List<long> blocks, List<long> failed, long cut)
    {
        ErasureId = erasureId;
        PersonHash = personHash;
        Pseudonyms = pseudonyms;
        Blocks = blocks;
        FailedEvents = failed;
        CutSeq = cut;
        QuotedIds = PersonFinder.Quoted(pseudonyms.Keys);
    }

    public string ErasureId { get; }

    public string PersonHash { get; }

    /// <summary>Each of the person's ids → its pseudonym.</summary>
    public IReadOnlyDictionary<string, string> Pseudonyms { get; }

    public IReadOnlyList<long> Blocks { get; }

    public IReadOnlyList<long> FailedEvents { get; }

    public long CutSeq { get; }

    internal IReadOnlyList<byte[]> QuotedIds { get; }

    /// <summary>
    /// One random pseudonym per person: the id asked for (or their user id) gets it as it is, each
    /// other linked id gets it with a suffix. Distinct ids stay distinct, so distinct counts (which
    /// count ids: a user id, else an anonymous id) keep their values; the shared stem keeps the
    /// person's ids linked inside the hub.
    /// </summary>
    internal static ErasurePlan For(string erasureId, PersonTrace trace)
    {
        var stem = PersonIds.NewPseudonym();
        var pseudonyms = new Dictionary<string, string>(StringComparer.Ordinal);
        var ordered = new List<string> { trace.Person.Id };
        // The others in a fixed order (user ids, then anonymous ids, each sorted), not the order the
        // search met them in: an embedded hub and a cluster give the same ids the same suffixes.
        ordered.AddRange(trace.UserIds.Where(id => id != trace.Person.Id).Order(StringComparer.Ordinal));
        ordered.AddRange(trace.AnonymousIds.Where(id => id != trace.Person.Id).Order(StringComparer.Ordinal));
        for (var i = 0; i < ordered.Count; i++)
        {
            pseudonyms[ordered[i]] = i == 0 ? stem : $"{stem}.{i + 1}";
        }
        return new ErasurePlan(erasureId, PersonIds.Hash(trace.Person.Id), pseudonyms, [.. trace.BlockIds], [.. trace.FailedEventIds], trace.CutSeq);
    }

    /// <summary>A plan of ids and pseudonyms only (a cluster's: its rows are found by their ids, not by block).</summary>
    internal static ErasurePlan Of(string erasureId, string personHash, Dictionary<string, string> pseudonyms) =>
        new(erasureId, personHash, pseudonyms, [], [], 0);

    internal void Record(SqliteConnection connection, string personHash, DateTimeOffset now)
    {
        var plan = new JsonObject
        {
            ["pseudonyms"] = new JsonObject(Pseudonyms.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
            ["blocks"] = new JsonArray([.. Blocks.Select(b => (JsonNode?)b)]),
            ["failed_events"] = new JsonArray([.. FailedEvents.Select(b => (JsonNode?)b)]),
        };
        using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO privacy_erasures (erasure_id, person_hash, requested_at, state, cut_seq, plan)
            VALUES ($id, $hash, $at, 'pending', $cut, $plan);
            """;
        command.Parameters.AddWithValue("$id", ErasureId);
        command.Parameters.AddWithValue("$hash", personHash);
        command.Parameters.AddWithValue("$at", Iso(now));
        command.Parameters.AddWithValue("$cut", CutSeq);
        command.Parameters.AddWithValue("$plan", plan.ToJsonString());
        command.ExecuteNonQuery();
    }

    /// <summary>Done: the plan (with the ids in clear) is dropped; the hashes of the ids stay, so a repeated request is recognised.</summary>
    internal void Complete(SqliteConnection connection, DateTimeOffset now, int events, int blocks)
    {
        using var transaction = connection.BeginTransaction(deferred: false);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            UPDATE privacy_erasures SET state = 'done', plan = NULL, completed_at = $at, id_hashes = $hashes,
                events = max(events, $events), blocks = max(blocks, $blocks)
            WHERE erasure_id = $id;
            """;
        command.Parameters.AddWithValue("$hashes", string.Join(' ', Pseudonyms.Keys.Select(PersonIds.Hash)));
        command.Parameters.AddWithValue("$at", Iso(now));
        command.Parameters.AddWithValue("$events", events);
        command.Parameters.AddWithValue("$blocks", blocks);
        command.Parameters.AddWithValue("$id", ErasureId);
        command.ExecuteNonQuery();
        transaction.Commit();
    }

    internal static List<ErasurePlan> Pending(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT erasure_id, person_hash, cut_seq, plan FROM privacy_erasures WHERE state = 'pending' ORDER BY requested_at;";
        using var reader = command.ExecuteReader();
        var plans = new List<ErasurePlan>();
        while (reader.Read())
        {
            var plan = JsonNode.Parse(reader.GetString(3))!.AsObject();
            var pseudonyms = plan["pseudonyms"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<string>(), StringComparer.Ordinal);
            plans.Add(new ErasurePlan(reader.GetString(0), reader.GetString(1), pseudonyms,
                [.. plan["blocks"]!.AsArray().Select(b => b!.GetValue<long>())],
                [.. plan["failed_events"]!.AsArray().Select(b => b!.GetValue<long>())], reader.GetInt64(2)));
        }
        return plans;
    }

    private static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
