using System.Globalization;
using System.Text;

namespace Atalaya.Bench;

/// <summary>
/// Generates catalog-valid native events that look like a marketplace's traffic, and the same
/// events flattened for ClickHouse: page views with titles and referrers, store visits, searches,
/// product views with their properties, carts, checkouts, orders with 1–5 items and payments, from
/// a few hundred user agents (browsers, the shop's apps, server libraries, crawlers) over 20,000
/// products in 400 stores; about 700 bytes an event on average. Deterministic by seed; ids are
/// unique per run (they all start with <see cref="Generated.Run"/>).
/// </summary>
public static class EventFactory
{
    private static readonly string[] Countries = ["MX", "CO", "CL", "SE"];
    private static readonly string[] Locales = ["es-MX", "es-CO", "es-CL", "sv-SE"];
    private static readonly string[] Zones = ["America/Mexico_City", "America/Bogota", "America/Santiago", "Europe/Stockholm"];
    private static readonly string[] Currencies = ["MXN", "COP", "CLP", "SEK"];
    private static readonly decimal[] Fx = [0.055m, 0.00025m, 0.0011m, 0.095m];
    private static readonly string[] Sources = ["google", "facebook", "instagram", "direct", "email", "tiktok", "bing", "newsletter"];
    private static readonly string[] Categories = ["grocery", "pharmacy", "restaurant", "fashion", "electronics", "pets", "home", "beauty"];
    private static readonly string[] Providers = ["stripe", "mercadopago", "adyen", "klarna"];
    private static readonly string[] Methods = ["card", "cash", "wallet", "transfer"];
    private static readonly string[] Words = ["leche", "pan", "arroz", "café", "zapatillas", "audífonos", "croquetas", "shampoo", "vitaminas", "pizza", "tacos", "cargador", "camiseta", "lámpara", "jabón", "mjölk", "kaffe"];
    private static readonly string[] Referrers =
    [
        "https://www.google.com/", "https://www.facebook.com/", "https://l.instagram.com/", "", "https://www.bing.com/", "https://t.co/", "https://mail.google.com/",
    ];

    /// <summary>A few hundred realistic user agents: desktop and mobile browsers, the shop's apps, server libraries and crawlers.</summary>
    public static IReadOnlyList<string> UserAgents { get; } = BuildUserAgents();

    public sealed record Generated(List<byte[]> HubBodies, List<byte[]> ClickHouseBodies, long HubBytes, long ClickHouseBytes)
    {
        /// <summary>The 8-character prefix of every id, session and order id of this generation.</summary>
        public string Run { get; init; } = "";
    }

