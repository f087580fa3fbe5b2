using Atalaya.Engine.Queue;

namespace Atalaya.Tests.Queue;

public sealed class EventQueueTopologyTests
{
    [Fact]
    public void An_event_id_always_lands_in_the_same_shard_and_ids_spread_over_all_shards()
    {
        var topology = new EventQueueTopology(new EventQueueOptions { Broker = new Uri("amqp://127.0.0.1/"), Shards = 4 });
        var ids = Enumerable.Range(0, 40_000).Select(i => $"evt-{i:x8}").ToList();

        var shards = ids.Select(topology.ShardOf).ToList();

        Assert.Equal(shards, ids.Select(id => EventQueueTopology.ShardOf(id, 4)));
        foreach (var count in shards.GroupBy(s => s).Select(g => g.Count()))
        {
            Assert.InRange(count, 9_000, 11_000); // each of the 4 shards near a quarter
        }
        Assert.Equal(4, shards.Distinct().Count());
    }

    [Fact]
    public void The_shard_is_xxhash32_of_the_utf8_id_so_it_does_not_change_between_processes_or_releases()
    {
        // XXH32 is a published algorithm; checked here against a plain implementation of its spec so
        // that a change of hash (which would send a retried event to another shard) cannot slip in.
        string[] ids = ["", "a", "order-1001", "0b6f1a5c-5d5e-4a67-9a8e-2f9c0d1e2a3b", "ñandú-é", new string('x', 300)];
        foreach (var id in ids)
        {
            var expected = (int)(ReferenceXxHash32(System.Text.Encoding.UTF8.GetBytes(id)) % 16);
            Assert.Equal(expected, EventQueueTopology.ShardOf(id, 16));
        }
        Assert.Equal(0x02CC5D05u, ReferenceXxHash32([])); // the spec's value for empty input, seed 0
    }

    /// <summary>XXH32 with seed 0, written from the specification (github.com/Cyan4973/xxHash, doc/xxhash_spec.md).</summary>
    private static uint ReferenceXxHash32(byte[] input)
    {
        const uint P1 = 2654435761u, P2 = 2246822519u, P3 = 3266489917u, P4 = 668265263u, P5 = 374761393u;
        static uint Round(uint acc, uint lane) => System.Numerics.BitOperations.RotateLeft(acc + (lane * P2), 13) * P1;
        static uint Lane(byte[] b, int i) => (uint)(b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24));
        var i = 0;
        uint acc;
        if (input.Length >= 16)
        {
            uint a1 = unchecked(P1 + P2), a2 = P2, a3 = 0, a4 = unchecked(0u - P1);
            for (; i + 16 <= input.Length; i += 16)
            {
                a1 = Round(a1, Lane(input, i));
                a2 = Round(a2, Lane(input, i + 4));
                a3 = Round(a3, Lane(input, i + 8));
                a4 = Round(a4, Lane(input, i + 12));
            }
            acc = System.Numerics.BitOperations.RotateLeft(a1, 1) + System.Numerics.BitOperations.RotateLeft(a2, 7)
                + System.Numerics.BitOperations.RotateLeft(a3, 12) + System.Numerics.BitOperations.RotateLeft(a4, 18);
        }
        else
        {
            acc = P5;
        }
        acc += (uint)input.Length;
        for (; i + 4 <= input.Length; i += 4)
        {
            acc = System.Numerics.BitOperations.RotateLeft(acc + (Lane(input, i) * P3), 17) * P4;
        }
        for (; i < input.Length; i++)
        {
            acc = System.Numerics.BitOperations.RotateLeft(acc + (input[i] * P5), 11) * P1;
        }
        acc ^= acc >> 15;
        acc *= P2;
        acc ^= acc >> 13;
        acc *= P3;
        acc ^= acc >> 16;
        return acc;
    }

    [Fact]
    public void Queue_names_follow_the_prefix_and_a_shard_outside_the_range_is_refused()
    {
        var topology = new EventQueueTopology(new EventQueueOptions { Broker = new Uri("amqp://127.0.0.1/"), Shards = 4 });

        Assert.Equal("atalaya.events.0", topology.ShardQueue(0));
        Assert.Equal("atalaya.events.3", topology.ShardQueue(3));
        Assert.Equal("atalaya.events.dead", topology.DeadLetterQueue);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => topology.ShardQueue(4));
        Assert.Contains("between 0 and 3", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1:5672/", 4, "amqp://")]
    [InlineData("amqp://127.0.0.1:5672/", 0, "between 1 and 1024")]
    public void Bad_options_are_refused_with_what_to_fix(string uri, int shards, string expected)
    {
        var options = new EventQueueOptions { Broker = new Uri(uri), Shards = shards };

        var error = Assert.Throws<ArgumentException>(options.Validate);

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }
}
