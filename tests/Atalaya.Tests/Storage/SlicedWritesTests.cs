using Atalaya.Engine.Kpi.Projection;
using Atalaya.Engine.Storage;

namespace Atalaya.Tests.Storage;

/// <summary>
/// Snapshot arrays reach the file a slice at a time (one write of a large array cost the kernel
/// several times the CPU of the same bytes in slices, docs/benchmarks.md) and read back unchanged,
/// at the sizes around a slice's edge.
/// </summary>
public sealed class SlicedWritesTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(SlicedWrites.Slice / sizeof(long))]
    [InlineData((SlicedWrites.Slice / sizeof(long)) + 1)]
    [InlineData((5 * SlicedWrites.Slice / sizeof(long)) - 3)]
    public void A_snapshot_array_is_written_in_slices_and_reads_back_unchanged(int length)
    {
        var values = Enumerable.Range(0, length).Select(i => (long)i * 7919 - 3).ToArray();
        using var stream = new WriteSizes();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            ProjectionSnapshot.WriteArray<long>(writer, values);
        }
        Assert.All(stream.Sizes, size => Assert.InRange(size, 0, SlicedWrites.Slice));
        Assert.Equal(4 + (length * sizeof(long)), stream.Length);

        stream.Position = 0;
        using var reader = new BinaryReader(stream);
        Assert.Equal(values, ProjectionSnapshot.ReadArray<long>(reader));
    }

    /// <summary>A memory stream that notes the size of every write it is handed.</summary>
    private sealed class WriteSizes : MemoryStream
    {
        public List<int> Sizes { get; } = [];

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Sizes.Add(buffer.Length);
            base.Write(buffer);
        }

        public override void Write(byte[] buffer, int offset, int count)
        {
            Sizes.Add(count);
            base.Write(buffer, offset, count);
        }
    }
}
