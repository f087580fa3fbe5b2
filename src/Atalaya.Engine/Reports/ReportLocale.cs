using System.Globalization;

namespace Atalaya.Engine.Reports;

/// <summary>
/// A recipient's language and formats (es-MX, es-CO, es-CL, sv-SE or en): the labels of
/// <see cref="ReportLabels"/> and the culture's numbers, money and dates. Money is shown in the
/// hub's reporting currency with its ISO code, placed where the culture places a currency.
/// </summary>
public sealed class ReportLocale
{
    public static readonly IReadOnlyList<string> Names = Config.EnvironmentConfig.ReportLocales;

    private readonly NumberFormatInfo _money;

    private ReportLocale(string name, string currency)
    {
        Name = name;
        // "en" is English with the ISO date order of the rest of the hub's output.
        Culture = CultureInfo.GetCultureInfo(name == "en" ? "en-US" : name);
        Labels = ReportLabels.For(name);
        Currency = currency;
        _money = (NumberFormatInfo)Culture.NumberFormat.Clone();
        _money.CurrencySymbol = currency;
        // An ISO code reads as a word: "USD 1,234.50", never "USD1,234.50".
        _money.CurrencyPositivePattern = _money.CurrencyPositivePattern switch { 0 => 2, 1 => 3, var p => p };
        _money.CurrencyNegativePattern = _money.CurrencyNegativePattern switch { 1 => 9, 5 => 8, 0 => 14, var n => n };
    }

    public string Name { get; }

    public CultureInfo Culture { get; }

    internal ReportLabels Labels { get; }

    public string Currency { get; }

    /// <summary>The two-letter language for the page's lang attribute.</summary>
    public string Language => Culture.TwoLetterISOLanguageName;

    public static bool IsSupported(string name) => Names.Contains(name);

    public static ReportLocale Get(string name, string currency = "USD") => IsSupported(name)
        ? new ReportLocale(name, currency)
        : throw new ArgumentException($"unknown locale '{name}'; use one of {string.Join(", ", Names)}", nameof(name));

    /// <summary>A figure in its unit (the KPI dictionary's: currency, count, percent or seconds); "–" when there is none.</summary>
    public string Format(double? value, string unit) => value is not { } v || !double.IsFinite(v) ? "–" : unit switch
    {
        "currency" => v.ToString("C2", _money),
        "percent" => (v / 100).ToString("P1", Culture),
        "seconds" => v.ToString("N0", Culture) + " s",
        _ => Math.Abs(v - Math.Round(v)) < 1e-9 ? v.ToString("N0", Culture) : v.ToString("N2", Culture),
    };

    /// <summary>A change in percent with its sign, e.g. +12.5 % or −3,0 %.</summary>
    public string Change(double? change) => change is not { } c || !double.IsFinite(c) ? "–"
        : (c > 0 ? "+" : "") + (c / 100).ToString("P1", Culture);

    public string Date(DateOnly date) => date.ToString(Culture.DateTimeFormat.LongDatePattern, Culture);

    public string ShortDate(DateOnly date) => date.ToString(Culture.DateTimeFormat.ShortDatePattern, Culture);

    /// <summary>Day and abbreviated month, for chart axes: "5 dic.", "5 dec.", "Dec 5".</summary>
    public string DayMonth(DateOnly date) => date.ToString(Name == "en" ? "MMM d" : "d MMM", Culture);

    public string Month(DateOnly date) => date.ToString(Culture.DateTimeFormat.YearMonthPattern, Culture);

    public string Range(DateOnly start, DateOnly end) => start == end ? Date(start) : $"{ShortDate(start)} – {ShortDate(end)}";
}
