using System.Runtime.CompilerServices;
using System.Text;
using Atalaya.Engine.Access;
using Atalaya.Engine.Kpi.Analysis;
using Atalaya.Engine.Kpi.Projection;
using Atalaya.Tests.Kpi.Datasets;
using Atalaya.Tests.Kpi.Http;
using Atalaya.Tests.Kpi.Reference;
using DimensionFilter = Atalaya.Engine.Kpi.Query.DimensionFilter;

namespace Atalaya.Tests.Kpi;

/// <summary>
/// The projection's compact layouts (memory at 10M events): 32-byte session rows with the checkout
/// and purchase times of not-yet-completed checkouts aside, and the order ledger's facts in flat
/// arrays. Each keeps every answer, across snapshots too.
/// </summary>
public sealed class ProjectionMemoryTests
{
    [Fact]
    public void A_session_row_is_32_bytes() => Assert.Equal(32, Unsafe.SizeOf<SessionRow>());

    [Fact]
    public void Event_types_beyond_two_bytes_are_kept_aside_and_read_back_through_a_snapshot()
    {
        // 65,540 distinct types (events of no user, which no funnel counts): the last few ids do not
        // fit in the chunk's two-byte column.
        var events = new List<string>();
        for (var n = 0; n < 65_540; n++)
        {
            events.Add(Event($"t-{n}", "2026-03-01T09:00:00Z", user: null));
        }
        // A funnel over a narrow and two wide types: u1 reaches all three steps, u2 skips the second.
        events.Add(Event("t-0", "2026-03-01T10:00:00Z", "u1"));
        events.Add(Event("t-65536", "2026-03-01T10:10:00Z", "u1"));
        events.Add(Event("t-65539", "2026-03-01T10:20:00Z", "u1"));
        events.Add(Event("t-0", "2026-03-01T11:00:00Z", "u2"));
        events.Add(Event("t-65539", "2026-03-01T11:20:00Z", "u2"));
        var projection = new KpiProjection();
        using (projection.Write())
        {
            for (var i = 0; i < events.Count; i++)
            {
                projection.Apply(Encoding.UTF8.GetBytes(events[i]), i + 1);
            }
        }
        Assert.True(projection.Pools.Types.Count >= EventChunk.WideType + 2, "not enough types for wide ids");

        var copy = new KpiProjection();
        using (var stream = new MemoryStream())
        {
            using (projection.Read())
            {
                projection.Save(stream);
            }
            stream.Position = 0;
            copy.Load(stream);
        }
        var from = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        foreach (var p in new[] { projection, copy })
        {
            using var read = p.Read();
            var names = p.Chunks.SelectMany(c => Enumerable.Range(0, c.Count).Select(i => p.Pools.Types[c.TypeAt(i)])).ToList();
            Assert.Equal(events.Count, names.Count);
            Assert.Equal(Enumerable.Range(0, 65_540).Select(n => $"t-{n}"), names.Take(65_540));
            Assert.Equal(["t-0", "t-65536", "t-65539", "t-0", "t-65539"], names.Skip(65_540));
            var funnel = FunnelAnalysis.Run(p, ["t-0", "t-65536", "t-65539"], 3_600_000, from, from + 86_400_000, DimensionFilter.None, AccessScope.Everything);
            Assert.Equal([2L, 1, 1], funnel.Select(s => s.Users));
        }

        static string Event(string type, string at, string? user) =>
            "{\"event_id\":\"" + Guid.NewGuid() + "\",\"event_type\":\"" + type + "\",\"timestamp\":\"" + at + "\""
            + (user is null ? "" : ",\"user_id\":\"" + user + "\",\"session_id\":\"s-" + user + "\"") + "}";
    }

