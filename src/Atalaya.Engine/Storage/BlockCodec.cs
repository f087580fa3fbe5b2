using System.Buffers;
using System.IO.Compression;
using K4os.Compression.LZ4;

namespace Atalaya.Engine.Storage;

/// <summary>
/// How event blocks are stored. Each block row names its codec in <c>event_blocks.encoding</c>, so
/// blocks written by any earlier version stay readable as they are: <c>json</c> (plain, the first
/// format), <c>deflate</c> (raw deflate, RFC 1951, fastest level) and <c>lz4</c>, which new blocks
/// use. LZ4 (K4os.Compression.LZ4's pickle format: a small header with the plain length, then
/// one LZ4 block, or the bytes as they are if they do not compress) makes the stored array about
/// half as small as deflate did but costs a fraction of deflate's CPU on the request's thread;
/// deflate was ~9 % of the hub's CPU during ingest (docs/benchmarks.md). SQL readers get the
/// events back through <c>atalaya_decode(encoding, blob)</c>, which <see cref="HubDatabase"/>
/// registers on every connection.
/// </summary>
internal static class BlockCodec
{
    public const string Json = "json";
    public const string Deflate = "deflate";
    public const string Lz4 = "lz4";

    /// <summary>The codec new blocks are written with.</summary>
    public const string Current = Lz4;

    /// <summary>Compresses with <see cref="Current"/> into a pooled array; return it with <see cref="Release"/>.</summary>
    public static (byte[] Buffer, int Length) Compress(ReadOnlySpan<byte> json)
    {
        // The pooled writer's array is handed over to the caller, who returns it to the same pool.
        var writer = new PooledBufferWriter(LZ4Codec.MaximumOutputSize(json.Length) + 16);
        LZ4Pickler.Pickle(json, writer, LZ4Level.L00_FAST);
        return (writer.Array, writer.WrittenCount);
    }

    public static void Release(byte[] buffer) => ArrayPool<byte>.Shared.Return(buffer);

    /// <summary>A stored block's JSON array, whatever codec it was written with.</summary>
    public static byte[] Decode(string encoding, byte[] blob) => encoding switch
    {
        Lz4 => LZ4Pickler.Unpickle(blob),
        Deflate => Inflate(blob),
        Json => blob,
        _ => throw new InvalidDataException($"an event block is stored with an unknown codec '{encoding}' (written by a newer Atalaya?)"),
    };

    /// <summary>A stored block's JSON array in a buffer rented from the shared pool (return it with <see cref="Release"/>) and its length.</summary>
    public static (byte[] Buffer, int Length) DecodePooled(string encoding, byte[] blob)
    {
        if (encoding == Lz4)
        {
            var length = LZ4Pickler.UnpickledSize(blob);
            var buffer = ArrayPool<byte>.Shared.Rent(length);
            LZ4Pickler.Unpickle(blob, buffer.AsSpan(0, length));
            return (buffer, length);
        }
        // The older codecs, rare by now, decode as before and are copied.
        var json = Decode(encoding, blob);
        var copy = ArrayPool<byte>.Shared.Rent(json.Length);
        json.CopyTo(copy, 0);
        return (copy, json.Length);
    }

    /// <summary>Raw deflate at the fastest level: the codec of blocks written before LZ4 (kept for tests of that format).</summary>
    public static byte[] DeflateBlock(ReadOnlySpan<byte> json)
    {
        using var stream = new MemoryStream(json.Length / 4 + 1024);
        using (var deflate = new DeflateStream(stream, CompressionLevel.Fastest, leaveOpen: true))
        {
            deflate.Write(json);
        }
        return stream.ToArray();
    }

    private static byte[] Inflate(byte[] compressed)
    {
        using var input = new MemoryStream(compressed, writable: false);
        using var deflate = new DeflateStream(input, CompressionMode.Decompress);
        using var output = new MemoryStream(compressed.Length * 10);
        deflate.CopyTo(output);
        return output.ToArray();
    }
}
