using System.Text.Json;

namespace Atalaya.Engine.Connectors;

/// <summary>An app a provider account reports on: the app_id and platform its rows get.</summary>
internal sealed record AppTarget(string AppId, string Platform);

/// <summary>
/// One unit of work: a provider account (GA4 property, Meta ad account, App Store vendor) over a
/// range of days, fetched page by page. A failed unit writes nothing and dead-letters each day.
/// </summary>
internal sealed record FetchUnit(string Account, DateOnly From, DateOnly To, IReadOnlyList<AppTarget> Apps)
{
    public IEnumerable<DateOnly> Days()
    {
        for (var d = From; d <= To; d = d.AddDays(1))
        {
            yield return d;
        }
    }
}

/// <summary>A provider's answer as received (kept in connector_pages before it is parsed).</summary>
public sealed record RawPage(int PageNo, int HttpStatus, string Request, string? ContentType, byte[] Body);

/// <summary>One value for fact_kpi_daily.</summary>
internal sealed record FactRow(DateOnly Day, string AppId, string Platform, string Metric, double Value)
{
    /// <summary>The currency of a money row (ad spend: the ad account's), kept as the provider sent it; null for counts.</summary>
    public string? Currency { get; init; }
}

/// <summary>What the pages of a unit say: the rows, and remarks (unknown fields, rows for apps not configured).</summary>
internal sealed record ParsedUnit(IReadOnlyList<FactRow> Rows, IReadOnlyList<string> Notes);

/// <summary>
/// A provider's client: which units a range splits into, how to fetch a unit's pages (each page
/// handed to <c>keep</c> as soon as it arrives, so a failure still keeps what was received) and
/// how to read rows from kept pages (the same code reprocesses dead letters without fetching).
/// Calls go through <see cref="ProviderHttp"/>, which retries transient failures.
/// </summary>
internal abstract class ProviderClient
{
    public abstract string Provider { get; }

    /// <summary>The units covering [from, to] for the apps asked for (all when null).</summary>
    public abstract IReadOnlyList<FetchUnit> Units(DateOnly from, DateOnly to, IReadOnlySet<string>? apps);

    /// <summary>Fetches every page of a unit; throws <see cref="ConnectorException"/> on any failure.</summary>
    public abstract Task FetchAsync(FetchUnit unit, Action<RawPage> keep, CancellationToken cancellationToken);

    /// <summary>Reads the rows of a unit from its pages; throws <see cref="ConnectorException"/> (schema) when they are not the documented shape.</summary>
    public abstract ParsedUnit Parse(FetchUnit unit, IReadOnlyList<RawPage> pages);

    /// <summary>The longest range one unit covers (App Store reports are per day).</summary>
    protected virtual int MaxDaysPerUnit => 31;

    protected IEnumerable<(DateOnly From, DateOnly To)> Chunks(DateOnly from, DateOnly to)
    {
        for (var start = from; start <= to; start = start.AddDays(MaxDaysPerUnit))
        {
            var end = start.AddDays(MaxDaysPerUnit - 1);
            yield return (start, end < to ? end : to);
        }
    }

    /// <summary>activeUsers → active_users; already snake_case stays.</summary>
    public static string SnakeCase(string name)
    {
        var builder = new System.Text.StringBuilder(name.Length + 4);
        foreach (var c in name)
        {
            if (char.IsUpper(c))
            {
                if (builder.Length > 0)
                {
                    builder.Append('_');
                }
                builder.Append(char.ToLowerInvariant(c));
            }
            else
            {
                builder.Append(c);
            }
        }
        return builder.ToString();
    }

    /// <summary>Parses a page as JSON, or fails as schema (garbage, HTML from a proxy, a cut body).</summary>
    protected JsonDocument Json(RawPage page)
    {
        try
        {
            return JsonDocument.Parse(page.Body);
        }
        catch (JsonException e)
        {
            throw new ConnectorException(ErrorClass.Schema, $"{Provider} answered page {page.PageNo} with something that is not JSON ({Preview(page.Body)}): {e.Message}");
        }
    }

    /// <summary>The start of a body for a message, printable characters only.</summary>
    public static string Preview(byte[] body)
    {
        var text = System.Text.Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 60));
        return "'" + new string([.. text.Select(c => char.IsControl(c) ? ' ' : c)]) + (body.Length > 60 ? "…'" : "'");
    }

    /// <summary>A member of an object, or a schema failure naming it.</summary>
    protected JsonElement Required(JsonElement element, string name, string where)
    {
        if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out var value))
        {
            throw new ConnectorException(ErrorClass.Schema, $"{Provider}: {where} has no '{name}'; the answer's shape changed (see connector_pages)");
        }
        return value;
    }

    /// <summary>A number the provider sends as a JSON string or number, or a schema failure.</summary>
    protected double Number(JsonElement value, string where)
    {
        if (value.ValueKind == JsonValueKind.Number)
        {
            return value.GetDouble();
        }
        if (value.ValueKind == JsonValueKind.String
            && double.TryParse(value.GetString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var number)
            && double.IsFinite(number))
        {
            return number;
        }
        throw new ConnectorException(ErrorClass.Schema, $"{Provider}: {where} is {value.GetRawText()}, not a number");
    }

    /// <summary>Members of an object outside the documented ones (reported, never fatal).</summary>
    protected static IEnumerable<string> Unknown(JsonElement element, IReadOnlySet<string> known) =>
        element.ValueKind == JsonValueKind.Object ? element.EnumerateObject().Select(p => p.Name).Where(n => !known.Contains(n)) : [];
}