    [Fact]
    public async Task Checkout_completion_is_the_same_through_a_snapshot_whether_a_sessions_checkout_and_purchase_arrive_before_or_after_it()
    {
        await using var hub = await KpiHub.StartEmptyAsync();
        var b = new EventBuilder("mem");
        await hub.PostAsync(
        [
            // Completed before the snapshot: no times kept.
            b.CheckoutStarted("2026-03-10T10:00:00Z", "u1", "s-done", "st-mx"),
            b.Order("2026-03-10T10:05:00Z", "o-done", "st-mx", "u1", "s-done"),
            // A checkout waiting for its purchase.
            b.CheckoutStarted("2026-03-10T11:00:00Z", "u2", "s-wait", "st-mx"),
            // A purchase waiting for an earlier checkout.
            b.Order("2026-03-10T12:00:00Z", "o-early", "st-mx", "u3", "s-early"),
            // A purchase before its checkout: not completed, and stays so unless an earlier checkout comes.
            b.Order("2026-03-10T13:00:00Z", "o-before", "st-mx", "u4", "s-before"),
            b.CheckoutStarted("2026-03-10T13:10:00Z", "u4", "s-before", "st-mx"),
            // A purchase whose later checkout does not complete it.
            b.Order("2026-03-10T14:00:00Z", "o-late", "st-mx", "u5", "s-late"),
            // Neither: never in the table.
            b.PageView("2026-03-10T15:00:00Z", "u6", "s-view"),
        ]);
        var query = new KpiQuery(new DateOnly(2026, 3, 10), new DateOnly(2026, 3, 10))
        {
            Metrics = ["checkout_completion_rate", "conversion_rate", "sessions", "bounce_rate"],
            GroupBy = ["country"],
        };
        var before = await hub.Api.QueryAsync(query);
        var pending = hub.Server.Hub.Kpis.Projection.Checkouts.Count;
        // s-wait, s-early, s-before and s-late wait; s-done completed and left the table.
        Assert.Equal(4, pending);

        await hub.RestartAsync();
        Assert.Null(hub.Server.Hub.Kpis.SnapshotProblem);
        Assert.True(hub.Server.Hub.Kpis.SnapshotSeq > 0, "the restart did not read the snapshot");
        Assert.Equal(pending, hub.Server.Hub.Kpis.Projection.Checkouts.Count);
        AssertSame(before, await hub.Api.QueryAsync(query), "after the snapshot load");

        // The other halves arrive after the snapshot: the times read back decide.
        await hub.PostAsync(
        [
            b.Order("2026-03-10T11:30:00Z", "o-wait", "st-mx", "u2", "s-wait"),
            b.CheckoutStarted("2026-03-10T11:55:00Z", "u3", "s-early", "st-mx"),
            b.CheckoutStarted("2026-03-10T14:30:00Z", "u5", "s-late", "st-mx"),
        ]);
        hub.Refresh();
        var after = await hub.Api.QueryAsync(query);
        var differences = KpiComparison.Differences(KpiReference.Query(hub.Reference, query), after, query);
        Assert.True(differences.Count == 0, KpiComparison.Describe("after the snapshot: " + query, differences));
        // s-done, s-wait and s-early of the five sessions with a checkout.
        Assert.Equal(60, after.Rows.Single(r => r.Metric == "checkout_completion_rate" && r.Group.Values.Contains("MX")).Value);
        Assert.Equal(2, hub.Server.Hub.Kpis.Projection.Checkouts.Count);

        // The same from the raw events alone, and from a snapshot that holds all of it.
        await hub.RestartAsync(() => File.Delete(Engine.Hub.SnapshotPath(hub.Server.DataDirectory)));
        Assert.Equal(0, hub.Server.Hub.Kpis.SnapshotSeq);
        AssertSame(after, await hub.Api.QueryAsync(query), "rebuilt from raw");
        await hub.RestartAsync();
        Assert.True(hub.Server.Hub.Kpis.SnapshotSeq > 0, "the restart did not read the snapshot");
        AssertSame(after, await hub.Api.QueryAsync(query), "after the second snapshot load");
    }

    [Fact]
    public void Ledger_facts_give_the_same_lines_in_any_arrival_order_and_after_a_snapshot()
    {
        var facts = RandomFacts(seed: 7, orders: 400);
        var inTimeOrder = new OrderLedger();
        foreach (var (order, fact) in facts.OrderBy(f => f.Fact.Ts).ThenBy(f => f.Fact.Index))
        {
            inTimeOrder.Add(order, fact, (_, _, _) => { });
        }
        var shuffled = new OrderLedger();
        var changes = 0;
        foreach (var (order, fact) in facts)
        {
            shuffled.Add(order, fact, (_, _, _) => changes++);
        }
        Assert.True(changes > 0);

        var copy = new OrderLedger();
        using (var stream = new MemoryStream())
        {
            using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
            {
                shuffled.Write(writer);
            }
            stream.Position = 0;
            using var reader = new BinaryReader(stream);
            copy.Read(reader);
        }

        foreach (var ledger in new[] { shuffled, copy })
        {
            Assert.Equal(inTimeOrder.OrderCount, ledger.OrderCount);
            Assert.Equal(facts.Count, ledger.FactCount);
            Assert.Equal(inTimeOrder.Orders, ledger.Orders);
            for (var position = 0; position < facts.Count + 10; position++)
            {
                Assert.Equal(inTimeOrder.EntryAt(position), ledger.EntryAt(position));
            }
            foreach (var order in ledger.Orders)
            {
                var chain = new List<StatusFact>();
                foreach (var fact in ledger.FactsOf(order))
                {
                    chain.Add(fact);
                }
                // Each order's facts in time order (ties: first stored), as a plain sort says.
                Assert.Equal(facts.Where(f => f.Order == order).Select(f => f.Fact).OrderBy(f => f.Ts).ThenBy(f => f.Index), chain);
                Assert.Equal(chain[^1].Status, ledger.LatestStatus(order));
            }
        }
        Assert.Contains(shuffled.Orders, o => shuffled.EntryAt(facts.First(f => f.Order == o).Fact.Position).Role != LedgerRole.None);
        Assert.Equal(FinalStatus.None, copy.LatestStatus(100_000));
    }

