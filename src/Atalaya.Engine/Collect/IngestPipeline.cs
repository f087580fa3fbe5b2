using System.Buffers;
using System.Text.Json;
using System.Text.Unicode;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Collect;

/// <summary>
/// The collector's pipeline, shared by HTTP endpoints and <c>atalaya import</c>:
/// parse → validate → enrich (<see cref="EventNormalizer"/>) → dedupe + append + commit
/// (<see cref="EventLog"/>, or a cluster's queue: <see cref="IEventSink"/>) → answer. A body that cannot be read at all throws
/// <see cref="MalformedBodyException"/>; otherwise each event gets its own outcome.
/// </summary>
public sealed class IngestPipeline
{
    private readonly IEventSink _sink;
    private readonly EventNormalizer _normalizer;
    private readonly IngestOptions _options;
    private readonly TimeProvider _time;
    private readonly IngestCounters _counters;
    private readonly int _catalogVersion;
    private readonly SegmentSessions _sessions = new();

    public IngestPipeline(EventLog log, EventCatalog catalog, FxRateTable fx, IngestOptions options, TimeProvider? time = null, IngestCounters? counters = null)
        : this((IEventSink)log, catalog, fx, options, time, counters)
    {
    }

    /// <summary>A pipeline whose events go to <paramref name="sink"/> (a cluster's queue, docs/scale-out.md).</summary>
    internal IngestPipeline(IEventSink sink, EventCatalog catalog, FxRateTable fx, IngestOptions options, TimeProvider? time = null, IngestCounters? counters = null)
    {
        _sink = sink;
        _options = options;
        _time = time ?? TimeProvider.System;
        _counters = counters ?? new IngestCounters();
        _normalizer = new EventNormalizer(catalog, sink.Stores, fx, options);
        _catalogVersion = catalog.Version;
        _normalizeSlots = new SemaphoreSlim(Math.Max(1, _options.NormalizeConcurrency));
    }

    private readonly SemaphoreSlim _normalizeSlots;

    public IngestOptions Options => _options;

    public IngestCounters Counters => _counters;

