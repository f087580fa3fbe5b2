using System.Text;
using System.Text.Json.Nodes;
using Atalaya.Engine.Audit;
using Atalaya.Engine.ClickHouse;
using Atalaya.Engine.Cluster;
using Atalaya.Engine.Collect;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Queue;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Privacy;

/// <summary>
/// Erasure by pseudonymization on a cluster node started with <c>--postgres</c> (docs/privacy.md,
/// docs/scale-out.md "Erasure on a cluster"): the same answer, pseudonyms and audit entries as the
/// embedded hub's <see cref="PersonErasure"/>, over the cluster's stores.
/// <list type="number">
/// <item>One erasure at a time across the cluster (a lock in PostgreSQL); pending plans are finished first.</item>
/// <item>The person is found in ClickHouse (<see cref="ClickHousePersonFinder"/>, as an export finds them).</item>
/// <item>The plan — each id and its pseudonym, the events found — is recorded in PostgreSQL as pending
/// (<see cref="IErasureRows"/>) before anything changes: every node sees it.</item>
/// <item>The rows naming an old id are rewritten in ClickHouse (<see cref="ClickHouseEventRewrite"/>,
/// scrubbed by <see cref="PersonalFields.Scrub"/> as the embedded blocks are), in rounds until no row names
/// one (a round also takes the events stored since the search).</item>
/// <item>The refused events naming them are scrubbed in PostgreSQL (<see cref="SharedQuarantine"/>).</item>
/// <item>A <see cref="RekeyMessage"/> on the written-events exchange re-keys every node's KPI projection
/// in order with the events; this node waits (bounded) until its own has applied it.</item>
/// <item>The plan is closed (the ids in clear dropped, their hashes kept) and the completion audited.</item>
/// </list>
/// Every step can run again with the same outcome, so a crash anywhere leaves a pending plan that the
/// next erasure on any node, or the next start of a node (<see cref="ResumePendingAsync"/>), finishes.
/// </summary>
public sealed class ClusterErasure
{
    /// <summary>The cluster-wide lock name (a PostgreSQL advisory lock, as the jobs' locks).</summary>
    internal const string LockName = "privacy_erasure";

    /// <summary>How long an erasure waits for another node's to finish before it answers 503.</summary>
    private static readonly TimeSpan LockWait = TimeSpan.FromMinutes(2);

    /// <summary>How long an erasure waits for this node's projection to apply its re-keying (the feed holds events a second).</summary>
    private static readonly TimeSpan RekeyWait = TimeSpan.FromSeconds(30);

    private const int MaxRounds = 3;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ClusterNode _node;
    private readonly IErasureRows _rows;
    private readonly SharedQuarantine _quarantine;
    private readonly AuditLog _audit;
    private readonly IJobLocks _locks;
    private readonly HubDatabase _database;
    private readonly TimeProvider _time;

    internal ClusterErasure(ClusterNode node, IErasureRows rows, SharedQuarantine quarantine, AuditLog audit, IJobLocks locks, HubDatabase database, TimeProvider time)
    {
        _node = node;
        _rows = rows;
        _quarantine = quarantine;
        _audit = audit;
        _locks = locks;
        _database = database;
        _time = time;
    }

