using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Atalaya.Tests.Connectors;

/// <summary>
/// App Store Connect's <c>GET /v1/salesReports</c> as documented: filter[frequency], [reportType],
/// [reportSubType], [vendorNumber], [reportDate], [version]; a bearer ES256 JWT whose header has
/// kid and whose claims are iss, iat, exp (at most 20 minutes) and aud appstoreconnect-v1,
/// verified with the key's public half; a gzip'd tab-separated report (application/a-gzip) with
/// the Sales Summary columns; 404 NOT_FOUND for a day without sales; errors as {errors: [...]}.
/// </summary>
public sealed class FakeAppStore : IAsyncDisposable
{
    public static readonly string[] Columns =
    [
        "Provider", "Provider Country", "SKU", "Developer", "Title", "Version", "Product Type Identifier", "Units", "Developer Proceeds",
        "Begin Date", "End Date", "Customer Currency", "Country Code", "Currency of Proceeds", "Apple Identifier", "Customer Price",
        "Promo Code", "Parent Identifier", "Subscription", "Period", "Category", "CMB", "Device", "Supported Platforms", "Proceeds Reason",
        "Preserved Pricing", "Client", "Order Type",
    ];

    private FakeAppStore(LoopbackServer server, ECDsa key)
    {
        Server = server;
        Key = key;
    }

    public LoopbackServer Server { get; }

    public ECDsa Key { get; }

    public string KeyId => "2X9R4HXF34";

    public string IssuerId => "57246542-96fe-1a63-e053-0824d011072a";

    public string VendorNumber => "85123456";

    /// <summary>Report rows per day: Apple Identifier, product type, units, country.</summary>
    public Dictionary<DateOnly, List<(string AppleId, string Type, int Units, string Country)>> Sales { get; } = [];

    /// <summary>When set, the report's header lacks this column (a changed report version).</summary>
    public string? DroppedColumn { get; set; }

    public static async Task<FakeAppStore> StartAsync()
    {
        FakeAppStore? fake = null;
        var server = await LoopbackServer.StartAsync((app, _) => app.MapGet("/v1/salesReports", (HttpContext c) => fake!.ReportAsync(c)));
        fake = new FakeAppStore(server, ECDsa.Create(ECCurve.NamedCurves.nistP256));
        return fake;
    }

    public string P8() => Key.ExportPkcs8PrivateKeyPem();

    public static string Errors(int status, string code, string detail) =>
        JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["errors"] = new[] { new Dictionary<string, string> { ["id"] = Guid.NewGuid().ToString(), ["status"] = status.ToString(CultureInfo.InvariantCulture), ["code"] = code, ["title"] = code, ["detail"] = detail } },
        });

    private async Task ReportAsync(HttpContext context)
    {
        if (await Server.FaultAsync("report", context))
        {
            return;
        }
        if (!Authorized(context.Request.Headers.Authorization.ToString()))
        {
            await Answer(context, 401, Errors(401, "NOT_AUTHORIZED", "Provide a properly configured and signed bearer token, and make sure that it has not expired."));
            return;
        }
        var q = context.Request.Query;
        if (q["filter[frequency]"] != "DAILY" || q["filter[reportType]"] != "SALES" || q["filter[reportSubType]"] != "SUMMARY"
            || q["filter[vendorNumber]"] != VendorNumber || q["filter[version]"] != "1_1"
            || !DateOnly.TryParseExact(q["filter[reportDate]"].ToString(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            await Answer(context, 400, Errors(400, "PARAMETER_ERROR.INVALID", "A parameter has an invalid value"));
            return;
        }
        if (!Sales.TryGetValue(day, out var rows) || rows.Count == 0)
        {
            await Answer(context, 404, Errors(404, "NOT_FOUND", "There were no sales for the date specified."));
            return;
        }
        var header = Columns.Where(c => c != DroppedColumn).ToArray();
        var text = new StringBuilder(string.Join('\t', header)).Append('\n');
        foreach (var (appleId, type, units, country) in rows)
        {
            var values = new Dictionary<string, string>
            {
                ["Provider"] = "APPLE",
                ["Provider Country"] = "US",
                ["SKU"] = "sku-" + appleId,
                ["Developer"] = "Atalaya Test",
                ["Title"] = "App " + appleId,
                ["Version"] = "1.0",
                ["Product Type Identifier"] = type,
                ["Units"] = units.ToString(CultureInfo.InvariantCulture),
                ["Developer Proceeds"] = "0",
                ["Begin Date"] = day.ToString("MM/dd/yyyy", CultureInfo.InvariantCulture),
                ["End Date"] = day.ToString("MM/dd/yyyy", CultureInfo.InvariantCulture),
                ["Customer Currency"] = "USD",
                ["Country Code"] = country,
                ["Currency of Proceeds"] = "USD",
                ["Apple Identifier"] = appleId,
                ["Customer Price"] = "0",
                ["Device"] = "iPhone",
                ["Supported Platforms"] = "iOS",
            };
            text.Append(string.Join('\t', header.Select(c => values.GetValueOrDefault(c, "")))).Append('\n');
        }
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(Encoding.UTF8.GetBytes(text.ToString()));
        }
        context.Response.ContentType = "application/a-gzip";
        await context.Response.Body.WriteAsync(buffer.ToArray());
    }

    private bool Authorized(string authorization)
    {
        if (!authorization.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            return false;
        }
        var parts = authorization["Bearer ".Length..].Split('.');
        if (parts.Length != 3 || !Key.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), FakeGa4.FromBase64Url(parts[2]), HashAlgorithmName.SHA256))
        {
            return false;
        }
        using var header = JsonDocument.Parse(FakeGa4.FromBase64Url(parts[0]));
        using var claims = JsonDocument.Parse(FakeGa4.FromBase64Url(parts[1]));
        var c = claims.RootElement;
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        return header.RootElement.GetProperty("alg").GetString() == "ES256" && header.RootElement.GetProperty("kid").GetString() == KeyId
            && c.GetProperty("iss").GetString() == IssuerId && c.GetProperty("aud").GetString() == "appstoreconnect-v1"
            && c.GetProperty("exp").GetInt64() > now && c.GetProperty("exp").GetInt64() - c.GetProperty("iat").GetInt64() <= 1200;
    }

    private static async Task Answer(HttpContext context, int status, string json)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(json);
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Key.Dispose();
    }
}
