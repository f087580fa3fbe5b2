using System.Globalization;
using System.Text;

namespace Atalaya.Bench;

/// <summary>
/// Generates catalog-valid native events (about 400 bytes each: page views, product views,
/// add-to-carts, purchases with items, payments) and the same events flattened for ClickHouse.
/// Deterministic by seed; ids are unique per run.
/// </summary>
public static class EventFactory
{
    private static readonly string[] Countries = ["MX", "CO", "CL", "SE"];
    private static readonly string[] Sources = ["google", "facebook", "instagram", "direct", "email"];
    private static readonly string[] Platforms = ["web", "ios", "android"];
    private static readonly string[] Agents =
    [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
    ];

    public sealed record Generated(List<byte[]> HubBodies, List<byte[]> ClickHouseBodies, long HubBytes, long ClickHouseBytes);

    public static Generated Generate(int events, int batch, int seed)
    {
        var random = new Random(seed);
        var run = Guid.NewGuid().ToString("N")[..8];
        var hub = new List<byte[]>();
        var clickhouse = new List<byte[]>();
        long hubBytes = 0, clickhouseBytes = 0;
        var start = new DateTime(2026, 10, 1, 0, 0, 0, DateTimeKind.Utc);
        for (var first = 0; first < events; first += batch)
        {
            var native = new StringBuilder(batch * 420).Append('[');
            var flat = new StringBuilder(batch * 420);
            for (var i = first; i < Math.Min(events, first + batch); i++)
            {
                var e = Make(i, random, run, start);
                if (i > first)
                {
                    native.Append(',');
                }
                native.Append(e.Native);
                flat.Append(e.Flat).Append('\n');
            }
            native.Append(']');
            var h = Encoding.UTF8.GetBytes(native.ToString());
            var c = Encoding.UTF8.GetBytes(flat.ToString());
            hub.Add(h);
            clickhouse.Add(c);
            hubBytes += h.Length;
            clickhouseBytes += c.Length;
        }
        return new Generated(hub, clickhouse, hubBytes, clickhouseBytes);
    }

    private static (string Native, string Flat) Make(int i, Random random, string run, DateTime start)
    {
        var id = $"{run}-{i:x8}-{random.Next():x8}";
        var at = start.AddSeconds(i * 0.5 + random.Next(0, 30));
        var ts = at.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        var session = $"s-{run}-{i / 8}";
        var user = $"u-{random.Next(0, 200_000)}";
        var country = Countries[random.Next(Countries.Length)];
        var source = Sources[random.Next(Sources.Length)];
        var platform = Platforms[random.Next(Platforms.Length)];
        var agent = Agents[random.Next(Agents.Length)];
        var store = $"st-{random.Next(0, 400):0000}";
        var product = $"p-{random.Next(0, 20_000)}";
        var price = (random.Next(500, 50_000) / 100m).ToString(CultureInfo.InvariantCulture);
        var (type, properties) = (i % 10) switch
        {
            < 4 => ("page_view", "{}"),
            < 7 => ("product_viewed", $$"""{"product_id":"{{product}}","product_name":"Producto {{product}}","product_price":{{price}},"product_category":"grocery","store_id":"{{store}}","store_name":"Tienda {{store}}"}"""),
            < 9 => ("add_to_cart", $$"""{"product_id":"{{product}}","quantity":{{random.Next(1, 4)}},"price":{{price}},"store_id":"{{store}}"}"""),
            _ => ("purchase_completed", $$"""{"order_id":"o-{{id}}","store_id":"{{store}}","total":{{price}},"subtotal":{{price}},"delivery_fee":0,"currency":"MXN","fx_rate_to_reporting":0.055,"items":[{"product_id":"{{product}}","quantity":1,"price":{{price}}}]}"""),
        };
        var native = $$"""{"event_id":"{{id}}","event_type":"{{type}}","timestamp":"{{ts}}","session_id":"{{session}}","user_id":"{{user}}","context":{"page_url":"https://shop.example/{{store}}/{{product}}","user_agent":"{{agent}}","country":"{{country}}","source":"{{source}}","platform":"{{platform}}","app_id":"tiendi-{{platform}}"},"properties":{{properties}}}""";
        var flatTs = at.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
        var escaped = properties.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
        var flat = $$"""{"event_id":"{{id}}","event_type":"{{type}}","timestamp":"{{flatTs}}","session_id":"{{session}}","user_id":"{{user}}","country":"{{country}}","source":"{{source}}","platform":"{{platform}}","user_agent":"{{agent}}","page_url":"https://shop.example/{{store}}/{{product}}","properties":"{{escaped}}"}""";
        return (native, flat);
    }
}
