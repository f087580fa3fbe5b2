namespace Atalaya.Engine.Demo;

/// <summary>The few distributions the demo needs, drawn from one seeded <see cref="Random"/> so runs repeat.</summary>
internal static class DemoRandom
{
    public static bool Chance(this Random rng, double probability) => rng.NextDouble() < probability;

    public static double Between(this Random rng, double min, double max) => min + (rng.NextDouble() * (max - min));

    public static T Pick<T>(this Random rng, T[] items) => items[rng.Next(items.Length)];

    public static string Pick(this Random rng, (string Value, double Weight)[] items)
    {
        var total = 0.0;
        foreach (var item in items)
        {
            total += item.Weight;
        }
        var r = rng.NextDouble() * total;
        foreach (var item in items)
        {
            r -= item.Weight;
            if (r < 0)
            {
                return item.Value;
            }
        }
        return items[^1].Value;
    }

    /// <summary>A standard normal draw (Box–Muller).</summary>
    public static double Gaussian(this Random rng)
    {
        var u1 = 1.0 - rng.NextDouble();
        var u2 = rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>A waiting time with mean <paramref name="mean"/>, never below <paramref name="min"/>.</summary>
    public static TimeSpan Wait(this Random rng, double mean, double min) =>
        TimeSpan.FromSeconds(Math.Round(min + (-Math.Log(1.0 - rng.NextDouble()) * (mean - min))));

    public static int Weighted(this Random rng, double[] weights)
    {
        var total = 0.0;
        foreach (var weight in weights)
        {
            total += weight;
        }
        var r = rng.NextDouble() * total;
        for (var i = 0; i < weights.Length; i++)
        {
            r -= weights[i];
            if (r < 0)
            {
                return i;
            }
        }
        return weights.Length - 1;
    }
}
