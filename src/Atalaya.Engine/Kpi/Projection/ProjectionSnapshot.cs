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
