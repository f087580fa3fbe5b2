namespace Atalaya.Engine.ClickHouse;

/// <summary>
/// Where ClickHouse's HTTP interface is and who we are to it. <see cref="Timeout"/> bounds a whole
/// statement or insert, its streamed body included; for a query's answer it bounds the wait for the
/// answer to start and then each wait for more of it, not the time the caller takes to read it.
/// </summary>
internal sealed record ClickHouseSettings(Uri Url, string Database = "default", string? User = null, string? Password = null)
{
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Whether bodies are gzip both ways. Over a network, compression saves more than it costs; to a
    /// ClickHouse on this machine (a loopback address) it only costs: gzip was the largest single
    /// cost of a cluster node writing into a local ClickHouse. <see cref="Parse"/> decides by the
    /// host unless the URL says <c>?compress=1</c> or <c>?compress=0</c>.
    /// </summary>
    public bool Compress { get; init; } = true;

    /// <summary>The settings of a URL such as <c>http://user:password@127.0.0.1:8123/atalaya</c> (path = database).</summary>
    public static ClickHouseSettings Parse(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"the ClickHouse URL '{url}' is not an http(s) URL; give its HTTP interface, e.g. http://127.0.0.1:8123/atalaya", nameof(url));
        }
        var database = uri.AbsolutePath.Trim('/');
        string? user = null, password = null;
        if (uri.UserInfo.Length > 0)
        {
            var parts = uri.UserInfo.Split(':', 2);
            user = Uri.UnescapeDataString(parts[0]);
            password = parts.Length > 1 ? Uri.UnescapeDataString(parts[1]) : null;
        }
        var root = new UriBuilder(uri.Scheme, uri.Host, uri.Port).Uri;
        var compress = !uri.IsLoopback;
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var (name, value) = pair.Split('=', 2) is [var n, var v] ? (n, v) : (pair, "");
            compress = name == "compress" ? value switch
            {
                "1" or "true" => true,
                "0" or "false" => false,
                _ => throw new ArgumentException($"the ClickHouse URL's compress={value} is not 1 or 0; write ?compress=1 to gzip bodies (the default unless ClickHouse is on this machine) or ?compress=0 not to", nameof(url)),
            } : throw new ArgumentException($"the ClickHouse URL's '{name}' is not a setting Atalaya knows; the only one is compress=1|0", nameof(url));
        }
        return new ClickHouseSettings(root, database.Length > 0 ? database : "default", user, password) { Compress = compress };
    }
}
