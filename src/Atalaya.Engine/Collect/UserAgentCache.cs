using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Atalaya.Engine.Collect;

/// <summary>
/// User agents repeat: a shop sees a few thousand distinct ones among millions of events. This
/// cache keys the parsed result by the user agent's raw UTF-8 JSON bytes (hash, then an exact
/// byte comparison), so a repeated one costs neither the UTF-16 string nor the rule scan, and it
/// keeps the derived context fields ready-encoded. Bounded: past <see cref="MaxEntries"/> new
/// user agents are parsed each time and not kept.
/// </summary>
internal static class UserAgentCache
{
    public const int MaxEntries = 20_000;

    private static readonly ConcurrentDictionary<ulong, Entry> Entries = new();

    /// <summary>A parsed user agent; a fragment is <c>"name":"value"</c>, or null when unknown.</summary>
    public sealed record Entry(byte[] Raw, UserAgentInfo Info, byte[]? DeviceType, byte[]? Os, byte[]? Browser);

    /// <param name="userAgent">A JSON string element (the context's <c>user_agent</c>).</param>
    public static Entry Get(JsonElement userAgent)
    {
        var raw = JsonMarshal.GetRawUtf8Value(userAgent);
        return Find(raw) ?? Add(raw, userAgent.GetString());
    }

    /// <param name="raw">A JSON string with its quotes, as sent, holding no escape sequence.</param>
    public static Entry GetUnescaped(ReadOnlySpan<byte> raw) => Find(raw) ?? Add(raw, Encoding.UTF8.GetString(raw[1..^1]));

    private static Entry? Find(ReadOnlySpan<byte> raw) =>
        Entries.TryGetValue(XxHash3.HashToUInt64(raw), out var entry) && raw.SequenceEqual(entry.Raw) ? entry : null;

    private static Entry Add(ReadOnlySpan<byte> raw, string? userAgent)
    {
        var info = UserAgentParser.Parse(userAgent);
        var entry = new Entry(raw.ToArray(), info, Fragment("device_type", info.DeviceType), Fragment("os", info.Os), Fragment("browser", info.Browser));
        if (Entries.Count < MaxEntries)
        {
            Entries[XxHash3.HashToUInt64(raw)] = entry;
        }
        return entry;
    }

    private static byte[]? Fragment(string name, string value) => value == "unknown" ? null : JsonFragments.Get(name, value);
}
