using System.Runtime.InteropServices;

namespace Atalaya.Engine.Kpi.Projection;

/// <summary>Raw array I/O for the projection's snapshot file: lengths, then the elements' bytes.</summary>
internal static class ProjectionSnapshot
{
    public static void WriteArray<T>(BinaryWriter writer, ReadOnlySpan<T> values) where T : unmanaged
    {
        writer.Write(values.Length);
        Storage.SlicedWrites.Write(writer.BaseStream, MemoryMarshal.AsBytes(values));
    }

    /// <summary>
    /// The capacity of a column loaded from a snapshot holding <paramref name="count"/> values: an
    /// eighth more than it holds. The events replayed after a snapshot (up to 500,000 at 10M events,
    /// after a crash) and the first minutes of ingest then fill the room left instead of copying
    /// every column into a new one half as large again, which was a second of a crash start at 10M.
    /// </summary>
    public static int Room(int count, int minimum = 256) => Math.Max(minimum, count + (count / 8));

    /// <summary>Reads an array written by <see cref="WriteArray{T}"/> into one of at least <paramref name="capacity"/> elements.</summary>
    public static T[] ReadArray<T>(BinaryReader reader, int capacity = 0) where T : unmanaged
    {
        var length = reader.ReadInt32();
        if (length < 0 || length > 1 << 30)
        {
            throw new InvalidDataException($"bad array length {length}");
        }
        var array = new T[Math.Max(length, capacity)];
        reader.BaseStream.ReadExactly(MemoryMarshal.AsBytes(array.AsSpan(0, length)));
        return array;
    }

    public static void ReadInto<T>(BinaryReader reader, T[] target) where T : unmanaged
    {
        var length = reader.ReadInt32();
        if (length != target.Length)
        {
            throw new InvalidDataException($"chunk column of {length} values, expected {target.Length}");
        }
        reader.BaseStream.ReadExactly(MemoryMarshal.AsBytes(target.AsSpan()));
    }
}
