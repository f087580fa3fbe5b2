using Atalaya.Engine.Kpi.Projection;

namespace Atalaya.Tests.Privacy;

/// <summary>Re-keying the projection's id table (an erasure): the pseudonym takes the old id's dense id, every other id keeps its own.</summary>
public sealed class HashedIdPoolRekeyTests
{
    [Fact]
    public void Rekeyed_ids_keep_their_dense_id_and_no_other_lookup_breaks()
    {
        var pool = new HashedIdPool();
        var ids = Enumerable.Range(0, 5000).Select(i => $"user-{i}").ToList();
        var dense = ids.ToDictionary(id => id, id => pool.Intern(id));
        // Every third id erased: removals inside probe runs must not hide the ids after them.
        foreach (var id in ids.Where((_, i) => i % 3 == 0))
        {
            Assert.True(pool.Rekey(id, "psn-" + id));
        }
        foreach (var (id, expected) in dense)
        {
            var erased = int.Parse(id.AsSpan(5), System.Globalization.CultureInfo.InvariantCulture) % 3 == 0;
            Assert.Equal(erased ? 0 : expected, pool.Find(id));
            Assert.Equal(erased ? expected : 0, pool.Find("psn-" + id));
            Assert.Equal(expected, pool.Intern(erased ? "psn-" + id : id));
        }
        Assert.Equal(5000, pool.Count);
        Assert.False(pool.Rekey("user-0", "x"), "an id no longer held cannot be re-keyed");
        Assert.False(pool.Rekey("user-1", "psn-user-3"), "a pseudonym that already has an id is not taken over");
        Assert.Equal(5001, pool.Intern("someone-new"));
    }
}
