using System.Text;
using Atalaya.Engine.Kpi.Projection;

namespace Atalaya.Tests.Kpi;

/// <summary>A string pool gives one id per value whether the value comes as UTF-16 or as UTF-8 bytes.</summary>
public sealed class StringPoolTests
{
    [Fact]
    public void Utf8_and_utf16_lookups_give_the_same_ids_for_the_same_values()
    {
        var pool = new StringPool();
        var values = Enumerable.Range(0, 5000).Select(i => i % 3 == 0 ? $"tienda-{i}-ñandú-東京" : $"p-{i}").ToList();
        var expected = new Dictionary<string, int>();
        for (var i = 0; i < values.Count; i++)
        {
            // Half the values are met first as UTF-16 (the start-up path), half as UTF-8 (the commit path).
            expected[values[i]] = i % 2 == 0 ? pool.Intern(values[i]) : pool.InternUtf8(Encoding.UTF8.GetBytes(values[i]));
        }
        Assert.Equal(values.Count, pool.Count);
        foreach (var value in values)
        {
            Assert.Equal(expected[value], pool.InternUtf8(Encoding.UTF8.GetBytes(value)));
            Assert.Equal(expected[value], pool.Intern(value));
            Assert.Equal(value, pool[expected[value]]);
        }
        Assert.Equal(values.Count, pool.Count);
    }

    [Fact]
    public void Values_differing_only_in_bytes_after_a_shared_prefix_get_their_own_ids()
    {
        var pool = new StringPool();
        var a = pool.InternUtf8("st-0001"u8);
        var b = pool.InternUtf8("st-0001 "u8);
        var c = pool.InternUtf8("st-000"u8);
        Assert.Equal(3, new[] { a, b, c }.Distinct().Count());
        Assert.Equal(a, pool.InternUtf8("st-0001"u8));
    }
}
