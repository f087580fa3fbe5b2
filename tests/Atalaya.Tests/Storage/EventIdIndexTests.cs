using Atalaya.Engine.Storage;

namespace Atalaya.Tests.Storage;

public sealed class EventIdIndexTests
{
    private static UInt128 Random128(Random random) => new((ulong)random.NextInt64(), (ulong)random.NextInt64());

    [Fact]
    public void Adds_report_duplicates_and_removals_keep_every_other_id_findable()
    {
        var random = new Random(7);
        var index = new EventIdIndex();
        // Low bits collide often in a small table: force long probe chains, then remove from their middle.
        var ids = Enumerable.Range(0, 20_000).Select(i => i % 3 == 0 ? new UInt128((ulong)i, 5) : Random128(random)).Distinct().ToList();
        foreach (var id in ids)
        {
            Assert.True(index.Add(id));
        }
        Assert.Equal(ids.Count, index.Count);
        var removed = ids.Where((_, i) => i % 2 == 0).ToHashSet();
        foreach (var id in removed)
        {
            index.Remove(id);
        }
        Assert.Equal(ids.Count - removed.Count, index.Count);
        foreach (var id in ids)
        {
            // Add answers false exactly for the ids still present; re-adding a removed id succeeds.
            Assert.Equal(removed.Contains(id), index.Add(id));
        }
        Assert.True(index.Add(UInt128.Zero));
        Assert.False(index.Add(UInt128.Zero));
    }

    [Fact]
    public void A_snapshot_round_trips_and_a_damaged_one_is_refused()
    {
        var path = Path.Combine(Path.GetTempPath(), "atalaya-ids-" + Guid.NewGuid().ToString("N"));
        try
        {
            var random = new Random(3);
            var index = new EventIdIndex();
            var ids = Enumerable.Range(0, 5000).Select(_ => Random128(random)).ToList();
            ids.ForEach(id => index.Add(id));
            index.Save(path, 5001);

            var loaded = EventIdIndex.TryLoad(path);
            Assert.NotNull(loaded);
            Assert.Equal(5001, loaded.Value.NextSeq);
            Assert.Equal(5000, loaded.Value.Index.Count);
            Assert.All(ids, id => Assert.False(loaded.Value.Index.Add(id)));

            var bytes = File.ReadAllBytes(path);
            bytes[^100] ^= 0x40;
            File.WriteAllBytes(path, bytes);
            Assert.Null(EventIdIndex.TryLoad(path));
            File.WriteAllBytes(path, bytes[..50]);
            Assert.Null(EventIdIndex.TryLoad(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_snapshot_of_the_earlier_128_bit_format_is_refused_so_the_index_is_rebuilt_from_the_blocks()
    {
        var path = Path.Combine(Path.GetTempPath(), "atalaya-ids-v1-" + Guid.NewGuid().ToString("N"));
        try
        {
            using (var file = File.Create(path))
            using (var w = new BinaryWriter(file))
            {
                w.Write("atalaya-event-ids");
                w.Write(1);
                w.Write(11L);
                w.Write(10);
                w.Write(1024);
                w.Write(0UL);
                w.Write(new byte[1024 * 16]);
            }
            Assert.Null(EventIdIndex.TryLoad(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_snapshot_of_the_single_table_96_bit_format_is_read_and_every_id_kept()
    {
        var path = Path.Combine(Path.GetTempPath(), "atalaya-ids-v2-" + Guid.NewGuid().ToString("N"));
        try
        {
            var random = new Random(11);
            var ids = Enumerable.Range(0, 600).Select(_ => Random128(random)).Append(new UInt128(9, 0)).ToList();
            // The earlier layout: 1,024 slots, the low 64 bits (0 stored as 1) in one array, the next 32 in another.
            var lows = new ulong[1024];
            var highs = new uint[1024];
            foreach (var id in ids)
            {
                var low = (ulong)id == 0 ? 1 : (ulong)id;
                var slot = (int)(low & 1023);
                while (lows[slot] != 0)
                {
                    slot = (slot + 1) & 1023;
                }
                (lows[slot], highs[slot]) = (low, (uint)(id >> 64));
            }
            var lowBytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(lows.AsSpan()).ToArray();
            var highBytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(highs.AsSpan()).ToArray();
            var checksum = new System.IO.Hashing.XxHash3();
            checksum.Append(lowBytes);
            checksum.Append(highBytes);
            using (var file = File.Create(path))
            using (var w = new BinaryWriter(file))
            {
                w.Write("atalaya-event-ids");
                w.Write(2);
                w.Write(602L);
                w.Write(ids.Count);
                w.Write(1024);
                w.Write(checksum.GetCurrentHashAsUInt64());
                w.Write(lowBytes);
                w.Write(highBytes);
            }
            var loaded = EventIdIndex.TryLoad(path);
            Assert.NotNull(loaded);
            Assert.Equal((602L, ids.Count), (loaded.Value.NextSeq, loaded.Value.Index.Count));
            Assert.All(ids, id => Assert.False(loaded.Value.Index.Add(id)));
            Assert.True(loaded.Value.Index.Add(Random128(random)));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData(50_000)]
    [InlineData(200_000)]
    [InlineData(700_000)]
    public void The_index_stays_at_least_62_percent_full_whatever_the_count(int count)
    {
        // The earlier single power-of-two table was 35–70 % full: up to 34 bytes an id.
        var random = new Random(count);
        var index = new EventIdIndex();
        for (var i = 0; i < count; i++)
        {
            index.Add(Random128(random));
        }
        Assert.Equal(count, index.Count);
        Assert.InRange(index.SlotBytes, count * 10L, count * 10L * 100 / 62);
        // Sized ahead for a known count (a rebuild from the blocks), it is about 75 % full.
        var sized = new EventIdIndex(count);
        Assert.InRange(sized.SlotBytes, count * 10L * 100 / 80, count * 10L * 100 / 70);
    }
}
