using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Atalaya.Engine.Access;

namespace Atalaya.Engine.Reports;

/// <summary>Whose figures a report holds: the platform's, one vendor's store, or one country.</summary>
public enum ReportScopeKind
{
    All,
    Store,
    Country,
}

/// <summary>
/// The scope of a report. It becomes the <see cref="AccessScope"/> of a vendor token for that store
/// or of a country lead for that country, and the report's figures are asked through it, exactly as
/// the API asks for that token: a vendor's report cannot hold another store's figures because the
/// KPI engine never reads them.
/// </summary>
public sealed partial record ReportScope(ReportScopeKind Kind, string Value)
{
    public static readonly ReportScope All = new(ReportScopeKind.All, "");

    public static ReportScope Store(string storeId) => new(ReportScopeKind.Store, storeId);

    public static ReportScope Country(string country) => new(ReportScopeKind.Country, country);

    public AccessScope Access => Kind switch
    {
        ReportScopeKind.Store => new AccessScope([], [], [], [Value]),
        ReportScopeKind.Country => new AccessScope([Value], [], [], []),
        _ => AccessScope.Everything,
    };

    /// <summary>The CSV's <c>scope</c> column and the API's: <c>all</c>, <c>store:mx-003</c>, <c>country:MX</c>.</summary>
    public string Label => Kind switch
    {
        ReportScopeKind.Store => "store:" + Value,
        ReportScopeKind.Country => "country:" + Value,
        _ => "all",
    };

    public string KindName => Kind switch
    {
        ReportScopeKind.Store => "store",
        ReportScopeKind.Country => "country",
        _ => "all",
    };

    /// <summary>
    /// The <c>[-scope]</c> part of a file name: empty for the platform, <c>-store-ID</c> or
    /// <c>-country-CC</c>. A store id with characters unsafe in a file name is cleaned and given a
    /// short hash of the original, so two ids never share a file.
    /// </summary>
    public string FileSuffix => Kind switch
    {
        ReportScopeKind.All => "",
        ReportScopeKind.Country => "-country-" + Value,
        _ => "-store-" + SafeName(Value),
    };

    public static ReportScope FromStored(string kind, string value) => kind switch
    {
        "store" => Store(value),
        "country" => Country(value),
        _ => All,
    };

    private static string SafeName(string value)
    {
        if (SafeId().IsMatch(value))
        {
            return value;
        }
        var cleaned = UnsafeChars().Replace(value, "_");
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)))[..8];
        return $"{cleaned[..Math.Min(cleaned.Length, 48)]}_{hash}";
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex SafeId();

    [GeneratedRegex("[^A-Za-z0-9._-]")]
    private static partial Regex UnsafeChars();
}
