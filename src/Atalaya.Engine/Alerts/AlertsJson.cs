using System.Text.Json.Serialization;
using Atalaya.Engine.Alerts.Notifications;

namespace Atalaya.Engine.Alerts;

/// <summary>Source-generated JSON for what the alerts feature stores: alert scopes and outbox notifications.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(Dictionary<string, string[]>))]
[JsonSerializable(typeof(Notification))]
[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class AlertsJson : JsonSerializerContext;
