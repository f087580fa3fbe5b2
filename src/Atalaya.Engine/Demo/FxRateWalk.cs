namespace Atalaya.Engine.Demo;

/// <summary>
/// Daily USD rates of the demo currencies: a mean-reverting random walk around each country's
/// typical rate, so KPIs in reporting currency move a little from day to day. The rate of a day is
/// the one the source system freezes into that day's money events (<c>fx_rate_to_reporting</c>).
/// </summary>
internal sealed class FxRateWalk
{
    private readonly double[] _deviation = new double[DemoData.Countries.Length];
    private readonly decimal[] _today = new decimal[DemoData.Countries.Length];

    public FxRateWalk(Random rng)
    {
        for (var i = 0; i < _deviation.Length; i++)
        {
            _deviation[i] = rng.Gaussian() * 0.02;
        }
        Publish();
    }

    public decimal RateOf(DemoCountry country) => _today[DemoData.IndexOf(country)];

    public void NextDay(Random rng)
    {
        for (var i = 0; i < _deviation.Length; i++)
        {
            _deviation[i] = (0.97 * _deviation[i]) + (rng.Gaussian() * 0.006);
        }
        Publish();
    }

    private void Publish()
    {
        for (var i = 0; i < _today.Length; i++)
        {
            var rate = DemoData.Countries[i].UsdPerUnit * Math.Exp(_deviation[i]);
            var significant = 6 - (int)Math.Floor(Math.Log10(rate)) - 1;
            _today[i] = Math.Round((decimal)rate, significant, MidpointRounding.AwayFromZero);
        }
    }
}