    [Fact]
    public void A_ledger_read_back_holds_its_facts_in_flat_arrays()
    {
        // One fact per order, as most orders have: read back, the ledger is its facts (64 bytes),
        // their chain, line and position (4 + 24 + 4) and the order's head (4), not a list, an
        // array and a dictionary entry per order (about 170 bytes more).
        var ledger = new OrderLedger();
        const int orders = 20_000;
        for (var order = 1; order <= orders; order++)
        {
            ledger.Add(order, new StatusFact(order - 1, 1_000 + order, order * 3, FinalStatus.Delivered, 100, 10, double.NaN, double.NaN, 0.05),
                (_, _, _) => { });
        }
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            ledger.Write(writer);
        }
        stream.Position = 0;
        using var reader = new BinaryReader(stream);
        var copy = new OrderLedger();
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        copy.Read(reader);
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        Assert.Equal(orders, copy.OrderCount);
        Assert.Equal(new LedgerEntry(LedgerRole.Delivered, 5, 0.5), copy.EntryAt(orders - 1));
        Assert.True(allocated <= orders * 112L, $"{allocated / (double)orders:F0} bytes per order read back");
    }

    [Fact]
    public void A_ledger_with_a_looping_chain_is_refused_not_followed()
    {
        var ledger = new OrderLedger();
        ledger.Add(1, new StatusFact(0, 10, 0, FinalStatus.Delivered, 100, 10, double.NaN, double.NaN, 1), (_, _, _) => { });
        ledger.Add(1, new StatusFact(1, 20, 1, FinalStatus.Refunded, 100, 10, 50, double.NaN, 1), (_, _, _) => { });
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            ledger.Write(writer);
        }
        var bytes = stream.ToArray();
        // orders, the facts' length and bytes, the chain's length, then the chain: the last fact points back to the first.
        var chainAt = sizeof(int) + sizeof(int) + (2 * Unsafe.SizeOf<StatusFact>()) + sizeof(int);
        Assert.Equal(1, BitConverter.ToInt32(bytes, chainAt));
        Assert.Equal(-1, BitConverter.ToInt32(bytes, chainAt + sizeof(int)));
        BitConverter.GetBytes(0).CopyTo(bytes, chainAt + sizeof(int));
        using var reader = new BinaryReader(new MemoryStream(bytes));
        Assert.Throws<InvalidDataException>(() => new OrderLedger().Read(reader));
    }

    private static List<(int Order, StatusFact Fact)> RandomFacts(int seed, int orders)
    {
        var random = new Random(seed);
        var facts = new List<(int, StatusFact)>();
        FinalStatus[] statuses = [FinalStatus.Delivered, FinalStatus.Cancelled, FinalStatus.Refunded];
        for (var order = 1; order <= orders; order++)
        {
            for (var n = random.Next(1, 5); n > 0; n--)
            {
                var position = facts.Count;
                // Few distinct times, so ties (ordered by storage index) happen.
                var fact = new StatusFact(position, random.Next(0, 6), (random.Next(0, 1_000) * 10_000) + position, statuses[random.Next(statuses.Length)],
                    random.Next(50, 200), random.Next(0, 20), random.Next(3) == 0 ? double.NaN : random.Next(0, 150),
                    random.Next(3) == 0 ? double.NaN : random.Next(0, 15), random.Next(5) == 0 ? double.NaN : 0.05);
                facts.Add((order, fact));
            }
        }
        return [.. facts.OrderBy(_ => random.Next())];
    }

    private static void AssertSame(KpiAnswer expected, KpiAnswer actual, string when)
    {
        Assert.True(expected.Rows.Count > 0, "no rows to compare");
        Assert.Equal(expected.Rows.Select(r => $"{r} ({when})"), actual.Rows.Select(r => $"{r} ({when})"));
    }
}