    /// <summary>A native body: one event object, a JSON array of events, or NDJSON.</summary>
    public async Task<IngestResult> IngestNativeAsync(ReadOnlyMemory<byte> body, bool ndjson, string sourceSystem, CancellationToken cancellationToken = default)
    {
        using var batch = await InSlotAsync(() => NormalizeNative(body, ndjson, sourceSystem), cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        return await AppendAsync(batch).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs a normalization when one of <see cref="IngestOptions.NormalizeConcurrency"/> slots is
    /// free: on the lower-priority <see cref="IngestThreads"/>, or on the request's own thread where
    /// nothing reads (<see cref="IngestOptions.NormalizeBehindReads"/> false).
    /// </summary>
    private async Task<AppendBatch> InSlotAsync(Func<AppendBatch> normalize, CancellationToken cancellationToken)
    {
        await _normalizeSlots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return _options.NormalizeBehindReads ? await IngestThreads.RunAsync(() => Compressed(normalize())).ConfigureAwait(false) : Compressed(normalize());
        }
        finally
        {
            _normalizeSlots.Release();
        }
    }

    /// <summary>
    /// The batch with its block compressed, where the sink stores compressed blocks: done with the
    /// normalizing, in parallel with other requests and at the same lower priority (LZ4 was about
    /// 4 % of the hub's CPU under `bench mixed`, at normal priority on the request's thread), so the
    /// single writer only compresses when duplicates force it to rebuild the block.
    /// </summary>
    private AppendBatch Compressed(AppendBatch batch)
    {
        if (batch.EventCount > 0 && _sink.StoresCompressedBlocks)
        {
            try
            {
                batch.Compressed();
            }
            catch
            {
                batch.Dispose();
                throw;
            }
        }
        return batch;
    }

    /// <summary>
    /// Parse → validate → enrich for a native body: its events normalized into a batch, or their
    /// rejections recorded there. The caller appends and disposes the batch. A body that cannot be
    /// read at all throws <see cref="MalformedBodyException"/>.
    /// </summary>
    internal AppendBatch NormalizeNative(ReadOnlyMemory<byte> body, bool ndjson, string sourceSystem)
    {
        EnsureUtf8(body.Span);
        var receivedAtMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var batch = new AppendBatch(sourceSystem, receivedAtMs, body.Length) { QuarantinePerRequest = _options.QuarantinePerRequest };
        try
        {
            if (ndjson)
            {
                NormalizeLines(body, new BatchTarget(batch, _catalogVersion));
            }
            else if (!TryNormalizeSinglePass(body, new BatchTarget(batch, _catalogVersion)))
            {
                // Not well-formed, or not an object or a non-empty array: the document path words the refusal.
                batch.Dispose();
                batch = new AppendBatch(sourceSystem, receivedAtMs, body.Length) { QuarantinePerRequest = _options.QuarantinePerRequest };
                NormalizeDocument(body, new BatchTarget(batch, _catalogVersion));
            }
            return batch;
        }
        catch
        {
            batch.Dispose();
            throw;
        }
    }

    /// <summary>
    /// One forward read of the body (an event object or an array of them) that validates and writes
    /// each event as it goes. False, with the batch to be thrown away, when the body is not one of
    /// those well-formed, so that <see cref="NormalizeDocument"/> can say what is wrong with it.
    /// </summary>
    private bool TryNormalizeSinglePass(ReadOnlyMemory<byte> body, BatchTarget target)
    {
        var reader = new Utf8JsonReader(body.Span, new JsonReaderOptions { MaxDepth = _options.MaxJsonDepth });
        try
        {
            if (!reader.Read())
            {
                return false;
            }
            if (reader.TokenType == JsonTokenType.StartObject)
            {
                _normalizer.Normalize(ref reader, body, 0, target, wholeInput: true);
                return true;
            }
            if (reader.TokenType != JsonTokenType.StartArray)
            {
                return false;
            }
            var index = 0;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                _normalizer.Normalize(ref reader, body, index++, target, wholeInput: false);
            }
            // Past the array the reader either ends or throws on what follows.
            return index > 0 && !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private void NormalizeDocument(ReadOnlyMemory<byte> body, BatchTarget target)
    {
        var documentOptions = new JsonDocumentOptions { MaxDepth = _options.MaxJsonDepth };
        using var document = ParseWhole(body, documentOptions);
        var root = document.RootElement;
        if (root.ValueKind == JsonValueKind.Array)
        {
            var index = 0;
            foreach (var element in root.EnumerateArray())
            {
                _normalizer.Normalize(element, index++, target.Batch, target.Writer, target.Stores);
            }
            if (index == 0)
            {
                throw new MalformedBodyException("The body is an empty array: send at least one event.");
            }
        }
        else if (root.ValueKind == JsonValueKind.Object)
        {
            _normalizer.Normalize(root, 0, target.Batch, target.Writer, target.Stores);
        }
        else
        {
            throw new MalformedBodyException($"The body must be a JSON object (one event) or an array of events, got {FieldValidator.Describe(root)}.");
        }
    }

    private void NormalizeLines(ReadOnlyMemory<byte> body, BatchTarget target)
    {
        var documentOptions = new JsonDocumentOptions { MaxDepth = _options.MaxJsonDepth };
        var readerOptions = new JsonReaderOptions { MaxDepth = _options.MaxJsonDepth };
        var index = 0;
        foreach (var line in SplitLines(body))
        {
            if (!TryNormalizeLine(line, index, target, readerOptions))
            {
                try
                {
                    using var document = JsonDocument.Parse(line, documentOptions);
                    _normalizer.Normalize(document.RootElement, index, target.Batch, target.Writer, target.Stores);
                }
                catch (JsonException ex)
                {
                    target.Batch.AddRejected(new QuarantinedEvent(index, null, nameof(RejectReason.Malformed),
                        [$"line {index + 1}: invalid JSON: {Where(ex)}"], Truncate(line)));
                }
            }
            index++;
        }
        if (index == 0)
        {
            throw new MalformedBodyException("The body holds no events (NDJSON: one JSON event per line).");
        }
    }

    /// <summary>A line holding one event object, in one forward read; false (nothing written) for anything else.</summary>
    private bool TryNormalizeLine(ReadOnlyMemory<byte> line, int index, BatchTarget target, JsonReaderOptions options)
    {
        var reader = new Utf8JsonReader(line.Span, options);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }
            _normalizer.Normalize(ref reader, line, index, target, wholeInput: true);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>Segment messages already mapped to native events (see <see cref="SegmentMapper"/>).</summary>
    public async Task<IngestResult> IngestSegmentAsync(SegmentPayload payload, string sourceSystem, CancellationToken cancellationToken = default)
    {
        using var batch = await InSlotAsync(() => NormalizeSegment(payload, sourceSystem), cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        return await AppendAsync(batch).ConfigureAwait(false);
    }

    /// <summary>
    /// Map → validate → enrich for a Segment payload: its messages normalized into a batch, or their
    /// rejections recorded there. The caller appends and disposes the batch. Each message is mapped
    /// to a native event (one buffer and one writer for the request) that then goes through the
    /// single pass like an event of <c>/api/events</c>: no document is parsed again, and the facts
    /// the KPI projection and the recommendation model read are collected on the way.
    /// </summary>
    internal AppendBatch NormalizeSegment(SegmentPayload payload, string sourceSystem)
    {
        var receivedAt = _time.GetUtcNow();
        var batch = new AppendBatch(sourceSystem, receivedAt.ToUnixTimeMilliseconds(), payload.BodyLength) { QuarantinePerRequest = _options.QuarantinePerRequest };
        using var native = new PooledBufferWriter(payload.BodyLength + 1024);
        byte[]? withSession = null;
        try
        {
            var target = new BatchTarget(batch, _catalogVersion);
            // The mapper's own writer options (not the stored form's): the single pass copies the
            // mapped context and properties as they are, so they keep the bytes they always had.
            using var writer = new Utf8JsonWriter(native);
            var mapped = new SegmentMapper.Mapped[payload.Messages.Count];
            for (var i = 0; i < mapped.Length; i++)
            {
                mapped[i] = SegmentMapper.Map(payload.Messages[i], payload, receivedAt, native, writer);
            }
            var sessions = DeriveSessions(mapped);
            // A mapped event may nest one level deeper than its message (traits under properties).
            var readerOptions = new JsonReaderOptions { MaxDepth = _options.MaxJsonDepth + 2 };
            var all = native.Array.AsMemory(0, native.WrittenCount);
            for (var i = 0; i < mapped.Length; i++)
            {
                var m = mapped[i];
                if (m.Errors is { } errors)
                {
                    batch.AddRejected(new QuarantinedEvent(i, m.EventId, nameof(RejectReason.UnmappableSegmentMessage), errors, Truncate(payload.Messages[i])));
                    continue;
                }
                var json = all.Slice(m.Start, m.Length);
                if (sessions?[i] is { } sessionId)
                {
                    var length = SegmentMapper.WithSession(json.Span, sessionId, ref withSession);
                    json = withSession.AsMemory(0, length);
                }
                try
                {
                    var reader = new Utf8JsonReader(json.Span, readerOptions);
                    reader.Read();
                    // The Segment spec requires next to nothing: what the catalog requires and the message
                    // lacks was derived if it could be, else is left absent, never a reason to refuse it.
                    _normalizer.Normalize(ref reader, json, i, target, wholeInput: true, mapped: true);
                }
                catch (JsonException ex)
                {
                    // Not expected (the hub wrote this JSON and the body's depth was checked); thrown
                    // before anything of the event is written, so the message alone is refused.
                    batch.AddRejected(new QuarantinedEvent(i, m.EventId, nameof(RejectReason.Malformed), [$"message: cannot be read once mapped: {Where(ex)}"],
                        Truncate(payload.Messages[i])));
                }
            }
            return batch;
        }
        catch
        {
            batch.Dispose();
            throw;
        }
        finally
        {
            if (withSession is not null)
            {
                ArrayPool<byte>.Shared.Return(withSession);
            }
        }
    }

    /// <summary>
    /// The derived session of each message that needs one (see <see cref="SegmentSessions"/>),
    /// assigned in time order so that a request's events form the same sessions in any order.
    /// </summary>
    private string?[]? DeriveSessions(SegmentMapper.Mapped[] mapped)
    {
        string?[]? sessions = null;
        foreach (var i in Enumerable.Range(0, mapped.Length)
            .Where(i => mapped[i].NeedsSession)
            .OrderBy(i => mapped[i].TimestampMs))
        {
            (sessions ??= new string?[mapped.Length])[i] = _sessions.Assign(mapped[i].SessionUser, mapped[i].SessionAnonymous, mapped[i].TimestampMs);
        }
        return sessions;
    }

    private async Task<IngestResult> AppendAsync(AppendBatch batch)
    {
        // The request's cancellation is not passed on: a queued append always completes (see EventLog).
        var outcome = await _sink.AppendAsync(batch).ConfigureAwait(false);
        var rejected = batch.Rejected
            .Select(r => new EventRejection(r.RequestIndex, r.EventId, Enum.Parse<RejectReason>(r.Reason), r.Errors))
            .ToList();
        _counters.Record(batch.SourceSystem, outcome.Accepted, outcome.Duplicates, rejected);
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
