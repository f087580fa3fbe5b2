using Atalaya.Engine.Kpi.Projection;
using Atalaya.Engine.Kpi.Query;

namespace Atalaya.Tests.Kpi;

/// <summary>
/// A query's open periods are counted on from the tally the last query of them left: after each
/// round of new visit-log entries (repeat visitors, users newer than the tally, a user in a second
/// country, a country never seen, entries outside the periods) the tally's counts equal distinct
/// counts taken over the whole log, and the cache hands a tally back only for its generation.
/// </summary>
public sealed class VisitorTallyTests
{
    private const long HourMs = 3_600_000;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Counting_on_from_the_last_position_equals_counting_the_whole_log(bool byCountry)
    {
        var log = new VisitLog();
        var random = new Random(7);
        // Periods: hours [1000, 1024), [1024, 1048) and, after a gap, [1100, 1200).
        int[] bounds = [1000, 1024, 1024, 1048, 1100, 1200];
        var users = 50;
        void AddRound(int entries)
        {
            for (var i = 0; i < entries; i++)
            {
                var hour = 990 + random.Next(220);
                var user = 1 + random.Next(users);
                var country = user % 3 == 0 ? 1 + random.Next(4) : 1 + (user % 4);
                log.Add(hour * HourMs, user, country);
            }
        }

        AddRound(2_000);
        var tally = new VisitorTally(log.Generation, byCountry, bounds, users + 1);
        for (var round = 0; round < 6; round++)
        {
            tally.CountUpTo(log, users + 1);
            Assert.Equal(log.Count, tally.Position);
            for (var slot = 0; slot < 3; slot++)
            {
                var (all, byId) = Distinct(log, bounds[2 * slot], bounds[(2 * slot) + 1]);
                var counts = tally.CountsOf(slot);
                if (byCountry)
                {
                    Assert.Equal(byId.OrderBy(p => p.Key), counts.ByCountry.OrderBy(p => p.Key));
                }
                else
                {
                    Assert.Equal(all, counts.All);
                }
            }
            // New users past the tally's size, and a country no entry had.
            users += 40;
            AddRound(500);
            log.Add(1030 * HourMs, 3, 9);
        }
        tally.Dispose();
    }

    [Fact]
    public void The_cache_hands_a_tally_back_once_and_only_for_its_generation()
    {
        var cache = new VisitorCache();
        int[] bounds = [10, 20];
        var key = VisitorTally.Key(byCountry: false, bounds);
        Assert.NotEqual(key, VisitorTally.Key(byCountry: true, bounds));
        cache.KeepTally(key, new VisitorTally(generation: 0, byCountry: false, bounds, users: 4));
        var taken = cache.TakeTally(key, generation: 0);
        Assert.NotNull(taken);
        Assert.Null(cache.TakeTally(key, generation: 0));
        cache.KeepTally(key, taken);
        // The log was cleared and filled again (a store moved country): the kept tally counts nothing that holds.
        Assert.Null(cache.TakeTally(key, generation: 1));
        Assert.Null(cache.TakeTally(key, generation: 0));
    }

    [Fact]
    public void The_idle_trim_drops_the_kept_tallies()
    {
        var cache = new VisitorCache();
        int[] bounds = [10, 20];
        var key = VisitorTally.Key(byCountry: true, bounds);
        cache.KeepTally(key, new VisitorTally(generation: 0, byCountry: true, bounds, users: 4));
        Atalaya.Engine.Storage.ScratchMemory.Release();
        Assert.Null(cache.TakeTally(key, generation: 0));
    }

    private static (long All, Dictionary<int, long> ByCountry) Distinct(VisitLog log, int fromHour, int toHour)
    {
        var all = new HashSet<int>();
        var pairs = new HashSet<(int User, int Country)>();
        for (var e = 0; e < log.Count; e++)
        {
            if (log.Hours[e] >= fromHour && log.Hours[e] < toHour)
            {
                all.Add(log.Users[e]);
                pairs.Add((log.Users[e], log.Countries[e]));
            }
        }
        return (all.Count, pairs.GroupBy(p => p.Country).ToDictionary(g => g.Key, g => (long)g.Count()));
    }
}
