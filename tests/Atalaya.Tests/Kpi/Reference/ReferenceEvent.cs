using System.Globalization;
using System.Text.Json;

namespace Atalaya.Tests.Kpi.Reference;

/// <summary>
/// One stored event as the reference sees it. <see cref="Seq"/> is its position in storage order
/// (ties between equal timestamps go to the first stored); <see cref="Fx"/> is the rate frozen with
/// the event, null when the hub flagged it fx_rate_missing (or the event carries no money).
/// <see cref="IsCustom"/> marks a type outside the catalog (stored with <c>"custom": true</c>).
/// </summary>
public sealed record ReferenceEvent(
    long Seq,
    string Id,
    string Type,
    DateTimeOffset Timestamp,
    string? User,
    string? SessionId,
    Dimensions Dimensions,
    JsonElement Properties,
    decimal? Fx,
    bool IsCustom = false)
{
    public string? Text(string property) =>
        Properties.ValueKind == JsonValueKind.Object && Properties.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()
            : null;

    public decimal Number(string property) => Number(Properties, property);

    public JsonElement Snapshot =>
        Properties.ValueKind == JsonValueKind.Object && Properties.TryGetProperty("snapshot", out var s) ? s : default;

    /// <summary><paramref name="amount"/> in the reporting currency, or null when the event has no rate.</summary>
    public decimal? Reported(decimal amount) => Fx is { } rate ? amount * rate : null;

    public static decimal Number(JsonElement owner, string property) =>
        owner.ValueKind == JsonValueKind.Object && owner.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.Number
            ? v.GetDecimal()
            : 0m;

    public override string ToString() =>
        $"{Type} {Id} at {Timestamp.ToString("O", CultureInfo.InvariantCulture)}";
}
