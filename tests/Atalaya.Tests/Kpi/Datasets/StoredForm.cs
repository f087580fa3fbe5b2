using System.Text.Json;
using System.Text.Json.Nodes;

namespace Atalaya.Tests.Kpi.Datasets;

/// <summary>
/// What the hub stores for an explicit event whose rate is frozen in it (docs/events.md): the event
/// with that rate copied to the top-level <c>fx_rate_to_reporting</c>, or flagged fx_rate_missing.
/// Only for the reference's own unit tests, which run without a hub; the conformance tests read
/// what a real hub stored.
/// </summary>
public static class StoredForm
{
    private static readonly string[] MoneyTypes = ["purchase_completed", "order_status_changed", "payment_succeeded", "payment_failed", "subscription_charged"];

    public static List<JsonElement> Of(IEnumerable<JsonObject> events) => [.. events.Select(Of)];

    public static JsonElement Of(JsonObject native)
    {
        var stored = native.DeepClone().AsObject();
        var type = stored["event_type"]!.GetValue<string>();
        if (MoneyTypes.Contains(type))
        {
            var owner = type == "order_status_changed" ? stored["properties"]?["snapshot"]?.AsObject() : stored["properties"]!.AsObject();
            if (owner is not null)
            {
                stored["currency"] = owner["currency"]?.DeepClone();
                if (owner["fx_rate_to_reporting"] is { } rate)
                {
                    stored["fx_rate_to_reporting"] = rate.DeepClone();
                }
                else
                {
                    stored["flags"] = new JsonArray("fx_rate_missing");
                }
            }
        }
        return JsonDocument.Parse(stored.ToJsonString()).RootElement.Clone();
    }
}
