using System.Text;
using System.Text.Json.Nodes;

namespace Atalaya.Bench.Stages;

/// <summary>
/// The ingest benchmark's events as a Segment SDK would send them (<c>/v1/batch</c> bodies): track
/// calls named by the event type, the context in Segment's names, the session in
/// <c>context.sessionId</c>, the properties as they are.
/// </summary>
public static class SegmentBodies
{
    public static byte[] FromNative(byte[] nativeArray)
    {
        var batch = new JsonArray();
        foreach (var node in JsonNode.Parse(nativeArray)!.AsArray())
        {
            var e = node!.AsObject();
            var context = new JsonObject();
            if (e["context"] is JsonObject native)
            {
                var page = new JsonObject();
                foreach (var (name, value) in native)
                {
                    switch (name)
                    {
                        case "user_agent": context["userAgent"] = value?.DeepClone(); break;
                        case "page_url": page["url"] = value?.DeepClone(); break;
                        case "referrer": page["referrer"] = value?.DeepClone(); break;
                        default: context[name] = value?.DeepClone(); break;
                    }
                }
                if (page.Count > 0)
                {
                    context["page"] = page;
                }
            }
            if (e["session_id"] is { } session)
            {
                context["sessionId"] = session.DeepClone();
            }
            var message = new JsonObject
            {
                ["type"] = "track",
                ["event"] = e["event_type"]?.DeepClone(),
                ["messageId"] = e["event_id"]?.DeepClone(),
                ["timestamp"] = e["timestamp"]?.DeepClone(),
                ["context"] = context,
                ["properties"] = e["properties"]?.DeepClone() ?? new JsonObject(),
            };
            if (e["user_id"] is { } user)
            {
                message["userId"] = user.DeepClone();
            }
            if (e["anonymous_id"] is { } anonymous)
            {
                message["anonymousId"] = anonymous.DeepClone();
            }
            batch.Add(message);
        }
        return Encoding.UTF8.GetBytes(new JsonObject { ["batch"] = batch }.ToJsonString());
    }
}
