using System.Globalization;
using System.IO.Compression;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Atalaya.Engine.Config;

namespace Atalaya.Engine.Connectors;

/// <summary>
/// App Store Connect sales reports, <c>GET /v1/salesReports</c> with the DAILY SALES SUMMARY
/// filters for one vendor and one day, authorised by an ES256 JWT (kid = key id, iss = issuer id,
/// aud appstoreconnect-v1, 20 minutes) signed with the .p8 key. The answer is a gzip'd
/// tab-separated file with one row per product, country and price; units are summed per Apple
/// Identifier by product type: first downloads (1, 1F, 1T, F1, 1E, 1EP, 1EU) into installs,
/// updates (7, 7F, 7T, F7) into updates, in-app purchases (IA*, FI1) into in_app_purchases.
/// A day without sales is answered 404 NOT_FOUND: an empty day, not a failure.
/// </summary>
internal sealed class AppStoreClient(AppStoreSettings settings, ProviderHttp http) : ProviderClient
{
    private static readonly HashSet<string> Downloads = new(StringComparer.Ordinal) { "1", "1F", "1T", "F1", "1E", "1EP", "1EU" };
    private static readonly HashSet<string> Updates = new(StringComparer.Ordinal) { "7", "7F", "7T", "F7" };

    private string? _token;
    private long _tokenExpires;

    public override string Provider => ConnectorSources.AppStore;

    protected override int MaxDaysPerUnit => 1;

    public override IReadOnlyList<FetchUnit> Units(DateOnly from, DateOnly to, IReadOnlySet<string>? apps)
    {
        var targets = settings.Apps.Where(a => apps is null || apps.Contains(a.AppId)).Select(a => new AppTarget(a.AppId, a.Platform)).ToList();
        return targets.Count == 0 ? [] : [.. Chunks(from, to).Select(c => new FetchUnit(settings.VendorNumber, c.From, c.To, targets))];
    }

