using System.IO.Compression;
using System.Reflection;
using System.Security.Cryptography;

namespace Atalaya.Dashboard;

/// <summary>
/// The dashboards (<c>GET /</c> and <c>GET /dashboard/…</c>): static files embedded in the
/// assembly, so the hub serves them the same from <c>dotnet run</c>, a publish folder or a single
/// file, with no network beyond the hub itself. The pages read figures only through the metrics
/// API with the token the user typed; nothing here knows about tokens or data. Each file is
/// loaded once, with its ETag and a gzip copy when that is smaller.
/// </summary>
public static class DashboardEndpoints
{
    private const string Prefix = "dashboard/";

    // Everything from the hub itself; ECharts sets inline styles on the elements it creates.
    private const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private static readonly Lazy<IReadOnlyDictionary<string, DashboardAsset>> Assets = new(Load);

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder app)
    {
        // HEAD too: uptime checks and link previews ask with it (Kestrel sends the headers, no body).
        app.MapMethods("/", ["GET", "HEAD"], (HttpContext c) => Serve(c, "index.html")).ExcludeFromDescription();
        app.MapMethods("/dashboard/{**path}", ["GET", "HEAD"], (HttpContext c, string path) => Serve(c, path)).ExcludeFromDescription();
        return app;
    }

    private static IResult Serve(HttpContext context, string path)
    {
        if (!Assets.Value.TryGetValue(path, out var asset))
        {
            return Results.NotFound();
        }
        var response = context.Response;
        response.Headers.ETag = asset.ETag;
        response.Headers.CacheControl = "no-cache";
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers["Referrer-Policy"] = "no-referrer";
        response.Headers.Vary = "Accept-Encoding";
        if (asset.ContentType.StartsWith("text/html", StringComparison.Ordinal))
        {
            response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        }
        if (context.Request.Headers.IfNoneMatch.ToString() == asset.ETag)
        {
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }
        if (asset.Gzip is { } gzip && context.Request.Headers.AcceptEncoding.ToString().Contains("gzip", StringComparison.OrdinalIgnoreCase))
        {
            response.Headers.ContentEncoding = "gzip";
            return Results.Bytes(gzip, asset.ContentType);
        }
        return Results.Bytes(asset.Content, asset.ContentType);
    }

    private static Dictionary<string, DashboardAsset> Load()
    {
        var assembly = typeof(DashboardEndpoints).Assembly;
        var assets = new Dictionary<string, DashboardAsset>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            var content = Read(assembly, name);
            var etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(content).AsSpan(0, 12)) + "\"";
            var type = ContentType(name);
            var gzip = type.StartsWith("image/png", StringComparison.Ordinal) ? null : Compress(content);
            assets[name[Prefix.Length..]] = new DashboardAsset(content, gzip is not null && gzip.Length < content.Length * 0.9 ? gzip : null, type, etag);
        }
        return assets;
    }

    private static byte[] Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static byte[] Compress(byte[] content)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal))
        {
            gzip.Write(content);
        }
        return output.ToArray();
    }

    private static string ContentType(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".png" => "image/png",
        ".json" => "application/json",
        ".md" or ".txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    };
}
