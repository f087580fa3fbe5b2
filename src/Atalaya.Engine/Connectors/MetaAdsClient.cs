using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Atalaya.Engine.Config;

namespace Atalaya.Engine.Connectors;

/// <summary>
/// Meta Marketing API insights, <c>GET /{version}/act_{id}/insights</c> at campaign level with
/// one row per campaign and day (<c>time_increment=1</c>), followed page by page with
/// <c>paging.cursors.after</c> while <c>paging.next</c> is present. Campaign rows are summed per
/// day into spend, impressions, clicks and installs (<c>actions</c> of type mobile_app_install).
/// Spend keeps the account's currency (the rows' account_currency, else the configured one); it is
/// converted to the reporting currency when read (<see cref="MarketingKpis"/>).
/// The access token travels in the Authorization header, never in a URL that could be kept.
/// Graph API errors are classified by code: 190 (expired or invalid token) and permission codes
/// are auth, 4/17/32/613 and the 80000-range business-use-case limits are quota, 1 and 2 transient.
/// </summary>
internal sealed class MetaAdsClient(MetaAdsSettings settings, ProviderHttp http) : ProviderClient
{
    public const string Fields = "campaign_id,spend,impressions,clicks,actions,date_start,date_stop,account_currency";

    private const int MaxPages = 1000;

    private static readonly HashSet<string> KnownRoot = new(StringComparer.Ordinal) { "data", "paging", "summary" };

    private static readonly HashSet<string> KnownRow = new(StringComparer.Ordinal)
    {
        "campaign_id", "campaign_name", "spend", "impressions", "clicks", "actions", "date_start", "date_stop", "account_id", "account_currency",
    };

    private string? _token;

    // The account_currency of the unit being parsed (one account per unit).
    private string? _currency;

    public override string Provider => ConnectorSources.MetaAds;

    public override IReadOnlyList<FetchUnit> Units(DateOnly from, DateOnly to, IReadOnlySet<string>? apps) =>
        [.. settings.AdAccounts.Where(a => apps is null || apps.Contains(a.AppId))
            .SelectMany(a => Chunks(from, to).Select(c => new FetchUnit(a.AccountId, c.From, c.To, [new AppTarget(a.AppId, a.Platform)])))];

