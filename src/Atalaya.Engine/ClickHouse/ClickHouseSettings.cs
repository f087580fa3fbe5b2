namespace Atalaya.Engine.ClickHouse;

/// <summary>
/// Where ClickHouse's HTTP interface is and who we are to it. <see cref="Timeout"/> bounds a whole
/// request, the streamed body of an insert or an answer included.
/// </summary>
internal sealed record ClickHouseSettings(Uri Url, string Database = "default", string? User = null, string? Password = null)
{
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(5);

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
        return new ClickHouseSettings(root, database.Length > 0 ? database : "default", user, password);
    }
}
