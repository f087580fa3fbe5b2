using System.Globalization;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Reports;

namespace Atalaya.Tests.Reports;

/// <summary>A report's change column agrees with its own value columns, to the rounding of the last digit.</summary>
public sealed class ReportChangeTests
{
    [Theory]
    [InlineData(91.87500000000001, 100.0, -8.13)]
    [InlineData(108.12499999999999, 100.0, 8.13)]
    [InlineData(327.31319899999994, 327.31319899999994, 0.0)]
    public void The_change_is_the_one_the_printed_value_and_previous_value_give(double value, double previous, double printed)
    {
        var comparison = new Comparison(KpiId.Gmv, value, previous);
        var (shownValue, shownPrevious) = (Shown(comparison.Value), Shown(comparison.Previous));

        Assert.Equal(Math.Round(100.0 * (shownValue - shownPrevious) / shownPrevious, 2, MidpointRounding.AwayFromZero), comparison.ChangePct);
        Assert.Equal(printed, comparison.ChangePct);
    }

    /// <summary>A figure as the daily CSV prints it, read back.</summary>
    private static double Shown(double? figure) => double.Parse(DailyCsv.Number(figure), CultureInfo.InvariantCulture);
}