    /// <summary>Erases one person across the cluster; answers as <see cref="PersonErasure.EraseAsync"/> does (Blocks counts the months whose rows were rewritten).</summary>
    /// <param name="reached">Told each step as it is reached ("recorded", "events", "quarantine", "rekeyed"); tests throw from it to stop an erasure as a crash would.</param>
    /// <exception cref="StateUnavailableException">ClickHouse, RabbitMQ or PostgreSQL cannot be reached, or another node's erasure holds the lock too long; a recorded plan stays pending and is finished later.</exception>
    public async Task<ErasureOutcome> EraseAsync(PersonRef person, string actor, string role, Action<string>? reached = null, CancellationToken ct = default)
    {
        var personHash = PersonIds.Hash(person.Id);
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            using var held = await TakeLockAsync(ct).ConfigureAwait(false);
            await Unavailable(async () =>
            {
                await FinishPendingAsync("system:resumed", ct).ConfigureAwait(false);
                return 0;
            }).ConfigureAwait(false);
            var trace = await Unavailable(() => ClickHousePersonFinder.FindAsync(_node.ClickHouse, _database, _quarantine, person, ct)).ConfigureAwait(false);
            if (!trace.Found)
            {
                var earlier = _rows.ErasedBefore(personHash);
                var status = earlier is null ? ErasureStatus.NotFound : ErasureStatus.AlreadyErased;
                await AuditAsync(actor, role, "privacy.erasure.request", personHash, earlier, status == ErasureStatus.NotFound ? 404 : 200, 0, resumed: false).ConfigureAwait(false);
                return new ErasureOutcome(status, earlier, personHash, 0, 0, 0, 0);
            }

            var erasureId = "era_" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
            var plan = ErasurePlan.For(erasureId, trace);
            await AuditAsync(actor, role, "privacy.erasure.request", personHash, erasureId, 202, 0, resumed: false).ConfigureAwait(false);
            var recorded = new ClusterPlan(plan, trace.UserIds, trace.AnonymousIds, trace.Events.Count, trace.Quarantined.Count);
            _rows.Record(erasureId, personHash, _time.GetUtcNow(), recorded.ToJson(trace.Events));
            reached?.Invoke("recorded");
            var months = await Unavailable(() => ApplyAsync(recorded, reached, ct)).ConfigureAwait(false);
            _rows.Complete(erasureId, _time.GetUtcNow(), plan.Pseudonyms.Keys.Select(PersonIds.Hash), recorded.Events, months);
            await AuditAsync(actor, role, "privacy.erasure.done", personHash, erasureId, 200, recorded.Events, resumed: false).ConfigureAwait(false);
            return new ErasureOutcome(ErasureStatus.Erased, erasureId, personHash, plan.Pseudonyms.Count, recorded.Events, months, recorded.Quarantined);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Start-up of a node: finishes the erasures a crash left pending (anywhere in the cluster), as the
    /// embedded hub's <see cref="PersonErasure.ResumePending"/> does. Returns how many it finished.
    /// </summary>
    /// <exception cref="StateUnavailableException">A server cannot be reached: the plans stay pending; try again later.</exception>
    public async Task<int> ResumePendingAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_rows.Pending().Count == 0)
            {
                return 0;
            }
            using var held = await TakeLockAsync(ct).ConfigureAwait(false);
            return await Unavailable(() => FinishPendingAsync("system:start-up", ct)).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<int> FinishPendingAsync(string actor, CancellationToken ct)
    {
        var pending = _rows.Pending();
        foreach (var row in pending)
        {
            var plan = ClusterPlan.Parse(row);
            var months = await ApplyAsync(plan, null, ct).ConfigureAwait(false);
            _rows.Complete(row.ErasureId, _time.GetUtcNow(), plan.Plan.Pseudonyms.Keys.Select(PersonIds.Hash), plan.Events, months);
            await AuditAsync(actor, "system", "privacy.erasure.done", row.PersonHash, row.ErasureId, 200, 0, resumed: true).ConfigureAwait(false);
        }
        return pending.Count;
    }