    public override async Task FetchAsync(FetchUnit unit, Action<RawPage> keep, CancellationToken cancellationToken)
    {
        var token = Token();
        var url = $"{settings.BaseUrl.TrimEnd('/')}/v1/salesReports?filter[frequency]=DAILY&filter[reportDate]={unit.From:yyyy-MM-dd}"
            + $"&filter[reportSubType]=SUMMARY&filter[reportType]=SALES&filter[vendorNumber]={Uri.EscapeDataString(unit.Account)}&filter[version]=1_1";
        var answer = await http.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, url)
        {
            Headers = { Authorization = new AuthenticationHeaderValue("Bearer", token), Accept = { new MediaTypeWithQualityHeaderValue("application/a-gzip") } },
        }, cancellationToken).ConfigureAwait(false);
        keep(answer.Page(0));
        if (!answer.Ok && !NoSales(answer.Status, answer.Body))
        {
            throw Failure(answer, unit);
        }
    }

    public override ParsedUnit Parse(FetchUnit unit, IReadOnlyList<RawPage> pages)
    {
        if (pages is not [var page])
        {
            throw new ConnectorException(ErrorClass.Schema, $"app_store: expected one report for {unit.From:yyyy-MM-dd}, found {pages.Count}");
        }
        if (NoSales(page.HttpStatus, page.Body))
        {
            return new ParsedUnit([], [$"app_store {unit.From:yyyy-MM-dd}: no sales reported (404 NOT_FOUND)"]);
        }
        if (page.HttpStatus is < 200 or >= 300)
        {
            throw new ConnectorException(ErrorClass.Schema, $"app_store: the report of {unit.From:yyyy-MM-dd} is an error answer (HTTP {page.HttpStatus})");
        }
        var lines = Lines(page.Body, unit);
        if (lines.Count == 0)
        {
            throw new ConnectorException(ErrorClass.Schema, $"app_store: the report of {unit.From:yyyy-MM-dd} is empty (no header line)");
        }
        var header = lines[0].Split('\t');
        int Column(string name)
        {
            var index = Array.IndexOf(header, name);
            return index >= 0 ? index
                : throw new ConnectorException(ErrorClass.Schema, $"app_store: the report of {unit.From:yyyy-MM-dd} has no column '{name}' (columns: {string.Join(", ", header.Take(30))})");
        }
        var (appleId, units, type, begin) = (Column("Apple Identifier"), Column("Units"), Column("Product Type Identifier"), Column("Begin Date"));
        var byApple = settings.Apps.Where(a => unit.Apps.Any(t => t.AppId == a.AppId)).ToDictionary(a => a.AppleId, StringComparer.Ordinal);
        var sums = new Dictionary<(string AppId, string Platform, string Metric), double>();
        foreach (var t in unit.Apps)
        {
            foreach (var metric in new[] { "installs", "updates", "in_app_purchases" })
            {
                sums[(t.AppId, t.Platform, metric)] = 0;
            }
        }
        var notes = new List<string>();
        var unknownApps = new SortedSet<string>(StringComparer.Ordinal);
        for (var i = 1; i < lines.Count; i++)
        {
            if (lines[i].Length == 0)
            {
                continue;
            }
            var cells = lines[i].Split('\t');
            if (cells.Length < header.Length)
            {
                throw new ConnectorException(ErrorClass.Schema, $"app_store: line {i + 1} of the report of {unit.From:yyyy-MM-dd} has {cells.Length} cells, the header {header.Length}");
            }
            if (!DateOnly.TryParseExact(cells[begin], "MM/dd/yyyy", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day) || day != unit.From)
            {
                throw new ConnectorException(ErrorClass.Schema, $"app_store: line {i + 1} of the report of {unit.From:yyyy-MM-dd} has Begin Date '{cells[begin]}'");
            }
            if (!double.TryParse(cells[units], NumberStyles.Float, CultureInfo.InvariantCulture, out var count) || !double.IsFinite(count))
            {
                throw new ConnectorException(ErrorClass.Schema, $"app_store: line {i + 1} of the report of {unit.From:yyyy-MM-dd} has Units '{cells[units]}'");
            }
            if (!byApple.TryGetValue(cells[appleId], out var app))
            {
                unknownApps.Add(cells[appleId]);
                continue;
            }
            var productType = cells[type];
            var metric = Downloads.Contains(productType) ? "installs"
                : Updates.Contains(productType) ? "updates"
                : productType.StartsWith("IA", StringComparison.Ordinal) || productType == "FI1" ? "in_app_purchases"
                : null;
            if (metric is null)
            {
                notes.Add($"app_store {unit.From:yyyy-MM-dd}: product type '{productType}' is not counted");
                continue;
            }
            sums[(app.AppId, app.Platform, metric)] += count;
        }
        if (unknownApps.Count > 0)
        {
            notes.Add($"app_store {unit.From:yyyy-MM-dd}: rows for Apple IDs not in connectors.app_store.apps were left out: {string.Join(", ", unknownApps)}");
        }
        return new ParsedUnit([.. sums.Select(s => new FactRow(unit.From, s.Key.AppId, s.Key.Platform, s.Key.Metric, s.Value))], [.. notes.Distinct()]);
    }

    private static List<string> Lines(byte[] body, FetchUnit unit)
    {
        try
        {
            using var gzip = new GZipStream(new MemoryStream(body), CompressionMode.Decompress);
            using var reader = new StreamReader(gzip, new UTF8Encoding(false, throwOnInvalidBytes: true));
            var lines = new List<string>();
            while (reader.ReadLine() is { } line)
            {
                lines.Add(line);
            }
            return lines;
        }
        catch (Exception e) when (e is InvalidDataException or DecoderFallbackException or IOException)
        {
            throw new ConnectorException(ErrorClass.Schema, $"app_store: the report of {unit.From:yyyy-MM-dd} is not gzip'd UTF-8 text ({Preview(body)}): {e.Message}");
        }
    }

    /// <summary>404 with the NOT_FOUND error code: Apple's way of saying there were no sales that day.</summary>
    private static bool NoSales(int status, byte[] body) => status == 404 && Errors(body).Any(e => e.Code == "NOT_FOUND");

    private static List<(string Status, string Code, string Detail)> Errors(byte[] body)
    {
        var errors = new List<(string, string, string)>();
        try
        {
            using var json = JsonDocument.Parse(body);
            if (json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("errors", out var list) && list.ValueKind == JsonValueKind.Array)
            {
                foreach (var e in list.EnumerateArray())
                {
                    string Text(string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
                    errors.Add((Text("status"), Text("code"), Text("detail")));
                }
            }
        }
        catch (JsonException)
        {
        }
        return errors;
    }

    private ConnectorException Failure(ProviderAnswer answer, FetchUnit unit)
    {
        var errors = Errors(answer.Body);
        var said = $"HTTP {answer.Status}" + (errors.Count > 0 ? $" {errors[0].Code}: {(errors[0].Detail.Length > 200 ? errors[0].Detail[..200] + "…" : errors[0].Detail)}" : "");
        return answer.Status switch
        {
            401 or 403 => new ConnectorException(ErrorClass.Auth,
                $"app_store: the API key was refused for {unit.From:yyyy-MM-dd} ({said}); check key_id, issuer_id and the .p8 file, and that the key has the Finance or Sales role"),
            429 or >= 500 => new ConnectorException(ErrorClass.Transient, $"app_store: the report of {unit.From:yyyy-MM-dd} still failing after the retries ({said})"),
            _ => new ConnectorException(ErrorClass.Schema, $"app_store: the report request for {unit.From:yyyy-MM-dd} was refused ({said}); the filters or version may have changed"),
        };
    }

    /// <summary>The ES256 token, reused until 2 minutes before it expires (Apple allows 20 minutes).</summary>
    private string Token()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (_token is not null && now < _tokenExpires - 120)
        {
            return _token;
        }
        var pem = Credentials.Read(settings.CredentialsFileEnv, "the App Store Connect API key (.p8 file)");
        using var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            throw new ConnectorException(ErrorClass.Auth, $"the file named by {settings.CredentialsFileEnv} is not an App Store Connect .p8 key (PEM EC private key)");
        }
        _tokenExpires = now + 1200;
        _token = Credentials.Jwt(h =>
        {
            h.WriteString("alg", "ES256");
            h.WriteString("kid", settings.KeyId);
            h.WriteString("typ", "JWT");
        }, p =>
        {
            p.WriteString("iss", settings.IssuerId);
            p.WriteNumber("iat", now);
            p.WriteNumber("exp", _tokenExpires);
            p.WriteString("aud", "appstoreconnect-v1");
        }, Credentials.Es256(key));
        return _token;
    }
}
