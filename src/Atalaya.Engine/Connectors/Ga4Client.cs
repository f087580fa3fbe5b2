using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Atalaya.Engine.Config;

namespace Atalaya.Engine.Connectors;

/// <summary>
/// GA4 Data API v1beta <c>properties/{id}:runReport</c>, one property and a range of days per
/// unit, the <c>date</c> dimension and the configured metrics, paged by limit/offset until
/// <c>rowCount</c> rows came. Authorised with an OAuth access token obtained by exchanging a
/// service-account JWT (RS256, grant type jwt-bearer) at the token URL; a 401 on a report drops
/// the token and asks for a new one once (access tokens expire after an hour).
/// </summary>
internal sealed class Ga4Client(Ga4Settings settings, ProviderHttp http) : ProviderClient
{
    public const string Scope = "https://www.googleapis.com/auth/analytics.readonly";

    private const int MaxPages = 1000;

    private static readonly HashSet<string> KnownMembers = new(StringComparer.Ordinal)
    {
        "dimensionHeaders", "metricHeaders", "rows", "totals", "maximums", "minimums", "rowCount", "metadata", "propertyQuota", "kind",
    };

    private string? _token;

    public override string Provider => ConnectorSources.Ga4;

    public override IReadOnlyList<FetchUnit> Units(DateOnly from, DateOnly to, IReadOnlySet<string>? apps) =>
        [.. settings.Properties.Where(p => apps is null || apps.Contains(p.AppId))
            .SelectMany(p => Chunks(from, to).Select(c => new FetchUnit(p.PropertyId, c.From, c.To, [new AppTarget(p.AppId, p.Platform)])))];

    public override async Task FetchAsync(FetchUnit unit, Action<RawPage> keep, CancellationToken cancellationToken)
    {
        long offset = 0;
        for (var pageNo = 0; ; pageNo++)
        {
            if (pageNo == MaxPages)
            {
                throw new ConnectorException(ErrorClass.Schema, $"ga4: property {unit.Account} kept paging past {MaxPages} pages; rowCount does not match the rows sent");
            }
            var answer = await Report(unit, offset, cancellationToken).ConfigureAwait(false);
            if (answer.Status == 401 && _token is not null)
            {
                // The access token expired during the run: one new token, one more try.
                _token = null;
                answer = await Report(unit, offset, cancellationToken).ConfigureAwait(false);
            }
            var page = answer.Page(pageNo);
            keep(page);
            if (!answer.Ok)
            {
                throw Failure(answer, $"property {unit.Account}");
            }
            var (rows, rowCount) = ReadPage(unit, page, []);
            offset += rows;
            if (rows == 0 || offset >= rowCount)
            {
                return;
            }
        }
    }

