using System.Text.Json;

namespace Atalaya.Engine.Collect;

/// <summary>
/// A parsed Segment HTTP Tracking API body: the messages of a <c>/v1/batch</c> call, or the one
/// message of <c>/v1/track</c> and friends, with the write key and <c>sentAt</c> it carried.
/// Owns the parsed document, so dispose it when the request is done.
/// </summary>
public sealed class SegmentPayload : IDisposable
{
    private readonly JsonDocument _document;

    private SegmentPayload(JsonDocument document, IReadOnlyList<JsonElement> messages, string? writeKey,
        string? sentAt, JsonElement? batchContext, string? impliedType, int bodyLength)
    {
        _document = document;
        BodyLength = bodyLength;
        Messages = messages;
        WriteKey = writeKey;
        SentAt = sentAt;
        BatchContext = batchContext;
        ImpliedType = impliedType;
    }

    public IReadOnlyList<JsonElement> Messages { get; }

    /// <summary>The body's size in bytes: a hint for the buffers its events are written into.</summary>
    public int BodyLength { get; }

    /// <summary>The <c>writeKey</c> found in the body, when the client put it there.</summary>
    public string? WriteKey { get; }

    public string? SentAt { get; }

    public JsonElement? BatchContext { get; }

    /// <summary>The call type implied by a single-message endpoint (<c>track</c>, <c>page</c>…); null for batch.</summary>
    public string? ImpliedType { get; }

    /// <param name="impliedType">null for <c>/v1/batch</c>; else the endpoint's call type.</param>
    public static SegmentPayload Parse(ReadOnlyMemory<byte> body, string? impliedType, int maxDepth)
    {
        var document = IngestPipeline.ParseJson(body, maxDepth);
        try
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new MalformedBodyException($"The body must be a JSON object (a Segment {(impliedType is null ? "batch" : "message")}), got {Catalog.FieldValidator.Describe(root)}.");
            }
            var writeKey = TopLevelText(root, "writeKey");
            var sentAt = TopLevelText(root, "sentAt");
            if (impliedType is not null)
            {
                return new SegmentPayload(document, [root], writeKey, sentAt, null, impliedType, body.Length);
            }
            if (!root.TryGetProperty("batch", out var batch) || batch.ValueKind != JsonValueKind.Array)
            {
                throw new MalformedBodyException("A Segment batch needs a \"batch\" array of messages.");
            }
            if (batch.GetArrayLength() == 0)
            {
                // As /api/events refuses an empty array: a 200 tells an SDK its events are stored.
                throw new MalformedBodyException("The batch is empty: send at least one message in \"batch\".");
            }
            var context = root.TryGetProperty("context", out var c) && c.ValueKind == JsonValueKind.Object ? c : (JsonElement?)null;
            return new SegmentPayload(document, batch.EnumerateArray().ToList(), writeKey, sentAt, context, null, body.Length);
        }
        catch
        {
            document.Dispose();
            throw;
        }
    }

    /// <summary>A top-level string of the body; one holding a lone surrogate escape makes the body unreadable (400).</summary>
    private static string? TopLevelText(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.String)
        {
            return null;
        }
        try
        {
            return value.GetString();
        }
        catch (InvalidOperationException)
        {
            throw new MalformedBodyException($"{name}: is not a valid string (it holds a lone UTF-16 surrogate escape such as \\ud800).");
        }
    }

    public void Dispose() => _document.Dispose();
}
