using System.Text.Json;
using System.Text.Unicode;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Collect;

/// <summary>
/// The collector's pipeline, shared by HTTP endpoints and <c>atalaya import</c>:
/// parse → validate → enrich (<see cref="EventNormalizer"/>) → dedupe + append + commit
/// (<see cref="EventLog"/>) → answer. A body that cannot be read at all throws
/// <see cref="MalformedBodyException"/>; otherwise each event gets its own outcome.
/// </summary>
public sealed class IngestPipeline
{
    private readonly EventLog _log;
    private readonly EventNormalizer _normalizer;
    private readonly IngestOptions _options;
    private readonly TimeProvider _time;
    private readonly IngestCounters _counters;

    public IngestPipeline(EventLog log, EventCatalog catalog, FxRateTable fx, IngestOptions options, TimeProvider? time = null, IngestCounters? counters = null)
    {
        _log = log;
        _options = options;
        _time = time ?? TimeProvider.System;
        _counters = counters ?? new IngestCounters();
        _normalizer = new EventNormalizer(catalog, log.Stores, fx, options);
    }

    public IngestOptions Options => _options;

    public IngestCounters Counters => _counters;

    /// <summary>A native body: one event object, a JSON array of events, or NDJSON.</summary>
    public async Task<IngestResult> IngestNativeAsync(ReadOnlyMemory<byte> body, bool ndjson, string sourceSystem, CancellationToken cancellationToken = default)
    {
        EnsureUtf8(body.Span);
        using var batch = new AppendBatch(sourceSystem, _time.GetUtcNow().ToUnixTimeMilliseconds(), body.Length);
        var writer = new Utf8JsonWriter(batch.Buffer, EventNormalizer.WriterOptions);
        var stores = new BatchStores();
        var documentOptions = new JsonDocumentOptions { MaxDepth = _options.MaxJsonDepth };
        if (ndjson)
        {
            var index = 0;
            foreach (var line in SplitLines(body))
            {
                try
                {
                    using var document = JsonDocument.Parse(line, documentOptions);
                    _normalizer.Normalize(document.RootElement, index, batch, writer, stores);
                }
                catch (JsonException ex)
                {
                    batch.AddRejected(new QuarantinedEvent(index, null, nameof(RejectReason.Malformed),
                        [$"line {index + 1}: invalid JSON: {Where(ex)}"], Truncate(line)));
                }
                index++;
            }
            if (index == 0)
            {
                throw new MalformedBodyException("The body holds no events (NDJSON: one JSON event per line).");
            }
        }
        else
        {
            using var document = ParseWhole(body, documentOptions);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Array)
            {
                var index = 0;
                foreach (var element in root.EnumerateArray())
                {
                    _normalizer.Normalize(element, index++, batch, writer, stores);
                }
                if (index == 0)
                {
                    throw new MalformedBodyException("The body is an empty array: send at least one event.");
                }
            }
            else if (root.ValueKind == JsonValueKind.Object)
            {
                _normalizer.Normalize(root, 0, batch, writer, stores);
            }
            else
            {
                throw new MalformedBodyException($"The body must be a JSON object (one event) or an array of events, got {FieldValidator.Describe(root)}.");
            }
        }
        cancellationToken.ThrowIfCancellationRequested();
        return await AppendAsync(batch).ConfigureAwait(false);
    }

    /// <summary>Segment messages already mapped to native events (see <see cref="SegmentMapper"/>).</summary>
    public async Task<IngestResult> IngestSegmentAsync(SegmentPayload payload, string sourceSystem, CancellationToken cancellationToken = default)
    {
        var receivedAt = _time.GetUtcNow();
        using var batch = new AppendBatch(sourceSystem, receivedAt.ToUnixTimeMilliseconds(), 16 * 1024);
        var writer = new Utf8JsonWriter(batch.Buffer, EventNormalizer.WriterOptions);
        var stores = new BatchStores();
        for (var i = 0; i < payload.Messages.Count; i++)
        {
            var message = payload.Messages[i];
            var mapped = SegmentMapper.Map(message, payload, receivedAt);
            if (mapped.Errors is { } errors)
            {
                batch.AddRejected(new QuarantinedEvent(i, mapped.EventId, nameof(RejectReason.UnmappableSegmentMessage), errors, Truncate(message)));
                continue;
            }
            using var document = JsonDocument.Parse(mapped.NativeJson!);
            _normalizer.Normalize(document.RootElement, i, batch, writer, stores);
        }
        cancellationToken.ThrowIfCancellationRequested();
        return await AppendAsync(batch).ConfigureAwait(false);
    }

    private async Task<IngestResult> AppendAsync(AppendBatch batch)
    {
        if (batch.EventCount > 0)
        {
            // Compress here, on the request's thread, in parallel with other requests.
            batch.Compressed();
        }
        // The request's cancellation is not passed on: a queued append always completes (see EventLog).
        var outcome = await _log.AppendAsync(batch).ConfigureAwait(false);
        var rejected = batch.Rejected
            .Select(r => new EventRejection(r.RequestIndex, r.EventId, Enum.Parse<RejectReason>(r.Reason), r.Errors))
            .ToList();
        _counters.Record(outcome.Accepted, outcome.Duplicates, rejected);
        return new IngestResult(outcome.Accepted, outcome.Duplicates, rejected);
    }

    private static JsonDocument ParseWhole(ReadOnlyMemory<byte> body, JsonDocumentOptions options)
    {
        if (body.IsEmpty)
        {
            throw new MalformedBodyException("The body is empty: send one event, a JSON array of events, or NDJSON.");
        }
        try
        {
            return JsonDocument.Parse(body, options);
        }
        catch (JsonException ex)
        {
            throw new MalformedBodyException($"The body is not valid JSON: {Where(ex)}");
        }
    }

    /// <summary>Parses a body that must be JSON, mapping every parse failure to a clear message.</summary>
    public static JsonDocument ParseJson(ReadOnlyMemory<byte> body, int maxDepth)
    {
        EnsureUtf8(body.Span);
        return ParseWhole(body, new JsonDocumentOptions { MaxDepth = maxDepth });
    }

    private static void EnsureUtf8(ReadOnlySpan<byte> body)
    {
        if (!Utf8.IsValid(body))
        {
            var valid = 0;
            while (valid < body.Length && System.Text.Rune.DecodeFromUtf8(body[valid..], out _, out var consumed) == System.Buffers.OperationStatus.Done)
            {
                valid += consumed;
            }
            throw new MalformedBodyException($"The body is not valid UTF-8 (first bad byte at offset {valid}).");
        }
    }

    private static string Where(JsonException ex)
    {
        var message = ex.Message;
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        cut = cut > 0 ? cut : message.IndexOf(" Path:", StringComparison.Ordinal);
        var what = cut > 0 ? message[..cut] : message;
        return ex.LineNumber is { } line
            ? $"{what.TrimEnd('.')} (line {line + 1}, byte {ex.BytePositionInLine + 1})."
            : what;
    }

    private static IEnumerable<ReadOnlyMemory<byte>> SplitLines(ReadOnlyMemory<byte> body)
    {
        var start = 0;
        while (start < body.Length)
        {
            var rest = body.Span[start..];
            var newline = rest.IndexOf((byte)'\n');
            var length = newline < 0 ? rest.Length : newline;
            var line = body.Slice(start, length);
            start += length + 1;
            var trimmed = line.Span.Trim((byte)'\r').Trim((byte)' ');
            if (trimmed.Length > 0)
            {
                yield return line;
            }
        }
    }

    private string Truncate(ReadOnlyMemory<byte> line)
    {
        var span = line.Span;
        return System.Text.Encoding.UTF8.GetString(span.Length > _options.MaxEventBytes ? span[.._options.MaxEventBytes] : span);
    }

    private string Truncate(JsonElement element)
    {
        var text = element.GetRawText();
        return text.Length > _options.MaxEventBytes ? text[.._options.MaxEventBytes] : text;
    }
}
