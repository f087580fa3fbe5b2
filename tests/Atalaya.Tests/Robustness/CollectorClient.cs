using System.Net;
using System.Text.Json;

namespace Atalaya.Tests.Robustness;

/// <summary>
/// Sends raw collector requests exactly as built (headers unvalidated, optional chunked body) and
/// reads the collector's answer (docs/collector.md) without trusting it to be well-formed.
/// </summary>
public static class CollectorClient
{
    public static HttpRequestMessage Request(string path, byte[] body, string? contentType, string? authorization,
        string? contentEncoding = null, bool chunked = false)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = chunked ? new ChunkedContent(body) : new ByteArrayContent(body),
        };
        if (contentType is not null)
        {
            request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }
        if (contentEncoding is not null)
        {
            request.Content.Headers.TryAddWithoutValidation("Content-Encoding", contentEncoding);
        }
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }
        return request;
    }

    public static HttpRequestMessage Request(BadRequest bad) =>
        Request(bad.Path, bad.Body, bad.ContentType, bad.Authorization, bad.ContentEncoding, bad.Chunked);

    /// <summary>The counts of a collector answer, or null when the body is not the documented shape.</summary>
    public static CollectAnswer? Parse(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("success", out var success) || success.ValueKind is not (JsonValueKind.True or JsonValueKind.False)
                || !root.TryGetProperty("accepted", out var accepted) || !accepted.TryGetInt32(out var acceptedCount)
                || !root.TryGetProperty("duplicates", out var duplicates) || !duplicates.TryGetInt32(out var duplicateCount)
                || !root.TryGetProperty("rejected", out var rejected) || rejected.ValueKind != JsonValueKind.Array)
            {
                return null;
            }
            return new CollectAnswer(success.GetBoolean(), acceptedCount, duplicateCount, rejected.GetArrayLength());
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static string Snippet(string text, int length = 300) =>
        text.Length <= length ? text : text[..length] + $"…({text.Length:N0} chars)";

    public static bool IsConnectionFailure(Exception exception) =>
        exception is HttpRequestException or IOException or TaskCanceledException;

    /// <summary>A body sent with Transfer-Encoding: chunked: its length is unknown up front.</summary>
    private sealed class ChunkedContent(byte[] body) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            for (var offset = 0; offset < body.Length; offset += 64 * 1024)
            {
                await stream.WriteAsync(body.AsMemory(offset, Math.Min(64 * 1024, body.Length - offset)), cancellationToken);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
