using Atalaya.Engine.Reports;

namespace Atalaya.Tests.Reports;

/// <summary>Each report locale writes money, counts, rates and dates the way its readers do.</summary>
public sealed class ReportLocaleTests
{
    [Theory]
    [InlineData("es-MX", "USD 1,234,567.89", "12,345", "12.5%", "Informe semanal")]
    [InlineData("es-CO", "USD 1.234.567,89", "12.345", "12,5 %", "Informe semanal")]
    [InlineData("es-CL", "USD 1.234.567,89", "12.345", "12,5 %", "Informe semanal")]
    [InlineData("sv-SE", "1 234 567,89 USD", "12 345", "12,5 %", "Veckorapport")]
    [InlineData("en", "USD 1,234,567.89", "12,345", "12.5%", "Weekly report")]
    public void Numbers_money_and_labels_follow_the_locale(string name, string money, string count, string percent, string title)
    {
        var locale = ReportLocale.Get(name);

        Assert.Equal(money, Normalize(locale.Format(1234567.891, "currency")));
        Assert.Equal(count, Normalize(locale.Format(12345, "count")));
        Assert.Equal(percent, Normalize(locale.Format(12.5, "percent")));
        Assert.Equal(title, locale.Labels.WeeklyTitle);
        Assert.Equal("–", locale.Format(null, "currency"));
        Assert.StartsWith("+", locale.Change(3.25), StringComparison.Ordinal);
    }

    [Fact]
    public void Dates_are_written_in_the_readers_language()
    {
        var day = new DateOnly(2026, 3, 2);
        Assert.Contains("marzo", ReportLocale.Get("es-MX").Date(day), StringComparison.Ordinal);
        Assert.Contains("mars", ReportLocale.Get("sv-SE").Date(day), StringComparison.Ordinal);
        Assert.Contains("March", ReportLocale.Get("en").Date(day), StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => ReportLocale.Get("fr-FR"));
    }

    /// <summary>ICU separates thousands with no-break spaces in Swedish: compare them as spaces.</summary>
    private static string Normalize(string text) => text.Replace('\u00a0', ' ').Replace('\u202f', ' ');
}
