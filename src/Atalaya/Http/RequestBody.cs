using System.Buffers;
using System.IO.Compression;

namespace Atalaya.Http;

/// <summary>
/// Reads a request body into a pooled buffer, inflating gzip, and stops as soon as the body
/// (decompressed) passes the limit, so a gzip bomb costs at most the limit in memory.
/// </summary>
public sealed class RequestBody : IDisposable
{
    private byte[] _buffer;

    private RequestBody(byte[] buffer, int length)
    {
        _buffer = buffer;
        Length = length;
    }

    public int Length { get; }

    public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, Length);

    public static async Task<RequestBody> ReadAsync(HttpRequest request, int limit, CancellationToken cancellationToken)
    {
        var encoding = request.Headers.ContentEncoding.ToString();
        var gzip = encoding.Length > 0 && !string.Equals(encoding, "identity", StringComparison.OrdinalIgnoreCase);
        if (gzip && !string.Equals(encoding, "gzip", StringComparison.OrdinalIgnoreCase))
        {
            throw new BodyException(StatusCodes.Status415UnsupportedMediaType,
                $"Content-Encoding '{encoding}' is not supported; send the body plain or with Content-Encoding: gzip.");
        }
        if (request.ContentLength > limit)
        {
            throw TooLarge(limit);
        }
        Stream source = request.Body;
        if (gzip)
        {
            source = new GZipStream(request.Body, CompressionMode.Decompress, leaveOpen: true);
        }
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(limit + 1, (int)Math.Min(request.ContentLength ?? 64 * 1024, limit) + 1));
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > limit)
                    {
                        throw TooLarge(limit);
                    }
                    var larger = ArrayPool<byte>.Shared.Rent(Math.Min(limit + 1, buffer.Length * 2));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                var read = await source.ReadAsync(buffer.AsMemory(length), cancellationToken);
                if (read == 0)
                {
                    break;
                }
                length += read;
                if (length > limit)
                {
                    throw TooLarge(limit);
                }
            }
            return new RequestBody(buffer, length);
        }
        catch (InvalidDataException)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw new BodyException(StatusCodes.Status400BadRequest, "The body says Content-Encoding: gzip but is not valid gzip data.");
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
        finally
        {
            if (gzip)
            {
                await source.DisposeAsync();
            }
        }
    }

    private static BodyException TooLarge(int limit) => new(StatusCodes.Status413PayloadTooLarge,
        $"The body is over the limit of {limit} bytes (after decompression); split it into smaller requests.");

    public void Dispose()
    {
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }
}
