namespace Atalaya.Engine.Kpi.Query;

/// <summary>
/// LSD radix sorts of non-negative 64-bit keys, 11 bits a pass over the bits in use. Several times
/// faster than a comparison sort for the hundreds of thousands of keys a distinct count or a
/// funnel produces, and stable, which the funnel relies on (ties keep storage order).
/// </summary>
internal static class RadixSort
{
    private const int Bits = 11;
    private const int Mask = (1 << Bits) - 1;

    public static void Sort(Span<long> keys)
    {
        if (keys.Length < 2048)
        {
            keys.Sort();
            return;
        }
        var buffer = new long[keys.Length];
        Span<long> from = keys, to = buffer;
        var counts = new int[1 << Bits];
        var passes = 0;
        for (var shift = 0; shift < UsedBits(keys); shift += Bits, passes++)
        {
            Count(from, shift, counts);
            foreach (var k in from)
            {
                to[counts[(int)((k >> shift) & Mask)]++] = k;
            }
            var swap = from;
            from = to;
            to = swap;
        }
        if (passes % 2 == 1)
        {
            from.CopyTo(keys);
        }
    }

    /// <summary>Sorts <paramref name="keys"/> and moves <paramref name="payload"/> along; equal keys keep their order.</summary>
    public static void SortStable(long[] keys, int[] payload)
    {
        var bits = UsedBits(keys);
        long[] keyFrom = keys, keyTo = new long[keys.Length];
        int[] payloadFrom = payload, payloadTo = new int[payload.Length];
        var counts = new int[1 << Bits];
        var passes = 0;
        for (var shift = 0; shift < bits; shift += Bits, passes++)
        {
            Count(keyFrom, shift, counts);
            for (var i = 0; i < keyFrom.Length; i++)
            {
                var target = counts[(int)((keyFrom[i] >> shift) & Mask)]++;
                keyTo[target] = keyFrom[i];
                payloadTo[target] = payloadFrom[i];
            }
            (keyFrom, keyTo) = (keyTo, keyFrom);
            (payloadFrom, payloadTo) = (payloadTo, payloadFrom);
        }
        if (passes % 2 == 1)
        {
            keyFrom.CopyTo(keys, 0);
            payloadFrom.CopyTo(payload, 0);
        }
    }

    private static int UsedBits(ReadOnlySpan<long> keys)
    {
        long all = 0;
        foreach (var k in keys)
        {
            all |= k;
        }
        return 64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)all);
    }

    /// <summary>Fills <paramref name="counts"/> with each digit's first position in the output.</summary>
    private static void Count(ReadOnlySpan<long> keys, int shift, int[] counts)
    {
        Array.Clear(counts);
        foreach (var k in keys)
        {
            counts[(int)((k >> shift) & Mask)]++;
        }
        var sum = 0;
        for (var d = 0; d < counts.Length; d++)
        {
            var c = counts[d];
            counts[d] = sum;
            sum += c;
        }
    }
}
