using System.Text;
using Atalaya.Engine.Catalog;

namespace Atalaya.Engine.Collect;

/// <summary>
/// The catalog's rules with their names as UTF-8 bytes, for the single-pass validator
/// (<see cref="EventNormalizer"/>'s fast path), which compares property names as they are in the
/// request instead of decoding them. Built once per normalizer. A type the fast path cannot decide
/// (<see cref="CompiledType.FastPath"/> false) always goes through the <c>JsonDocument</c> path.
/// </summary>
internal sealed class CompiledCatalog
{
    private readonly Dictionary<string, CompiledType> _types;
    private readonly Dictionary<string, CompiledType>.AlternateLookup<ReadOnlySpan<char>> _byName;

    public CompiledCatalog(EventCatalog catalog)
    {
        _types = new Dictionary<string, CompiledType>(StringComparer.Ordinal);
        foreach (var rule in catalog.Types)
        {
            _types[rule.Type] = new CompiledType(rule);
        }
        _byName = _types.GetAlternateLookup<ReadOnlySpan<char>>();
        Custom = new CompiledType(null);
    }

    /// <summary>Types not in the catalog: only their envelope is validated.</summary>
    public CompiledType Custom { get; }

    /// <param name="asciiName">An event type already checked to be snake_case ASCII, at most 64 bytes.</param>
    public CompiledType? Find(ReadOnlySpan<byte> asciiName)
    {
        Span<char> name = stackalloc char[asciiName.Length];
        for (var i = 0; i < asciiName.Length; i++)
        {
            name[i] = (char)asciiName[i];
        }
        return _byName.TryGetValue(name, out var type) ? type : null;
    }
}

/// <summary>One event type's rules (or the custom type's, when <see cref="Rule"/> is null).</summary>
internal sealed class CompiledType
{
    public const int SessionId = 0, UserId = 1, AnonymousId = 2;

    /// <summary>The properties the KPI projection and the recommendation model read, whatever the type.</summary>
    private static readonly string[] FactNames = ["store_id", "order_id", "total", "amount", "product_id", "product_name", "status", "snapshot", "items", "priority",
        "product_category", "quantity_available"];

    public CompiledType(EventTypeRule? rule)
    {
        Rule = rule;
        var fastPath = true;
        // Besides the rule's own fields, the properties scan keeps the members the stored form
        // reads (the store, the currency and frozen rate of money types, the snapshot), the ones
        // the KPI projection reads (every type: see CollectedFacts) and the fields the
        // conditional requirements look at.
        var tracked = new List<string>(FactNames);
        if (rule is { Monetary: true })
        {
            tracked.AddRange(["currency", "fx_rate_to_reporting"]);
        }
        foreach (var when in rule?.When ?? [])
        {
            tracked.Add(when.Field);
            tracked.AddRange(when.Require);
        }
        Properties = new CompiledFields(rule?.Properties ?? [], tracked);
        Context = rule is { Context.Count: > 0 } ? new CompiledFields(rule.Context, []) : null;
        StoreId = Properties.IndexOf("store_id"u8);
        Currency = Properties.IndexOf("currency"u8);
        FxRate = Properties.IndexOf("fx_rate_to_reporting"u8);
        Snapshot = Properties.IndexOf("snapshot"u8);
        OrderId = Properties.IndexOf("order_id"u8);
        Total = Properties.IndexOf("total"u8);
        Amount = Properties.IndexOf("amount"u8);
        ProductId = Properties.IndexOf("product_id"u8);
        ProductName = Properties.IndexOf("product_name"u8);
        Status = Properties.IndexOf("status"u8);
        Priority = Properties.IndexOf("priority"u8);
        Items = Properties.IndexOf("items"u8);
        ProductCategory = Properties.IndexOf("product_category"u8);
        QuantityAvailable = Properties.IndexOf("quantity_available"u8);

        var envelope = new List<int>();
        foreach (var name in rule?.RequiredEnvelope ?? [])
        {
            switch (name)
            {
                case "session_id": envelope.Add(SessionId); break;
                case "user_id": envelope.Add(UserId); break;
                case "anonymous_id": envelope.Add(AnonymousId); break;
                default: fastPath = false; break;
            }
        }
        RequiredEnvelope = [.. envelope];
        When = [.. (rule?.When ?? []).Select(w => new CompiledWhen(
            Properties.IndexOf(Encoding.UTF8.GetBytes(w.Field)),
            [.. w.Values.Select(Encoding.UTF8.GetBytes)],
            [.. w.Require.Select(r => Properties.IndexOf(Encoding.UTF8.GetBytes(r)))]))];
        // store_created defines a store dimension from its properties: rare, left to the slow path.
        FastPath = fastPath && Properties.FastPath && Context?.FastPath != false && rule?.Type != "store_created";
        FxInSnapshot = rule?.Type == "order_status_changed";
    }

