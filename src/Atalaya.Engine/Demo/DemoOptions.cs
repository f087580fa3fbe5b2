namespace Atalaya.Engine.Demo;

/// <summary>
/// What <see cref="DemoGenerator"/> produces: <paramref name="Days"/> days ending with
/// <paramref name="EndDate"/> (today, UTC, when null), about <paramref name="SessionsPerDay"/>
/// sessions a day. <paramref name="Scale"/> multiplies the marketplace: K times the stores of each
/// country, the sessions a day and the pool of returning shoppers, so per-store traffic, bounces,
/// funnels and retention keep their shape while the volume per day grows (scale 1 is the
/// original marketplace, byte for byte). The same options give byte-identical output as long as
/// the range lies in the past. <paramref name="PlantedPairs"/> plants structure for the
/// recommendation model (products browsed one after the other, products bought together; see
/// <see cref="DemoStore"/>): it changes the stream, so it is off unless asked for (<c>serve --demo</c>
/// and the recommendation tests and evaluation ask for it). <paramref name="Products"/>, when set, is
/// the size of the whole catalog, shared out evenly among the stores (a large catalog for the
/// query benchmark); when null each store sells its usual 10–30 products and the output is unchanged.
/// </summary>
public sealed record DemoOptions(int Days = 60, int Seed = 42, DateOnly? EndDate = null, int SessionsPerDay = 1200, int Scale = 1, bool PlantedPairs = false,
    int? Products = null);
