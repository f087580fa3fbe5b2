namespace Atalaya.Engine.Catalog;

/// <summary>The value kinds a catalog field can declare.</summary>
public enum FieldKind
{
    String,
    Integer,
    Number,
    /// <summary>A non-negative decimal amount in the event's currency (fits System.Decimal).</summary>
    Money,
    /// <summary>A positive decimal exchange rate.</summary>
    Rate,
    /// <summary>An ISO 4217 code: three capital letters.</summary>
    Currency,
    /// <summary>An ISO 3166-1 alpha-2 code: two capital letters.</summary>
    Country,
    Boolean,
    Object,
    Array,
}

/// <summary>One field of a catalog event type (or of a nested object / array item).</summary>
public sealed record FieldRule(
    string Name,
    FieldKind Kind,
    bool Required,
    decimal? Min,
    int? MaxLength,
    IReadOnlyList<string>? AllowedValues,
    int? MinItems,
    int? MaxItems,
    IReadOnlyList<FieldRule> Fields,
    FieldRule? Items);

/// <summary>"When <see cref="Field"/> is one of <see cref="Values"/>, these fields are required."</summary>
public sealed record ConditionalRequirement(string Field, IReadOnlyList<string> Values, IReadOnlyList<string> Require);

/// <summary>A catalog event type: the properties, context fields and envelope fields it requires.</summary>
public sealed record EventTypeRule(
    string Type,
    string Description,
    IReadOnlyList<FieldRule> Properties,
    IReadOnlyList<FieldRule> Context,
    IReadOnlyList<string> RequiredEnvelope,
    IReadOnlyList<ConditionalRequirement> When,
    bool Monetary);

/// <summary>One entry of the catalog's change history.</summary>
public sealed record CatalogChange(int Version, string Date, string Reason);
