using Atalaya.Engine.Kpi.Projection;

namespace Atalaya.Tests.Kpi;

/// <summary>The combination table: one id per distinct combination, in order of first sight, through its growth.</summary>
public sealed class ComboTableTests
{
    [Fact]
    public void Gives_each_distinct_combination_one_id_in_order_of_first_sight()
    {
        var table = new ComboTable();
        var random = new Random(3);
        var seen = new Dictionary<DimensionCombo, int>();
        for (var i = 0; i < 200_000; i++)
        {
            // Combinations that differ in one dimension only, as events of one store and country do.
            var combo = new DimensionCombo(random.Next(6), random.Next(3), 0, random.Next(2), random.Next(5), random.Next(3), 0, random.Next(2000), 1);
            var id = table.Intern(combo);
            if (seen.TryGetValue(combo, out var before))
            {
                Assert.Equal(before, id);
            }
            else
            {
                Assert.Equal(seen.Count, id);
                seen[combo] = id;
            }
        }
        Assert.Equal(seen.Count, table.Count);
        foreach (var (combo, id) in seen)
        {
            Assert.Equal(combo, table[id]);
            Assert.Equal(id, table.Intern(combo));
        }
    }
}