    public override async Task FetchAsync(FetchUnit unit, Action<RawPage> keep, CancellationToken cancellationToken)
    {
        var token = _token ??= Token();
        string? after = null;
        for (var pageNo = 0; ; pageNo++)
        {
            if (pageNo == MaxPages)
            {
                throw new ConnectorException(ErrorClass.Schema, $"meta_ads: account {unit.Account} kept paging past {MaxPages} pages");
            }
            var url = Url(unit, after);
            var answer = await http.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, url)
            {
                Headers = { Authorization = new AuthenticationHeaderValue("Bearer", token) },
            }, cancellationToken).ConfigureAwait(false);
            var page = answer.Page(pageNo);
            keep(page);
            if (!answer.Ok)
            {
                throw Failure(answer, unit.Account);
            }
            after = ReadPage(unit, page, null, null);
            if (after is null)
            {
                return;
            }
        }
    }

    public override ParsedUnit Parse(FetchUnit unit, IReadOnlyList<RawPage> pages)
    {
        var days = new SortedDictionary<DateOnly, double[]>();
        var notes = new List<string>();
        _currency = null;
        foreach (var page in pages.OrderBy(p => p.PageNo))
        {
            if (page.HttpStatus is < 200 or >= 300)
            {
                throw new ConnectorException(ErrorClass.Schema, $"meta_ads: page {page.PageNo} of account {unit.Account} is an error answer (HTTP {page.HttpStatus})");
            }
            ReadPage(unit, page, days, notes);
        }
        var app = unit.Apps[0];
        var rows = new List<FactRow>();
        foreach (var (day, sums) in days)
        {
            var currency = _currency ?? settings.AdAccounts.FirstOrDefault(a => a.AccountId == unit.Account)?.Currency;
            rows.Add(new FactRow(day, app.AppId, app.Platform, "spend", Math.Round(sums[0], 2)) { Currency = string.IsNullOrEmpty(currency) ? null : currency });
            rows.Add(new FactRow(day, app.AppId, app.Platform, "impressions", sums[1]));
            rows.Add(new FactRow(day, app.AppId, app.Platform, "clicks", sums[2]));
            rows.Add(new FactRow(day, app.AppId, app.Platform, "installs", sums[3]));
        }
        return new ParsedUnit(rows, notes);
    }

    /// <summary>Adds a page's rows to <paramref name="days"/> (when given); returns the cursor of the next page, or null on the last.</summary>
    private string? ReadPage(FetchUnit unit, RawPage page, SortedDictionary<DateOnly, double[]>? days, List<string>? notes)
    {
        using var document = Json(page);
        var root = document.RootElement;
        var where = $"insights of account {unit.Account} (page {page.PageNo})";
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new ConnectorException(ErrorClass.Schema, $"meta_ads: {where} is {root.ValueKind}, not an object");
        }
        foreach (var name in Unknown(root, KnownRoot))
        {
            notes?.Add($"meta_ads account {unit.Account} page {page.PageNo}: ignored unknown field '{name}'");
        }
        var data = Required(root, "data", where);
        if (data.ValueKind != JsonValueKind.Array)
        {
            throw new ConnectorException(ErrorClass.Schema, $"meta_ads: {where} has 'data' that is not an array");
        }
        foreach (var row in data.EnumerateArray())
        {
            var dayText = Required(row, "date_start", where + " row").GetString();
            if (!DateOnly.TryParseExact(dayText, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day) || day < unit.From || day > unit.To)
            {
                throw new ConnectorException(ErrorClass.Schema, $"meta_ads: {where} has a row for date_start '{dayText}', outside {unit.From:yyyy-MM-dd}..{unit.To:yyyy-MM-dd}");
            }
            foreach (var name in Unknown(row, KnownRow).Distinct())
            {
                notes?.Add($"meta_ads account {unit.Account}: ignored unknown row field '{name}'");
            }
            var spend = Number(Required(row, "spend", where + " row"), $"spend of {dayText} in {where}");
            if (days is not null && row.TryGetProperty("account_currency", out var cur) && cur.ValueKind == JsonValueKind.String)
            {
                var code = cur.GetString()!;
                if (!System.Text.RegularExpressions.Regex.IsMatch(code, "^[A-Z]{3}$") || (_currency is not null && _currency != code))
                {
                    throw new ConnectorException(ErrorClass.Schema, $"meta_ads: {where} has account_currency '{code}'" + (_currency is null ? ", not an ISO 4217 code" : $" after '{_currency}'"));
                }
                _currency = code;
            }
            var impressions = Number(Required(row, "impressions", where + " row"), $"impressions of {dayText} in {where}");
            var clicks = row.TryGetProperty("clicks", out var c) ? Number(c, $"clicks of {dayText} in {where}") : 0;
            double installs = 0;
            if (row.TryGetProperty("actions", out var actions))
            {
                if (actions.ValueKind != JsonValueKind.Array)
                {
                    throw new ConnectorException(ErrorClass.Schema, $"meta_ads: {where} has 'actions' that is not an array");
                }
                foreach (var action in actions.EnumerateArray())
                {
                    if (Required(action, "action_type", where + " action").GetString() == "mobile_app_install")
                    {
                        installs += Number(Required(action, "value", where + " action"), $"installs of {dayText} in {where}");
                    }
                }
            }
            if (days is not null)
            {
                if (!days.TryGetValue(day, out var sums))
                {
                    days[day] = sums = new double[4];
                }
                sums[0] += spend;
                sums[1] += impressions;
                sums[2] += clicks;
                sums[3] += installs;
            }
        }
        if (!root.TryGetProperty("paging", out var paging) || !paging.TryGetProperty("next", out _))
        {
            return null;
        }
        var after = paging.TryGetProperty("cursors", out var cursors) && cursors.TryGetProperty("after", out var a) ? a.GetString() : null;
        return string.IsNullOrEmpty(after)
            ? throw new ConnectorException(ErrorClass.Schema, $"meta_ads: {where} has paging.next but no paging.cursors.after")
            : after;
    }

    private string Url(FetchUnit unit, string? after)
    {
        var range = $"{{\"since\":\"{unit.From:yyyy-MM-dd}\",\"until\":\"{unit.To:yyyy-MM-dd}\"}}";
        var url = $"{settings.BaseUrl.TrimEnd('/')}/{settings.ApiVersion}/act_{Uri.EscapeDataString(unit.Account)}/insights"
            + $"?level=campaign&time_increment=1&time_range={Uri.EscapeDataString(range)}&fields={Uri.EscapeDataString(Fields)}&limit={settings.PageSize}";
        return after is null ? url : url + "&after=" + Uri.EscapeDataString(after);
    }

    /// <summary>A system-user access token: the file holds the token, or JSON with access_token.</summary>
    private string Token()
    {
        var text = Credentials.Read(settings.CredentialsFileEnv, "a file holding the Meta system-user access token").Trim();
        if (text.StartsWith('{'))
        {
            try
            {
                using var json = JsonDocument.Parse(text);
                text = json.RootElement.GetProperty("access_token").GetString() ?? "";
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                text = "";
            }
        }
        return text.Length > 0 && !text.Any(char.IsWhiteSpace) ? text
            : throw new ConnectorException(ErrorClass.Auth, $"the file named by {settings.CredentialsFileEnv} holds no access token (the token alone, or JSON with access_token)");
    }

    private ConnectorException Failure(ProviderAnswer answer, string account)
    {
        long code = 0, subcode = 0;
        var (type, message, trace) = ("", "", "");
        try
        {
            using var json = JsonDocument.Parse(answer.Body);
            if (json.RootElement.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.Object)
            {
                code = e.TryGetProperty("code", out var c) && c.TryGetInt64(out var cv) ? cv : 0;
                subcode = e.TryGetProperty("error_subcode", out var s) && s.TryGetInt64(out var sv) ? sv : 0;
                type = e.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";
                message = e.TryGetProperty("message", out var m) ? m.GetString() ?? "" : "";
                trace = e.TryGetProperty("fbtrace_id", out var f) ? f.GetString() ?? "" : "";
            }
        }
        catch (JsonException)
        {
        }
        if (message.Length > 200)
        {
            message = message[..200] + "…";
        }
        var said = code == 0 ? $"HTTP {answer.Status}"
            : $"HTTP {answer.Status}, {type} code {code}{(subcode != 0 ? $"/{subcode}" : "")}: {message}{(trace.Length > 0 ? $" (fbtrace_id {trace})" : "")}";
        return code switch
        {
            190 or 102 or 10 or (>= 200 and <= 299) => new ConnectorException(ErrorClass.Auth,
                $"meta_ads: account {account}: the access token is expired, revoked or lacks ads_read ({said}); generate a new system-user token"),
            4 or 17 or 32 or 613 or (>= 80000 and <= 80099) => new ConnectorException(ErrorClass.Quota,
                $"meta_ads: account {account}: rate limit reached ({said}); it resets within the hour"),
            1 or 2 => new ConnectorException(ErrorClass.Transient, $"meta_ads: account {account}: temporary error ({said})"),
            _ => answer.Status switch
            {
                401 or 403 => new ConnectorException(ErrorClass.Auth, $"meta_ads: account {account}: refused ({said})"),
                429 or >= 500 => new ConnectorException(ErrorClass.Transient, $"meta_ads: account {account}: still failing after the retries ({said})"),
                _ => new ConnectorException(ErrorClass.Schema, $"meta_ads: account {account}: the request was refused ({said}); a field may have been removed from the API version"),
            },
        };
    }
}
