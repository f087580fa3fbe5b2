using System.Collections.Concurrent;
using System.Text;
using System.Text.Encodings.Web;

namespace Atalaya.Engine.Collect;

/// <summary>
/// Encoded <c>"name":"value"</c> fragments for the few dimension values the collector splices
/// into stored events (device, OS, browser, a store's country, hub, zone, category). Those
/// values repeat millions of times, so each is encoded once and cached (bounded).
/// </summary>
internal static class JsonFragments
{
    private const int MaxCached = 50_000;
    private static readonly ConcurrentDictionary<(string, string), byte[]> Cache = new();

    /// <summary>The UTF-8 bytes of <c>"name":"value"</c>, escaped.</summary>
    public static byte[] Get(string name, string value)
    {
        if (!Cache.TryGetValue((name, value), out var fragment))
        {
            fragment = Encode(name, value);
            if (Cache.Count < MaxCached)
            {
                Cache.TryAdd((name, value), fragment);
            }
        }
        return fragment;
    }

    private static byte[] Encode(string name, string value)
    {
        var encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
        return Encoding.UTF8.GetBytes($"\"{encoder.Encode(name)}\":\"{encoder.Encode(value)}\"");
    }
}
