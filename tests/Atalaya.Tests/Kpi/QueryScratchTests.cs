using Atalaya.Engine.Access;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Kpi;
using Atalaya.Tests.Kpi.Datasets;
using Atalaya.Tests.Kpi.Http;
using Atalaya.Tests.Kpi.Reference;
using EngineQuery = Atalaya.Engine.Kpi.Query.KpiQuery;
using ReferenceQuery = Atalaya.Tests.Kpi.Reference.KpiQuery;

namespace Atalaya.Tests.Kpi;

/// <summary>
/// A query's per-combination arrays (the scope's matches and groups, each pass's cells) come from
/// the shared pool and go back when it is answered. Allocated per call, they were large-object-heap
/// arrays once a hub had tens of thousands of dimension combinations, and under write load they
/// brought a gen2 collection every couple of seconds, which the reads then waited for.
/// </summary>
public sealed class QueryScratchTests
{
    [Fact]
    public async Task A_repeated_query_over_many_combinations_allocates_no_array_per_combination_and_stays_exact()
    {
        await using var hub = await KpiHub.StartEmptyAsync();
        var b = new EventBuilder("scratch");
        var today = DateTime.UtcNow.Date;
        // One store a purchase: every order is a combination of its own.
        const int Stores = 30_000;
        var events = Enumerable.Range(0, Stores).Select(i =>
            b.Order(today.AddDays(-(i % 6)).AddHours(i % 20).ToString("yyyy-MM-ddTHH:mm:ssZ"), $"o{i}", $"st-{i:D5}", $"u{i % 900}", $"s{i}", total: 110 + (i % 7))).ToList();
        foreach (var chunk in events.Chunk(5_000))
        {
            await hub.PostAsync(chunk);
        }
        var kpis = hub.Server.Hub.Kpis;
        Assert.True(kpis.Projection.Combos.Count >= Stores);

        var end = DateOnly.FromDateTime(today);
        var query = new EngineQuery([KpiId.Gmv, KpiId.Orders, KpiId.StoreChurnRate, KpiId.CustomerChurnRate], end.AddDays(-7), end,
            Atalaya.Engine.Kpi.Query.Aggregate.Daily, TimeZoneInfo.Utc, Atalaya.Engine.Kpi.Query.DimensionFilter.None, [Dimension.Country], AccessScope.Everything, int.MaxValue);
        var first = kpis.Query(query);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var second = kpis.Query(query);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // One int a combination would be 120 KB; the answer itself is a few KB.
        Assert.True(allocated < Stores * sizeof(int), $"a repeated query allocated {allocated:N0} bytes over {kpis.Projection.Combos.Count:N0} combinations");
        Assert.Equal(first.Rows.Select(r => (r.Metric, r.Period, r.Value)), second.Rows.Select(r => (r.Metric, r.Period, r.Value)));
        hub.Refresh();
        var apiQuery = new ReferenceQuery(end.AddDays(-7), end) { GroupBy = ["country"], Metrics = ["gmv", "orders"] };
        var differences = KpiComparison.Differences(KpiReference.Query(hub.Reference, apiQuery), await hub.Api.QueryAsync(apiQuery), apiQuery);
        Assert.True(differences.Count == 0, KpiComparison.Describe(apiQuery.ToString()!, differences));
    }

    private readonly record struct ScratchCell(long Value);

    [Fact]
    public void Scratch_arrays_are_reused_between_passes_and_dropped_when_the_hub_goes_idle()
    {
        var pooled = RentTwiceAndReturn();
        Assert.True(pooled.IsAlive);
        GC.Collect();
        Assert.True(pooled.IsAlive);

        // The idle trim's release: the pool no longer holds the 48 MB array.
        Atalaya.Engine.Storage.ScratchMemory.Release();
        GC.Collect();
        Assert.False(pooled.IsAlive);
    }

    /// <summary>
    /// The distinct-user masks count on an array of zeros. Byte arrays of the scratch pool come back
    /// as their users wrote them (the commits set aside during a snapshot, the recommendation model's
    /// follower): a mask array taken from there counted users that were never seen and missed those
    /// it took for already seen (every new customer of a summary read 0).
    /// </summary>
    [Fact]
    public void A_user_mask_never_starts_from_an_array_another_user_left_dirty()
    {
        const int Users = 700_001;
        for (var round = 0; round < 3; round++)
        {
            var dirty = Atalaya.Engine.Storage.ScratchArrays<byte>.Rent(Users);
            dirty.AsSpan().Fill(0xFF);
            Atalaya.Engine.Storage.ScratchArrays<byte>.Return(dirty);

            using var masks = new Atalaya.Engine.Kpi.Query.UserMasks<byte>(Users);
            masks.Add(7, 0);
            masks.Add(Users - 1, 3);
            masks.Add(7, 3);
            Assert.Equal([7, Users - 1], masks.Users.ToArray());
            Assert.Equal([1L, 0, 0, 2, 0, 0, 0, 0], masks.CountPerCell());
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static WeakReference RentTwiceAndReturn()
    {
        var first = Atalaya.Engine.Storage.ScratchArrays<ScratchCell>.Rent(3_000_000);
        Atalaya.Engine.Storage.ScratchArrays<ScratchCell>.Return(first);
        var second = Atalaya.Engine.Storage.ScratchArrays<ScratchCell>.Rent(3_000_000);
        Assert.Same(first, second);
        Atalaya.Engine.Storage.ScratchArrays<ScratchCell>.Return(second);
        return new WeakReference(second);
    }
}
