namespace Atalaya.Engine.Demo;

/// <summary>
/// A store category: how the marketplace charges it, how long its orders take, and the products
/// and shop names its stores draw from (Spanish for the Latin American markets, Swedish for SE).
/// </summary>
internal sealed record DemoCategory(
    string Name,
    double StoreShare,
    decimal CommissionRate,
    (int Min, int Max) PrepMinutes,
    (int Min, int Max) RideMinutes,
    DemoVariant[] Variants,
    DemoProductSeed[] ProductsEs,
    DemoProductSeed[] ProductsSv,
    string[] StoreNamesEs,
    string[] StoreNamesSv);

/// <summary>A product before it is priced: a name, a product category and a typical price in USD.</summary>
internal sealed record DemoProductSeed(string Name, string Category, double Usd);

/// <summary>A size or flavour appended to a product name, with its price factor.</summary>
internal sealed record DemoVariant(string SuffixEs, string SuffixSv, double PriceFactor);
