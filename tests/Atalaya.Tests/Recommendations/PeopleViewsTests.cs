using Atalaya.Engine.Recommendations;

namespace Atalaya.Tests.Recommendations;

/// <summary>The people's recent views: the last twenty kept in order, to the second, in shared pages given back after a prune.</summary>
public sealed class PeopleViewsTests
{
    private static readonly long Start = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    private static List<(int Product, long AtMs)> ViewsOf(PeopleViews people, PersonKey key)
    {
        var views = new List<(int Product, long AtMs)>();
        Assert.True(people.Views(key, views));
        return [.. views.OrderBy(v => v.AtMs)];
    }

    [Theory]
    [InlineData(3)]
    [InlineData(20)]
    [InlineData(57)]
    public void A_person_keeps_their_last_twenty_views_however_many_came(int views)
    {
        var people = new PeopleViews();
        var key = new PersonKey(1, 2);
        for (var i = 1; i <= views; i++)
        {
            people.Add(key, i, Start + (i * 1000L));
            // Another person's views interleave, in blocks of the same pages.
            people.Add(new PersonKey(3, 4), 1000 + i, Start);
        }
        var expected = Enumerable.Range(1, views).TakeLast(RecommendationModel.ViewsPerPerson).Select(i => (i, Start + (i * 1000L))).ToList();
        Assert.Equal(expected, ViewsOf(people, key));
        Assert.Equal(Start + (views * 1000L), people.LastMs(key));
        Assert.False(people.Views(new PersonKey(9, 9), []));
    }

    [Fact]
    public void A_view_is_kept_to_the_second_and_a_key_in_sixteen_bytes()
    {
        Assert.Equal(16, System.Runtime.CompilerServices.Unsafe.SizeOf<PersonKey>());
        var people = new PeopleViews();
        var key = new PersonKey(5, 6);
        people.Add(key, int.MaxValue, Start + 1_999);
        // Times outside 2000–2136 are clamped rather than wrapped into a wrong age.
        people.Add(key, 7, 0);
        Assert.Equal(
            [(7, new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds()), (int.MaxValue, Start + 1_000)],
            ViewsOf(people, key));
    }

    [Fact]
    public void Pruning_most_people_gives_their_slots_back_and_keeps_everyone_else_whole()
    {
        var people = new PeopleViews();
        // 100,000 people with 1–7 views (blocks of 2, 4 and 8 slots, several pages), a tenth of them recent.
        for (var p = 0; p < 100_000; p++)
        {
            var at = p % 10 == 0 ? Start : Start - TimeSpan.FromDays(90).Ticks / TimeSpan.TicksPerMillisecond;
            for (var v = 0; v <= p % 7; v++)
            {
                people.Add(new PersonKey((ulong)p, 1), v, at + v);
            }
        }
        var before = people.SlotsInUse;
        people.Prune(Start - TimeSpan.FromDays(60).Ticks / TimeSpan.TicksPerMillisecond);

        Assert.Equal(10_000, people.Count);
        // Rebuilt with only the blocks in use: about a tenth of the slots, none of them free.
        Assert.InRange(people.SlotsInUse, before / 12, before / 8);
        Assert.InRange(people.Bytes, 0, (people.SlotsInUse + (1 << 16)) * 8 + (people.Capacity * 40L));
        for (var p = 0; p < 100_000; p += 10)
        {
            var views = ViewsOf(people, new PersonKey((ulong)p, 1));
            Assert.Equal(Enumerable.Range(0, (p % 7) + 1).ToList(), views.Select(v => v.Product).ToList());
        }
        Assert.False(people.Views(new PersonKey(1, 1), []));
    }

    [Fact]
    public void An_erased_person_is_gone_and_their_block_is_used_again()
    {
        var people = new PeopleViews();
        var erased = new PersonKey(7, 7);
        for (var v = 0; v < 5; v++)
        {
            people.Add(erased, v, Start + v);
        }
        var slots = people.SlotsInUse;
        Assert.True(people.Remove(erased));
        Assert.False(people.Remove(erased));
        Assert.False(people.Views(erased, []));
        Assert.Equal(0, people.SlotsInUse);

        var next = new PersonKey(8, 8);
        for (var v = 0; v < 5; v++)
        {
            people.Add(next, 100 + v, Start + v);
        }
        Assert.Equal(slots, people.SlotsInUse);
        Assert.Equal([100, 101, 102, 103, 104], ViewsOf(people, next).Select(v => v.Product));
    }
}