    /// <summary>Steps 4 to 6, each of which can run again: the rows, the quarantine, the projections. Returns the months rewritten.</summary>
    private async Task<int> ApplyAsync(ClusterPlan recorded, Action<string>? reached, CancellationToken ct)
    {
        var plan = recorded.Plan;
        var months = new HashSet<string>(StringComparer.Ordinal);
        for (var round = 0; round < MaxRounds; round++)
        {
            var rows = new List<StoredRow>();
            await foreach (var row in ClickHousePersonFinder.NamingRowsAsync(_node.ClickHouse, [.. plan.Pseudonyms.Keys], ct).ConfigureAwait(false))
            {
                rows.Add(row);
            }
            var rewritten = await ClickHouseEventRewrite.RewriteAsync(_node.ClickHouse, rows, e => PersonalFields.Scrub(e, plan.Pseudonyms), ct).ConfigureAwait(false);
            months.UnionWith(rewritten.Months);
            reached?.Invoke("events");
            if (rewritten.Events == 0)
            {
                break;
            }
        }
        // The aggregates' sets hold hashes of the old ids: the months of the person's rows (now under
        // the pseudonyms; a resumed plan finds them there too) are counted again from the rewritten
        // rows, so the figures stay and the hashes of the erased ids go.
        await foreach (var row in ClickHousePersonFinder.NamingRowsAsync(_node.ClickHouse, [.. plan.Pseudonyms.Values], ct).ConfigureAwait(false))
        {
            months.Add(row.Month);
        }
        await ClickHouse.KpiAggregates.RebuildMonthsAsync(_node.ClickHouse, months, ct).ConfigureAwait(false);
        _quarantine.Scrub([.. plan.QuotedIds.Select(q => Encoding.UTF8.GetString(q))], payload => PersonErasure.ScrubQuarantined(payload, plan));
        reached?.Invoke("quarantine");
        await _node.PublishRekeyAsync(new RekeyMessage(plan.ErasureId, plan.Pseudonyms, recorded.UserIds, recorded.AnonymousIds), ct).ConfigureAwait(false);
        if (_node.Answers)
        {
            // This node's own answers reflect the erasure when it answers (bounded: a node still
            // loading applies it after its load, and a lost message is repaired by a reload).
            var waited = System.Diagnostics.Stopwatch.StartNew();
            while (!_node.HasRekeyed(plan.ErasureId) && waited.Elapsed < RekeyWait)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50), ct).ConfigureAwait(false);
            }
        }
        reached?.Invoke("rekeyed");
        return months.Count;
    }

    private async Task<IDisposable> TakeLockAsync(CancellationToken ct)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            if (_locks.TryTake(LockName, $"erasure on {Environment.MachineName}", out var heldBy) is { } held)
            {
                return held;
            }
            if (waited.Elapsed > LockWait)
            {
                throw new StateUnavailableException($"another erasure ({heldBy}) has held the cluster's erasure lock for over {LockWait.TotalMinutes:0} minutes",
                    new TimeoutException("the erasure lock is held"))
                { Store = "the erasure lock" };
            }
            await Task.Delay(TimeSpan.FromMilliseconds(200), ct).ConfigureAwait(false);
        }
    }

    /// <summary>ClickHouse or RabbitMQ away: 503 for the caller, as PostgreSQL away is (the recorded plan stays pending).</summary>
    private static async Task<T> Unavailable<T>(Func<Task<T>> step)
    {
        try
        {
            return await step().ConfigureAwait(false);
        }
        catch (ClickHouseUnavailableException e)
        {
            throw new StateUnavailableException($"ClickHouse cannot be reached to erase the person's events: {e.Message}", e) { Store = "ClickHouse" };
        }
        catch (QueueUnavailableException e)
        {
            throw new StateUnavailableException($"RabbitMQ cannot be reached to re-key the nodes' projections: {e.Message}", e) { Store = "RabbitMQ" };
        }
    }

    private Task AuditAsync(string actor, string role, string action, string personHash, string? erasureId, int status, int rows, bool resumed)
    {
        var parameters = new JsonObject { ["person"] = personHash };
        if (erasureId is not null)
        {
            parameters["erasure_id"] = erasureId;
        }
        if (resumed)
        {
            parameters["resumed"] = true;
        }
        return _audit.AppendAsync(new AuditEntry(_time.GetUtcNow(), actor, role, action, parameters.ToJsonString(), "{}", "{}", rows, status));
    }

    /// <summary>What a cluster's pending record holds: the plan (ids → pseudonyms), which ids are user ids and which anonymous, and the counts answered.</summary>
    private sealed record ClusterPlan(ErasurePlan Plan, IReadOnlyList<string> UserIds, IReadOnlyList<string> AnonymousIds, int Events, int Quarantined)
    {
        public string ToJson(IEnumerable<JsonObject> events) => new JsonObject
        {
            ["pseudonyms"] = new JsonObject(Plan.Pseudonyms.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
            ["user_ids"] = new JsonArray([.. UserIds.Select(id => (JsonNode?)id)]),
            ["anonymous_ids"] = new JsonArray([.. AnonymousIds.Select(id => (JsonNode?)id)]),
            ["event_ids"] = new JsonArray([.. events.Select(e => e["event_id"]?.DeepClone())]),
            ["events"] = Events,
            ["quarantined"] = Quarantined,
        }.ToJsonString();

        public static ClusterPlan Parse(PendingErasure row)
        {
            var o = JsonNode.Parse(row.Plan)!.AsObject();
            var pseudonyms = o["pseudonyms"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<string>(), StringComparer.Ordinal);
            return new ClusterPlan(ErasurePlan.Of(row.ErasureId, row.PersonHash, pseudonyms),
                [.. o["user_ids"]!.AsArray().Select(v => v!.GetValue<string>())],
                [.. o["anonymous_ids"]!.AsArray().Select(v => v!.GetValue<string>())],
                o["events"]!.GetValue<int>(), o["quarantined"]!.GetValue<int>());
        }
    }
}
