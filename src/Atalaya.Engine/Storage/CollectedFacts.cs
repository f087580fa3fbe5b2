namespace Atalaya.Engine.Storage;

/// <summary>
/// What the KPI projection reads of one event, as the single pass saw it while validating and
/// writing the event, so that the commit path does not read the stored JSON again. Text stays
/// where it is: <see cref="JsonText"/> ranges of the event's stored bytes, interned by the
/// projection under its write lock. Numbers are parsed as the stored-event reader parses them.
///
/// Invariant: with <see cref="Complete"/> set, resolving these facts gives exactly what
/// <c>StoredEventReader</c> reads from the stored bytes (tests check it field by field). Whatever
/// the single pass does not settle (repeated snapshot or items, a number the reader would refuse,
/// escaped member names inside items) leaves <see cref="Complete"/> false, and the projection
/// reads the stored JSON as before. The document path never sets it (Segment messages, once
/// mapped, go through the single pass and have their facts like any other event).
/// </summary>
internal struct CollectedFacts
{
    public bool Complete;
    public bool Custom;
    public bool HasSnapshot;
    public long TimestampMs;

    /// <summary>The rate written as <c>fx_rate_to_reporting</c>, NaN when none was.</summary>
    public double Fx;

    public JsonText Type, SessionId, UserId, AnonymousId;

    /// <summary>The client's context members (the last of each name).</summary>
    public JsonText Country, Hub, Zone, Category, Source, Platform, AppId;

    /// <summary>The store whose dimensions were spliced into the context, and which of them (see <see cref="DerivedDimensions"/>).</summary>
    public StoreDimension? DerivedFrom;

    public DerivedDimensions Derived;

    /// <summary>Properties (the last of each name).</summary>
    public JsonText StoreId, OrderId, ProductId, ProductName, Status, Priority;

    public double Total, Amount, SnapshotTotal, Commission;

    /// <summary>snapshot.refunded_amount and snapshot.commission_reversed, NaN when absent.</summary>
    public double Refunded, Reversed;

    /// <summary>The event's entries in the batch's item list.</summary>
    public int FirstItem, ItemCount;

    /// <summary>properties.product_category, read by the recommendation model.</summary>
    public JsonText ProductCategory;

    /// <summary>properties.quantity_available as the recommendation model takes it (a number, else NaN).</summary>
    public double QuantityAvailable;

    /// <summary>
    /// Like <see cref="Complete"/>, for what the recommendation model reads (<c>RecommendationEvent</c>):
    /// also set for inventory snapshots, whose quantity the KPI projection still reads from the stored event.
    /// </summary>
    public bool CompleteForRecommendations;
}

/// <summary>
/// A JSON value in an event's stored bytes: offset and length of the whole token (quotes
/// included). <see cref="IsString"/> false (the default) stands for a missing value or a value
/// of another type, which the reader takes as no text. Eight bytes: a batch holds thousands.
/// </summary>
internal readonly struct JsonText
{
    // The length's sign says whether the string holds escapes.
    private readonly int _length;

    public JsonText(int start, int length, bool escaped)
    {
        Start = start;
        _length = escaped ? -length : length;
    }

    public int Start { get; }

    public int Length => Math.Abs(_length);

    public bool Escaped => _length < 0;

    public bool IsString => Length >= 2;

    /// <summary>The bytes between the quotes, still escaped when <see cref="Escaped"/>.</summary>
    public ReadOnlySpan<byte> Raw(ReadOnlySpan<byte> storedEvent) => storedEvent.Slice(Start + 1, Length - 2);
}

/// <summary>One object of <c>properties.items</c>: product text, quantity and price as the reader takes them.</summary>
internal readonly record struct CollectedItem(JsonText ProductId, int Quantity, double Price);

/// <summary>Context dimensions the collector copied from the event's store into the stored context.</summary>
[Flags]
internal enum DerivedDimensions : byte
{
    None = 0,
    Country = 1,
    Hub = 2,
    Zone = 4,
    Category = 8,
}