    public static Generated Generate(int events, int batch, int seed, DateTime? start = null)
    {
        var random = new Random(seed);
        var run = Guid.NewGuid().ToString("N")[..8];
        var hub = new List<byte[]>();
        var clickhouse = new List<byte[]>();
        long hubBytes = 0, clickhouseBytes = 0;
        var from = start ?? new DateTime(2026, 10, 1, 0, 0, 0, DateTimeKind.Utc);
        for (var first = 0; first < events; first += batch)
        {
            var native = new StringBuilder(batch * 760).Append('[');
            var flat = new StringBuilder(batch * 760);
            for (var i = first; i < Math.Min(events, first + batch); i++)
            {
                var e = Make(i, random, run, from);
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
        return new Generated(hub, clickhouse, hubBytes, clickhouseBytes) { Run = run };
    }

    private static (string Native, string Flat) Make(int i, Random random, string run, DateTime start)
    {
        var c = CultureInfo.InvariantCulture;
        var id = $"{run}-{i:x8}-{random.Next():x8}";
        var at = start.AddSeconds(i * 0.5 + random.Next(0, 30));
        var ts = at.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", c);
        var session = $"{run}-s-{i / 8:x}";
        // A third of the traffic is anonymous (no user_id, an anonymous_id instead).
        var known = random.Next(3) > 0;
        var user = known ? $"\"user_id\":\"u-{random.Next(0, 200_000)}\"" : $"\"anonymous_id\":\"{run}-a-{random.Next(0, 500_000):x}\"";
        var userFlat = known ? user[11..^1] : "";
        var k = random.Next(Countries.Length);
        var country = Countries[k];
        var source = Sources[random.Next(Sources.Length)];
        var agent = UserAgents[random.Next(UserAgents.Count)];
        var platform = agent.StartsWith("Tiendi/", StringComparison.Ordinal) ? (agent.Contains("iPhone", StringComparison.Ordinal) ? "ios" : "android")
            : agent.StartsWith("Mozilla", StringComparison.Ordinal) ? "web" : "server";
        var store = $"st-{random.Next(0, 400):0000}";
        var product = random.Next(0, 20_000);
        var category = Categories[product % Categories.Length];
        var price = Money(random, 500, 50_000);
        var word = Words[random.Next(Words.Length)];
        var page = $"https://shop.example/{country.ToLowerInvariant()}/{store}/p/{product}-{word}";
        var (type, properties) = random.Next(100) switch
        {
            < 30 => ("page_view", $$"""{"page_title":"{{word}} en Tienda {{store}} | Tiendi","path":"/{{country.ToLowerInvariant()}}/{{store}}","referrer":"{{Referrers[random.Next(Referrers.Length)]}}","store_id":"{{store}}"}"""),
            < 35 => ("store_visited", $$"""{"store_id":"{{store}}","position":{{random.Next(1, 40)}},"list":"home_carousel"}"""),
            < 40 => ("product_searched", $$"""{"query":"{{word}} {{Words[random.Next(Words.Length)]}}","results":{{random.Next(0, 300)}},"store_id":"{{store}}"}"""),
            < 65 => ("product_viewed", $$"""{"product_id":"p-{{product}}","product_name":"{{word}} {{product % 97}} x{{product % 12 + 1}}","product_price":{{price}},"product_category":"{{category}}","store_id":"{{store}}","store_name":"Tienda {{store}}","brand":"Marca {{product % 300}}","in_stock":{{(product % 11 > 0 ? "true" : "false")}}}"""),
            < 80 => ("add_to_cart", $$"""{"product_id":"p-{{product}}","quantity":{{random.Next(1, 4)}},"price":{{price}},"store_id":"{{store}}","cart_id":"{{session}}-c"}"""),
            < 85 => ("checkout_started", $$"""{"store_id":"{{store}}","total":{{price}},"items_count":{{random.Next(1, 6)}},"cart_id":"{{session}}-c"}"""),
            < 95 => ("purchase_completed", Order(random, id, store, Currencies[k], Fx[k])),
            _ => ("payment_succeeded", $$"""{"payment_id":"pay-{{id}}","order_id":"o-{{id}}","amount":{{price}},"currency":"{{Currencies[k]}}","provider":"{{Providers[random.Next(Providers.Length)]}}","fx_rate_to_reporting":{{Fx[k].ToString(c)}}}"""),
        };
        var campaign = source is "direct" ? "" : $",\"campaign\":{{\"source\":\"{source}\",\"medium\":\"{(source is "email" or "newsletter" ? "email" : "cpc")}\",\"name\":\"{category}-{at:MMM}\"}}";
        var native = $$"""{"event_id":"{{id}}","event_type":"{{type}}","timestamp":"{{ts}}","session_id":"{{session}}",{{user}},"context":{"page_url":"{{page}}","user_agent":"{{agent}}","country":"{{country}}","source":"{{source}}","platform":"{{platform}}","app_id":"tiendi-{{platform}}","locale":"{{Locales[k]}}","timezone":"{{Zones[k]}}"{{campaign}}},"properties":{{properties}}}""";
        var flatTs = at.ToString("yyyy-MM-dd HH:mm:ss", c);
        var escaped = properties.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
        var flat = $$"""{"event_id":"{{id}}","event_type":"{{type}}","timestamp":"{{flatTs}}","session_id":"{{session}}","user_id":"{{userFlat}}","country":"{{country}}","source":"{{source}}","platform":"{{platform}}","user_agent":"{{agent}}","page_url":"{{page}}","properties":"{{escaped}}"}""";
        return (native, flat);
    }

    private static string Order(Random random, string id, string store, string currency, decimal fx)
    {
        var count = 1 + (int)Math.Floor(Math.Pow(random.NextDouble(), 2) * 5);
        var items = new StringBuilder();
        decimal subtotal = 0;
        for (var n = 0; n < count; n++)
        {
            var quantity = random.Next(1, 4);
            var price = random.Next(500, 20_000) / 100m;
            subtotal += quantity * price;
            items.Append(n > 0 ? "," : "").Append(CultureInfo.InvariantCulture,
                $$"""{"product_id":"p-{{random.Next(0, 20_000)}}","quantity":{{quantity}},"price":{{price}}}""");
        }
        var fee = random.Next(0, 600) / 100m;
        return string.Create(CultureInfo.InvariantCulture,
            $$"""{"order_id":"o-{{id}}","store_id":"{{store}}","total":{{subtotal + fee}},"subtotal":{{subtotal}},"delivery_fee":{{fee}},"currency":"{{currency}}","payment_method":"{{Methods[random.Next(Methods.Length)]}}","fx_rate_to_reporting":{{fx}},"items":[{{items}}]}""");
    }

    private static string Money(Random random, int minCents, int maxCents) =>
        (random.Next(minCents, maxCents) / 100m).ToString(CultureInfo.InvariantCulture);

    private static string[] BuildUserAgents()
    {
        var agents = new List<string>();
        string[] desktops = ["Windows NT 10.0; Win64; x64", "Macintosh; Intel Mac OS X 10_15_7", "X11; Linux x86_64"];
        for (var v = 108; v <= 131; v++)
        {
            foreach (var os in desktops)
            {
                agents.Add($"Mozilla/5.0 ({os}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36");
            }
            agents.Add($"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36 Edg/{v}.0.0.0");
        }
        string[] phones = ["SM-S918B", "SM-A546B", "SM-A145M", "Pixel 7", "Pixel 8 Pro", "moto g54 5G", "moto e13", "Redmi Note 12", "2201117TG", "CPH2591"];
        for (var v = 118; v <= 131; v++)
        {
            foreach (var phone in phones)
            {
                agents.Add($"Mozilla/5.0 (Linux; Android {10 + (v + phone.Length) % 5}; {phone}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Mobile Safari/537.36");
            }
        }
        for (var major = 15; major <= 18; major++)
        {
            for (var minor = 0; minor <= 6; minor++)
            {
                agents.Add($"Mozilla/5.0 (iPhone; CPU iPhone OS {major}_{minor} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{major}.{minor} Mobile/15E148 Safari/604.1");
                agents.Add($"Mozilla/5.0 (iPad; CPU OS {major}_{minor} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{major}.{minor} Mobile/15E148 Safari/604.1");
            }
        }
        for (var v = 115; v <= 133; v++)
        {
            agents.Add($"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0");
            agents.Add($"Mozilla/5.0 (X11; Linux x86_64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0");
        }
        for (var v = 20; v <= 26; v++)
        {
            agents.Add($"Mozilla/5.0 (Linux; Android 13; SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/{v}.0 Chrome/115.0.0.0 Mobile Safari/537.36");
        }
        for (var minor = 0; minor < 12; minor++)
        {
            agents.Add($"Tiendi/5.{minor}.{minor % 4} (iPhone; iOS 17.{minor % 6}; Scale/3.00)");
            agents.Add($"Tiendi/5.{minor}.{minor % 4} (Android 14; SM-S918B; Build/UP1A.231005.007) okhttp/4.12.0");
        }
        agents.AddRange([
            "python-requests/2.31.0", "python-requests/2.32.3", "Go-http-client/1.1", "Go-http-client/2.0", "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
            "axios/1.6.8", "axios/1.7.2", "analytics-node/1.3.0", "analytics-python/2.3.2", "okhttp/4.12.0", "curl/8.5.0", "Java/17.0.10", "Ruby",
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
            "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        ]);
        return [.. agents];
    }
}