    public override ParsedUnit Parse(FetchUnit unit, IReadOnlyList<RawPage> pages)
    {
        var facts = new List<FactRow>();
        var notes = new List<string>();
        foreach (var page in pages.OrderBy(p => p.PageNo))
        {
            if (page.HttpStatus is < 200 or >= 300)
            {
                throw new ConnectorException(ErrorClass.Schema, $"ga4: page {page.PageNo} of property {unit.Account} is an error answer (HTTP {page.HttpStatus})");
            }
            ReadPage(unit, page, facts, notes);
        }
        var duplicate = facts.GroupBy(f => (f.Day, f.Metric)).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ConnectorException(ErrorClass.Schema, $"ga4: property {unit.Account} sent {duplicate.Key.Day:yyyy-MM-dd} more than once across pages");
        }
        return new ParsedUnit(facts, notes);
    }

    private (int Rows, long RowCount) ReadPage(FetchUnit unit, RawPage page, List<FactRow> facts, List<string>? notes = null)
    {
        using var document = Json(page);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new ConnectorException(ErrorClass.Schema, $"ga4: page {page.PageNo} of property {unit.Account} is {root.ValueKind}, not a report object");
        }
        foreach (var name in Unknown(root, KnownMembers))
        {
            notes?.Add($"ga4 property {unit.Account} page {page.PageNo}: ignored unknown field '{name}'");
        }
        var where = $"the report of property {unit.Account} (page {page.PageNo})";
        var dimensions = Names(Required(root, "dimensionHeaders", where), where);
        if (dimensions is not ["date"])
        {
            throw new ConnectorException(ErrorClass.Schema, $"ga4: {where} has dimensions [{string.Join(", ", dimensions)}], asked for [date]");
        }
        var metrics = Names(Required(root, "metricHeaders", where), where);
        if (!metrics.SequenceEqual(settings.Metrics, StringComparer.Ordinal))
        {
            throw new ConnectorException(ErrorClass.Schema,
                $"ga4: {where} has metrics [{string.Join(", ", metrics)}], asked for [{string.Join(", ", settings.Metrics)}]; the API or the metric names changed");
        }
        var rows = root.TryGetProperty("rows", out var r) ? r : default;
        if (rows.ValueKind is not (JsonValueKind.Array or JsonValueKind.Undefined))
        {
            throw new ConnectorException(ErrorClass.Schema, $"ga4: {where} has 'rows' that is not an array");
        }
        var count = 0;
        var app = unit.Apps[0];
        if (rows.ValueKind == JsonValueKind.Array)
        {
            foreach (var row in rows.EnumerateArray())
            {
                var dimensionValues = Required(row, "dimensionValues", where + " row");
                var dayText = dimensionValues.ValueKind == JsonValueKind.Array && dimensionValues.GetArrayLength() == 1
                    ? Required(dimensionValues[0], "value", where + " row").GetString() : null;
                if (!DateOnly.TryParseExact(dayText, "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day) || day < unit.From || day > unit.To)
                {
                    throw new ConnectorException(ErrorClass.Schema, $"ga4: {where} has a row for date '{dayText}', outside {unit.From:yyyy-MM-dd}..{unit.To:yyyy-MM-dd}");
                }
                var values = Required(row, "metricValues", where + " row");
                if (values.ValueKind != JsonValueKind.Array || values.GetArrayLength() != metrics.Count)
                {
                    throw new ConnectorException(ErrorClass.Schema, $"ga4: {where} has a row of {dayText} without one value per metric");
                }
                for (var i = 0; i < metrics.Count; i++)
                {
                    facts.Add(new FactRow(day, app.AppId, app.Platform, SnakeCase(metrics[i]),
                        Number(Required(values[i], "value", where), $"{metrics[i]} of {dayText} in {where}")));
                }
                count++;
            }
        }
        long rowCount = count;
        if (root.TryGetProperty("rowCount", out var rc))
        {
            var total = Number(rc, "rowCount of " + where);
            if (total < 0 || total != Math.Floor(total))
            {
                throw new ConnectorException(ErrorClass.Schema, $"ga4: {where} has rowCount {rc.GetRawText()}");
            }
            rowCount = (long)total;
        }
        return (count, rowCount);
    }

    private List<string> Names(JsonElement headers, string where)
    {
        if (headers.ValueKind != JsonValueKind.Array)
        {
            throw new ConnectorException(ErrorClass.Schema, $"ga4: {where} has headers that are not an array");
        }
        return [.. headers.EnumerateArray().Select(h => Required(h, "name", where).GetString() ?? "")];
    }

    private async Task<ProviderAnswer> Report(FetchUnit unit, long offset, CancellationToken cancellationToken)
    {
        var token = _token ?? await Token(cancellationToken).ConfigureAwait(false);
        var body = Body(unit, offset);
        return await http.SendAsync(() => new HttpRequestMessage(HttpMethod.Post,
            $"{settings.BaseUrl.TrimEnd('/')}/v1beta/properties/{Uri.EscapeDataString(unit.Account)}:runReport")
        {
            Headers = { Authorization = new AuthenticationHeaderValue("Bearer", token) },
            Content = new ByteArrayContent(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
        }, cancellationToken).ConfigureAwait(false);
    }

    private byte[] Body(FetchUnit unit, long offset)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("dateRanges");
            w.WriteStartObject();
            w.WriteString("startDate", unit.From.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            w.WriteString("endDate", unit.To.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteStartArray("dimensions");
            w.WriteStartObject();
            w.WriteString("name", "date");
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteStartArray("metrics");
            foreach (var metric in settings.Metrics)
            {
                w.WriteStartObject();
                w.WriteString("name", metric);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNumber("offset", offset);
            w.WriteNumber("limit", settings.PageSize);
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>Service-account JWT → access token (RFC 7523 jwt-bearer grant).</summary>
    private async Task<string> Token(CancellationToken cancellationToken)
    {
        var file = Credentials.Read(settings.CredentialsFileEnv, "a Google service-account key file (JSON)");
        string email, pem, keyId;
        try
        {
            using var key = JsonDocument.Parse(file);
            email = key.RootElement.GetProperty("client_email").GetString() ?? "";
            pem = key.RootElement.GetProperty("private_key").GetString() ?? "";
            keyId = key.RootElement.TryGetProperty("private_key_id", out var id) ? id.GetString() ?? "" : "";
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new ConnectorException(ErrorClass.Auth,
                $"the file named by {settings.CredentialsFileEnv} is not a service-account key (JSON with client_email and private_key); download a new key in the Google Cloud console");
        }
        using var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(pem);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            throw new ConnectorException(ErrorClass.Auth, $"the private_key of the service-account key named by {settings.CredentialsFileEnv} is not a PEM RSA key");
        }
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var assertion = Credentials.Jwt(h =>
        {
            h.WriteString("alg", "RS256");
            h.WriteString("typ", "JWT");
            if (keyId.Length > 0)
            {
                h.WriteString("kid", keyId);
            }
        }, p =>
        {
            p.WriteString("iss", email);
            p.WriteString("scope", Scope);
            p.WriteString("aud", settings.TokenUrl);
            p.WriteNumber("iat", now);
            p.WriteNumber("exp", now + 3600);
        }, Credentials.Rs256(rsa));
        var answer = await http.SendAsync(() => new HttpRequestMessage(HttpMethod.Post, settings.TokenUrl)
        {
            Content = new FormUrlEncodedContent([
                new("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                new("assertion", assertion),
            ]),
        }, cancellationToken).ConfigureAwait(false);
        if (!answer.Ok)
        {
            // The token answer is never kept: on success it holds the access token.
            if (answer.Status is 400 or 401 or 403)
            {
                throw new ConnectorException(ErrorClass.Auth,
                    $"ga4: the token endpoint refused the service-account key (HTTP {answer.Status}, {OAuthError(answer.Body)}); the key may be revoked or deleted: create a new key and point {settings.CredentialsFileEnv} at it");
            }
            throw Failure(answer, "token endpoint");
        }
        try
        {
            using var token = JsonDocument.Parse(answer.Body);
            _token = token.RootElement.GetProperty("access_token").GetString() is { Length: > 0 } t ? t : throw new KeyNotFoundException();
            return _token;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new ConnectorException(ErrorClass.Schema, "ga4: the token endpoint answered without an access_token");
        }
    }

    private static string OAuthError(byte[] body)
    {
        try
        {
            using var error = JsonDocument.Parse(body);
            var code = error.RootElement.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : "no error code";
            var description = error.RootElement.TryGetProperty("error_description", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
            return description is null ? code! : $"{code}: {Truncate(description)}";
        }
        catch (JsonException)
        {
            return "no JSON error";
        }
    }

    /// <summary>Classifies a Google API error answer ({"error": {code, message, status}}).</summary>
    private ConnectorException Failure(ProviderAnswer answer, string what)
    {
        var (status, message) = ("", "");
        try
        {
            using var error = JsonDocument.Parse(answer.Body);
            if (error.RootElement.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.Object)
            {
                status = e.TryGetProperty("status", out var s) ? s.GetString() ?? "" : "";
                message = e.TryGetProperty("message", out var m) ? Truncate(m.GetString() ?? "") : "";
            }
        }
        catch (JsonException)
        {
        }
        var said = $"HTTP {answer.Status}{(status.Length > 0 ? " " + status : "")}{(message.Length > 0 ? ": " + message : "")}";
        return answer.Status switch
        {
            401 or 403 => new ConnectorException(ErrorClass.Auth,
                $"ga4: {what} refused the credentials ({said}); give the service account the Viewer role on the property (docs/connectors.md)"),
            429 when answer.RetryAfter is null && status == "RESOURCE_EXHAUSTED" => new ConnectorException(ErrorClass.Quota,
                $"ga4: {what} quota exhausted ({said}); GA4 property tokens reset hourly and daily"),
            429 or >= 500 => new ConnectorException(ErrorClass.Transient, $"ga4: {what} still failing after the retries ({said})"),
            _ => new ConnectorException(ErrorClass.Schema, $"ga4: {what} refused the request ({said}); a metric may have been renamed"),
        };
    }

    private static string Truncate(string text) => text.Length <= 200 ? text : text[..200] + "…";
}
