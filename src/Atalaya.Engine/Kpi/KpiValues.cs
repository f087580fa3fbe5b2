namespace Atalaya.Engine.Kpi;

/// <summary>How a KPI value leaves the hub, the same in API answers, reports and exports.</summary>
public static class KpiValues
{
    /// <summary>
    /// <paramref name="value"/> to 15 significant digits: sums of binary fractions print as
    /// 327.31319899999994 otherwise. 15 digits is what a double holds exactly, so no figure changes by
    /// more than its own rounding noise (relative 1e-15), far below a cent at any realistic GMV.
    /// (Math.Round rather than formatting and parsing: it runs for every value of every answer.)
    /// </summary>
    public static double Clean(double value)
    {
        var magnitude = Math.Abs(value);
        if (magnitude is 0 or >= 1e14 or < 1e-6 || !double.IsFinite(value))
        {
            return value;
        }
        // Decimals left after the integer digits, out of 15 significant ones (Math.Round takes 0..15).
        return Math.Round(value, Math.Clamp(14 - (int)Math.Floor(Math.Log10(magnitude)), 0, 15), MidpointRounding.AwayFromZero);
    }
}
