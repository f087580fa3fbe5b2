using System.Buffers;
using System.IO.Compression;

namespace Atalaya.Engine.Storage;

/// <summary>
/// How event blocks are stored: raw deflate (RFC 1951) at its fastest level. Stored events are
/// JSON that compresses about 9.5× at ~1 GB/s, and SQLite's cost per stored byte (pages, WAL,
/// checkpoint) was the writer's whole cost: compressing cut it by three quarters
/// (docs/benchmarks.md). SQL readers get the events back through the
/// <c>atalaya_inflate(blob)</c> function that <see cref="HubDatabase"/> registers on every connection.
/// </summary>
public static class BlockCodec
{
    public const string Deflate = "deflate";

    /// <summary>Compresses into a pooled array; return it with <see cref="Release"/>.</summary>
    public static (byte[] Buffer, int Length) Compress(ReadOnlySpan<byte> json)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(json.Length / 2 + 4096);
        try
        {
            using var stream = new MemoryStream(buffer, writable: true);
            using (var deflate = new DeflateStream(stream, CompressionLevel.Fastest, leaveOpen: true))
            {
                deflate.Write(json);
            }
            return (buffer, (int)stream.Position);
        }
        catch (NotSupportedException)
        {
            // Incompressible input outgrew the fixed buffer: fall back to a growing one.
            ArrayPool<byte>.Shared.Return(buffer);
            using var stream = new MemoryStream(json.Length + 1024);
            using (var deflate = new DeflateStream(stream, CompressionLevel.Fastest, leaveOpen: true))
            {
                deflate.Write(json);
            }
            return (stream.ToArray(), (int)stream.Length);
        }
    }

    public static void Release(byte[] buffer) => ArrayPool<byte>.Shared.Return(buffer);

    public static byte[] Inflate(ReadOnlySpan<byte> compressed)
    {
        using var input = new MemoryStream(compressed.ToArray());
        using var deflate = new DeflateStream(input, CompressionMode.Decompress);
        using var output = new MemoryStream(compressed.Length * 10);
        deflate.CopyTo(output);
        return output.ToArray();
    }
}
