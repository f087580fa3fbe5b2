using System.Text.Json;

namespace Atalaya.Engine.Collect;

/// <summary>
/// The single pass: one forward read of an event with <see cref="Utf8JsonReader"/> that checks the
/// envelope, the context and the catalog rules as the tokens go by, then writes the stored form
/// from byte offsets into the request, with no document and no per-event allocation. It decides
/// only "valid, and the stored form is this": whenever it meets anything it does not settle by
/// itself (a rule broken, an escaped name or value it would have to decode, a duplicate envelope
/// member, nulls in the context, extra top-level members, store_created, …) it gives up on the
/// event, and the event goes through the <c>JsonDocument</c> path (<c>Normalize(JsonElement, …)</c>),
/// which is the specification: same checks, same messages, same stored bytes. So the single pass
/// must never accept an event that path rejects, nor write other bytes than it would.
/// </summary>
internal sealed partial class EventNormalizer
{
    /// <summary>
    /// Normalizes the event at the reader's current token (inside <paramref name="json"/>, which the
    /// reader reads from its start) and leaves the reader on the event's last token. With
    /// <paramref name="wholeInput"/> the event must be all of <paramref name="json"/>: trailing data
    /// throws <see cref="JsonException"/> before anything is written.
    /// </summary>
    /// <param name="mapped">
    /// The event is a Segment message mapped by <see cref="SegmentMapper"/> (compact JSON the hub
    /// wrote): its one extra member, the <c>segment</c> annotation, is copied into <c>extra</c> as
    /// the document path writes it, and the catalog's required fields it lacks are no reason to
    /// refuse it (see the document path's <c>requirePresence</c>).
    /// </param>
    internal void Normalize(ref Utf8JsonReader reader, ReadOnlyMemory<byte> json, int index, BatchTarget target, bool wholeInput, bool mapped = false)
    {
        var start = (int)reader.TokenStartIndex;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            if (reader.TokenType is JsonTokenType.StartArray)
            {
                reader.Skip();
            }
            EnsureEnd(ref reader, wholeInput);
            NormalizeSlow(json[start..(int)reader.BytesConsumed], index, target, mapped, reader.CurrentState.Options.MaxDepth);
            return;
        }
        var depth = reader.CurrentDepth;
        var scan = new EventScan { Start = start, Mapped = mapped, Extra = -1 };
        var fast = TryScan(ref reader, json.Span, target.Batch.ReceivedAtMs, ref scan);
        while (reader.TokenType != JsonTokenType.EndObject || reader.CurrentDepth != depth)
        {
            reader.Read();
        }
        scan.End = (int)reader.BytesConsumed;
        EnsureEnd(ref reader, wholeInput);
        if (!fast || scan.End - scan.Start > _options.MaxEventBytes || !TryWrite(json.Span, ref scan, index, target))
        {
            NormalizeSlow(json[scan.Start..scan.End], index, target, mapped, reader.CurrentState.Options.MaxDepth);
        }
    }

    private static void EnsureEnd(ref Utf8JsonReader reader, bool wholeInput)
    {
        // Past a complete value the reader either ends or throws on what follows.
        if (wholeInput && reader.Read())
        {
            throw new JsonException("Unexpected data after the event.");
        }
    }

    private void NormalizeSlow(ReadOnlyMemory<byte> eventJson, int index, BatchTarget target, bool mapped, int maxDepth)
    {
        // The reader's depth: a mapped Segment message may nest a level deeper than the body it came in.
        using var document = JsonDocument.Parse(eventJson, new JsonDocumentOptions { MaxDepth = mapped ? maxDepth : _options.MaxJsonDepth });
        Normalize(document.RootElement, index, target.Batch, target.Writer, target.Stores, requirePresence: !mapped);
    }

    /// <summary>Where the event's parts are in the request (offsets of raw JSON, quotes included), and what was decided.</summary>
    private struct EventScan
    {
        public int Start, End;
        public int EventId, EventIdLength, EventType, EventTypeLength;
        public long TimestampMs, OriginalTimestampMs;
        public bool Clamped;
        public Token SessionId, UserId, AnonymousId, UserAgent, StoreId, Currency, Ip;
        /// <summary>The event needs the slow path's minimisation (consent, a repeated ip).</summary>
        public bool Minimise;
        public int Context, ContextLength, Properties, PropertiesLength;
        public ContextFields ContextPresent;
        public CompiledType? Type;
        public bool HasFxRate;
        public decimal FxRate;

        // What the KPI projection reads (see CollectedFacts): the last occurrence of each member.
        public Token Country, Hub, Zone, Category, Source, Platform, AppId;
        public Token OrderId, ProductId, ProductName, Status, Priority;
        public double Total, Amount;
        public Token Snapshot, Items;
        public Token ProductCategory;
        public bool HasQuantity;
        public double QuantityAvailable;
        /// <summary>Something the facts cannot mirror the stored-event reader on: the projection reads the stored JSON instead.</summary>
        public bool FactsUnsure;

        /// <summary>A mapped Segment message (see <c>Normalize</c>'s <c>mapped</c>).</summary>
        public bool Mapped;

        /// <summary>Its <c>segment</c> annotation, name and value (-1 when none): stored under <c>extra</c>.</summary>
        public int Extra, ExtraLength;
    }

    /// <summary>A scalar's raw JSON (quotes included); <see cref="Length"/> 0 when absent or null.</summary>
    private struct Token
    {
        public int Start, Length;
        public bool Escaped;

        public readonly bool Present => Length > 0;

        /// <summary>The bytes between the quotes of a string token.</summary>
        public readonly ReadOnlySpan<byte> Text(ReadOnlySpan<byte> json) => json.Slice(Start + 1, Length - 2);

        public static Token Of(ref Utf8JsonReader reader, int offset) => new()
        {
            Start = offset + (int)reader.TokenStartIndex,
            Length = reader.ValueSpan.Length + (reader.TokenType == JsonTokenType.String ? 2 : 0),
            Escaped = reader.ValueIsEscaped,
        };
    }

    private enum EnvelopeMember
    {
        EventId,
        EventType,
        Timestamp,
        SessionId,
        UserId,
        AnonymousId,
        Context,
        Properties,
        Extra,
    }

    private static EnvelopeMember EnvelopeMemberOf(ReadOnlySpan<byte> name) => name.Length switch
    {
        7 when name.SequenceEqual("user_id"u8) => EnvelopeMember.UserId,
        7 when name.SequenceEqual("context"u8) => EnvelopeMember.Context,
        8 when name.SequenceEqual("event_id"u8) => EnvelopeMember.EventId,
        9 when name.SequenceEqual("timestamp"u8) => EnvelopeMember.Timestamp,
        10 when name.SequenceEqual("event_type"u8) => EnvelopeMember.EventType,
        10 when name.SequenceEqual("session_id"u8) => EnvelopeMember.SessionId,
        10 when name.SequenceEqual("properties"u8) => EnvelopeMember.Properties,
        12 when name.SequenceEqual("anonymous_id"u8) => EnvelopeMember.AnonymousId,
        _ => EnvelopeMember.Extra,
    };

    private bool TryScan(ref Utf8JsonReader r, ReadOnlySpan<byte> json, long receivedAtMs, ref EventScan s)
    {
        var seen = 0;
        int deferredContext = -1, deferredContextLength = 0, deferredProperties = -1, deferredPropertiesLength = 0;
        s.Context = s.Properties = -1;
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            var member = r.ValueIsEscaped ? EnvelopeMember.Extra : EnvelopeMemberOf(r.ValueSpan);
            if (member == EnvelopeMember.Extra && s.Mapped && s.Extra < 0 && !r.ValueIsEscaped)
            {
                s.Extra = (int)r.TokenStartIndex;
                r.Read();
                if (!SkipUnescaped(ref r))
                {
                    return false;
                }
                s.ExtraLength = (int)r.BytesConsumed - s.Extra;
                continue;
            }
            if (member == EnvelopeMember.Extra || (seen & (1 << (int)member)) != 0)
            {
                return false;
            }
            seen |= 1 << (int)member;
            r.Read();
            switch (member)
            {
                case EnvelopeMember.EventId:
                    // Hashed as sent for dedupe: an escaped id needs decoding first, left to the slow path.
                    if (r.TokenType != JsonTokenType.String || r.ValueIsEscaped || r.ValueSpan.Length is 0 or > EventLimits.EventIdLength)
                    {
                        return false;
                    }
                    s.EventId = (int)r.TokenStartIndex + 1;
                    s.EventIdLength = r.ValueSpan.Length;
                    break;
                case EnvelopeMember.EventType:
                    if (r.TokenType != JsonTokenType.String || r.ValueIsEscaped || r.ValueSpan.Length > EventLimits.EventTypeLength || !IsSnakeCase(r.ValueSpan))
                    {
                        return false;
                    }
                    s.EventType = (int)r.TokenStartIndex + 1;
                    s.EventTypeLength = r.ValueSpan.Length;
                    s.Type = _compiled.Find(r.ValueSpan) ?? _compiled.Custom;
                    if (!s.Type.FastPath)
                    {
                        return false;
                    }
                    break;
                case EnvelopeMember.Timestamp:
                    if (r.TokenType != JsonTokenType.String || r.ValueIsEscaped || r.ValueSpan.Length is < 20 or > 40
                        || !HasOffset(r.ValueSpan) || !r.TryGetDateTimeOffset(out var ts) || ts.Year is < EventLimits.FirstYear or > EventLimits.LastYear)
                    {
                        return false;
                    }
                    s.OriginalTimestampMs = s.TimestampMs = ts.ToUnixTimeMilliseconds();
                    if (s.TimestampMs > receivedAtMs + (long)_options.MaxFutureSkew.TotalMilliseconds)
                    {
                        s.TimestampMs = receivedAtMs;
                        s.Clamped = true;
                    }
                    break;
                case EnvelopeMember.SessionId or EnvelopeMember.UserId or EnvelopeMember.AnonymousId:
                    if (r.TokenType == JsonTokenType.Null)
                    {
                        break;
                    }
                    if (r.TokenType != JsonTokenType.String || r.ValueSpan.Length > 256)
                    {
                        return false;
                    }
                    var id = Token.Of(ref r, 0);
                    if (member == EnvelopeMember.SessionId)
                    {
                        s.SessionId = id;
                    }
                    else if (member == EnvelopeMember.UserId)
                    {
                        s.UserId = id;
                    }
                    else
                    {
                        s.AnonymousId = id;
                    }
                    break;
                case EnvelopeMember.Context or EnvelopeMember.Properties:
                    if (r.TokenType == JsonTokenType.Null)
                    {
                        break;
                    }
                    if (r.TokenType != JsonTokenType.StartObject)
                    {
                        return false;
                    }
                    if (s.Type is null)
                    {
                        // The rules depend on the event type, which comes later: read this member again then.
                        var at = (int)r.TokenStartIndex;
                        r.Skip();
                        if (member == EnvelopeMember.Context)
                        {
                            (deferredContext, deferredContextLength) = (at, (int)r.BytesConsumed - at);
                        }
                        else
                        {
                            (deferredProperties, deferredPropertiesLength) = (at, (int)r.BytesConsumed - at);
                        }
                    }
                    else if (!(member == EnvelopeMember.Context ? ScanContext(ref r, 0, ref s) : ScanProperties(ref r, json, 0, ref s)))
                    {
                        return false;
                    }
                    break;
            }
        }
        const int required = (1 << (int)EnvelopeMember.EventId) | (1 << (int)EnvelopeMember.EventType) | (1 << (int)EnvelopeMember.Timestamp);
        if ((seen & required) != required)
        {
            return false;
        }
        if (deferredContext >= 0)
        {
            var reader = new Utf8JsonReader(json.Slice(deferredContext, deferredContextLength));
            if (!reader.Read() || !ScanContext(ref reader, deferredContext, ref s))
            {
                return false;
            }
        }
        if (deferredProperties >= 0)
        {
            var reader = new Utf8JsonReader(json.Slice(deferredProperties, deferredPropertiesLength));
            if (!reader.Read() || !ScanProperties(ref reader, json, deferredProperties, ref s))
            {
                return false;
            }
        }
        var type = s.Type!;
        if (s.Mapped)
        {
            return true;
        }
        if ((s.Context < 0 && type.Context is { RequiredMask: not 0 }) || (s.Properties < 0 && type.Properties.RequiredMask != 0))
        {
            return false;
        }
        foreach (var field in type.RequiredEnvelope)
        {
            var id = field switch { CompiledType.SessionId => s.SessionId, CompiledType.UserId => s.UserId, _ => s.AnonymousId };
            if (!id.Present || id.Escaped || id.Length == 2)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// Moves past the value at the reader; false when a name or a string in it holds an escape
    /// (the document path would write it decoded, so a copy of the bytes would differ).
    /// </summary>
    private static bool SkipUnescaped(ref Utf8JsonReader r)
    {
        if (r.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
        {
            return !(r.TokenType == JsonTokenType.String && r.ValueIsEscaped);
        }
        var depth = r.CurrentDepth;
        while (r.Read())
        {
            if (r.CurrentDepth == depth)
            {
                return true; // the container's end
            }
            if (r.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && r.ValueIsEscaped)
            {
                return false;
            }
        }
        return false;
    }

    private static bool IsSnakeCase(ReadOnlySpan<byte> text)
    {
        if (text.Length == 0 || text[0] is < (byte)'a' or > (byte)'z')
        {
            return false;
        }
        foreach (var c in text)
        {
            if (c is not ((>= (byte)'a' and <= (byte)'z') or (>= (byte)'0' and <= (byte)'9') or (byte)'_'))
            {
                return false;
            }
        }
        return true;
    }
}
