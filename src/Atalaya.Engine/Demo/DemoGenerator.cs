namespace Atalaya.Engine.Demo;

/// <summary>
/// A deterministic generator of marketplace events (docs/collector.md (the native event)/§1.2) for demos, tests and
/// benchmarks: the Tiendi marketplace in Mexico, Colombia, Chile and Sweden, with about forty
/// stores, their products, shoppers who come back, sessions with realistic funnels and bounces,
/// orders with payments and status histories, leads, subscriptions, a few custom event types, and
/// a daily FX walk. Every catalog event type occurs.
///
/// Invariants: the same options give byte-identical output when the range lies in the past (all
/// randomness comes from <see cref="Random"/> seeded with <see cref="DemoOptions.Seed"/>; the
/// clock is read only to resolve a missing end date and to drop events not yet due); events come
/// in time order, within the requested days, never after now; memory holds one day plus the
/// orders still in flight, never the whole output.
/// </summary>
public static class DemoGenerator
{
    private const int ProgressEvery = 10_000;

    /// <summary>The events as UTF-8 JSON, one array per event, without line breaks.</summary>
    public static IEnumerable<byte[]> Generate(DemoOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Days, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(options.SessionsPerDay, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Scale, 1, nameof(options));
        return Run(options);
    }

    /// <summary>Writes the events as NDJSON to <paramref name="output"/> and returns how many it wrote.</summary>
    public static long WriteNdjson(DemoOptions options, Stream output, Action<long>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        var buffer = new byte[64 * 1024];
        var used = 0;
        long count = 0;
        foreach (var line in Generate(options))
        {
            if (used + line.Length + 1 > buffer.Length)
            {
                output.Write(buffer, 0, used);
                used = 0;
            }
            if (line.Length + 1 > buffer.Length)
            {
                output.Write(line);
                output.WriteByte((byte)'\n');
            }
            else
            {
                line.CopyTo(buffer, used);
                used += line.Length;
                buffer[used++] = (byte)'\n';
            }
            if (++count % ProgressEvery == 0)
            {
                progress?.Invoke(count);
            }
        }
        output.Write(buffer, 0, used);
        output.Flush();
        progress?.Invoke(count);
        return count;
    }

    /// <summary>
    /// The product pairs <see cref="DemoOptions.PlantedPairs"/> plants, each once: (viewed_together,
    /// A, B) for products browsed one after the other, (bought_together, A, B) for products put in
    /// the same cart. Evaluations and tests check that a model finds them.
    /// </summary>
    public static IReadOnlyList<(string Kind, string A, string B)> PlantedPairs(DemoOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var world = DemoWorld.Build(new Random(options.Seed), RangeStart(options, DateTime.UtcNow), options.Days, options.Scale, options.Products);
        var pairs = new HashSet<(string, string, string)>();
        foreach (var store in world.Stores)
        {
            foreach (var product in store.Products)
            {
                foreach (var (kind, partner) in new[] { ("viewed_together", store.ViewPartner(product)), ("bought_together", store.BasketPartner(product)) })
                {
                    if (partner != product)
                    {
                        pairs.Add(string.CompareOrdinal(product.Id, partner.Id) < 0 ? (kind, product.Id, partner.Id) : (kind, partner.Id, product.Id));
                    }
                }
            }
        }
        return [.. pairs.Order()];
    }

    private static DateTime RangeStart(DemoOptions options, DateTime now) =>
        (options.EndDate ?? DateOnly.FromDateTime(now)).AddDays(1 - options.Days).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);

    private static IEnumerable<byte[]> Run(DemoOptions options)
    {
        var now = DateTime.UtcNow;
        var lastDay = options.EndDate ?? DateOnly.FromDateTime(now);
        var rangeStart = RangeStart(options, now);
        var rangeEnd = lastDay.AddDays(1).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
        var cutoff = rangeEnd < now ? rangeEnd : now;

        using var simulation = new DemoSimulation(options, rangeStart, cutoff);
        for (var day = 0; day < options.Days; day++)
        {
            var dayStart = rangeStart.AddDays(day);
            if (dayStart >= cutoff)
            {
                yield break;
            }
            simulation.SimulateDay(day);
            foreach (var json in simulation.Drain(dayStart.AddDays(1)))
            {
                yield return json;
            }
        }
    }
}