    public EventTypeRule? Rule { get; }

    public bool FastPath { get; }

    public CompiledFields Properties { get; }

    public CompiledFields? Context { get; }

    public int[] RequiredEnvelope { get; }

    public CompiledWhen[] When { get; }

    /// <summary>Indexes into <see cref="Properties"/> of the members the stored form reads.</summary>
    public int StoreId { get; }

    public int Currency { get; }

    public int FxRate { get; }

    public int Snapshot { get; }

    public int OrderId { get; }

    public int Total { get; }

    public int Amount { get; }

    public int ProductId { get; }

    public int ProductName { get; }

    public int Status { get; }

    public int Priority { get; }

    public int Items { get; }

    /// <summary>Read by the recommendation model only.</summary>
    public int ProductCategory { get; }

    public int QuantityAvailable { get; }

    /// <summary>The rate and currency of this type are frozen in <c>properties.snapshot</c>.</summary>
    public bool FxInSnapshot { get; }
}

/// <summary>"When the member at <see cref="Field"/> is one of <see cref="Values"/>, the members at <see cref="Require"/> must be there."</summary>
internal sealed record CompiledWhen(int Field, byte[][] Values, int[] Require);

/// <summary>The fields of an object: rule fields first, then members only tracked (no rule).</summary>
internal sealed class CompiledFields
{
    /// <summary>Seen / null / required sets are 64-bit masks.</summary>
    public const int MaxNames = 64;

    private readonly byte[][] _names;

    public CompiledFields(IReadOnlyList<FieldRule> fields, IEnumerable<string> tracked)
    {
        var names = new List<string>();
        var compiled = new List<CompiledField?>();
        foreach (var field in fields)
        {
            if (names.Contains(field.Name))
            {
                FastPath = false;
                continue;
            }
            names.Add(field.Name);
            compiled.Add(new CompiledField(field));
        }
        foreach (var name in tracked)
        {
            if (!names.Contains(name))
            {
                names.Add(name);
                compiled.Add(null);
            }
        }
        _names = [.. names.Select(Encoding.UTF8.GetBytes)];
        Fields = [.. compiled];
        for (var i = 0; i < Fields.Length && i < MaxNames; i++)
        {
            if (Fields[i] is { Rule.Required: true })
            {
                RequiredMask |= 1UL << i;
            }
        }
        FastPath &= Fields.Length <= MaxNames && Fields.All(f => f?.FastPath != false);
    }

    public bool FastPath { get; } = true;

    /// <summary>The rule of each name, or null for a member that is only tracked.</summary>
    public CompiledField?[] Fields { get; }

    public ulong RequiredMask { get; }

    public int Count => _names.Length;

    public int IndexOf(ReadOnlySpan<byte> name)
    {
        for (var i = 0; i < _names.Length; i++)
        {
            if (name.SequenceEqual(_names[i]))
            {
                return i;
            }
        }
        return -1;
    }
}

/// <summary>One field's rule with what the fast path needs precomputed.</summary>
internal sealed class CompiledField
{
    public CompiledField(FieldRule rule)
    {
        Rule = rule;
        MaxLength = rule.MaxLength ?? FieldValidator.DefaultMaxStringLength;
        Allowed = rule.AllowedValues is { } allowed ? [.. allowed.Select(Encoding.UTF8.GetBytes)] : null;
        Fields = rule.Kind == FieldKind.Object ? new CompiledFields(rule.Fields, []) : null;
        Items = rule.Items is { } items ? new CompiledField(items) : null;
        FastPath = Fields?.FastPath != false && Items?.FastPath != false;
    }

    public FieldRule Rule { get; }

    public int MaxLength { get; }

    public byte[][]? Allowed { get; }

    public CompiledFields? Fields { get; }

    public CompiledField? Items { get; }

    public bool FastPath { get; }
}
