namespace Atalaya.Engine.Demo;

/// <summary>A market of the demo marketplace: its currency, time zone, hubs and price levels.</summary>
internal sealed record DemoCountry(
    string Code,
    string Currency,
    int MinorDigits,
    int UtcOffsetHours,
    string WebHost,
    bool Swedish,
    decimal VatRate,
    double TrafficWeight,
    string[] Hubs,
    int InitialStores,
    int LaterStores,
    double UsdPerUnit,
    decimal PriceStep,
    decimal DeliveryFeeMin,
    decimal DeliveryFeeMax,
    decimal BasicPlan,
    decimal ProPlan,
    double IosShare,
    double AndroidShare,
    (string Method, string Provider)[] PaymentMethods)
{
    public decimal Round(decimal amount) => Math.Round(amount, MinorDigits, MidpointRounding.AwayFromZero);

    /// <summary>A local price near <paramref name="usd"/>, rounded to the steps shops use (MXN 0.50, COP 100, CLP 10, SEK 1).</summary>
    public decimal PriceFromUsd(double usd)
    {
        var local = (decimal)(usd / UsdPerUnit);
        return Math.Max(PriceStep, Math.Round(local / PriceStep, MidpointRounding.AwayFromZero) * PriceStep);
    }
}
