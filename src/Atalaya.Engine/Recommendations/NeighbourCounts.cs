namespace Atalaya.Engine.Recommendations;

/// <summary>A neighbour of a product with its co-occurrence count (never above either marginal) and similarities.</summary>
internal readonly record struct Neighbour(int Product, double Count, double Cosine, double Lift);

/// <summary>
/// Co-occurrence counts of products in baskets (a delivered order, a session's views), with at
/// most <see cref="Capacity"/> neighbours kept per product. Each product's row is a Space-Saving
/// summary: when the row is full, a new neighbour takes the slot of the smallest count and
/// inherits it, so every neighbour seen more often than (basket count / capacity) times is kept
/// and no count is ever under-estimated. Memory is bounded by products × capacity, whatever the
/// number of events. Marginals (baskets holding the product) and the basket total are exact, so
/// cosine c(a,b)/√(c(a)·c(b)) and lift c(a,b)·N/(c(a)·c(b)) come from the kept counts.
/// </summary>
internal sealed class NeighbourCounts(int capacity)
{
    private readonly List<Row?> _rows = [];
    private readonly List<double> _marginals = [];

    public int Capacity { get; } = capacity;

    /// <summary>Baskets counted (sessions with a view, delivered orders).</summary>
    public double Baskets { get; private set; }

    public double Marginal(int product) => product < _marginals.Count ? _marginals[product] : 0;

    public void AddBaskets(double delta) => Baskets += delta;

    /// <summary>Forgets every count (a cluster node reloading its model from ClickHouse).</summary>
    public void Clear()
    {
        _rows.Clear();
        _marginals.Clear();
        Baskets = 0;
    }

    public void AddMarginal(int product, double delta)
    {
        Grow(product);
        _marginals[product] = Math.Max(0, _marginals[product] + delta);
    }

    /// <summary>Counts one more (or, with a negative <paramref name="delta"/>, one less) basket holding both products.</summary>
    public void AddPair(int a, int b, double delta)
    {
        Grow(Math.Max(a, b));
        Bump(a, b, delta);
        Bump(b, a, delta);
    }

    /// <summary>The kept neighbours of <paramref name="product"/> with at least <paramref name="minCount"/> co-occurrences.</summary>
    public void NeighboursOf(int product, double minCount, List<Neighbour> into)
    {
        into.Clear();
        if (product >= _rows.Count || _rows[product] is not { } row)
        {
            return;
        }
        var own = Marginal(product);
        for (var i = 0; i < row.Count; i++)
        {
            var count = row.Counts[i];
            var other = Marginal(row.Ids[i]);
            if (count < minCount || own <= 0 || other <= 0)
            {
                continue;
            }
            // A Space-Saving estimate may exceed a marginal; the similarity is capped where the truth must be.
            var c = Math.Min(count, Math.Min(own, other));
            into.Add(new Neighbour(row.Ids[i], c, c / Math.Sqrt(own * other), c * Baskets / (own * other)));
        }
    }

    /// <summary>Bytes held by the rows and marginals (arrays only), for the memory report.</summary>
    public long Bytes()
    {
        long bytes = _marginals.Capacity * sizeof(double) + (_rows.Capacity * IntPtr.Size);
        foreach (var row in _rows)
        {
            if (row is not null)
            {
                bytes += (row.Ids.Length * (sizeof(int) + sizeof(float))) + 48;
            }
        }
        return bytes;
    }

    private void Grow(int product)
    {
        while (_rows.Count <= product)
        {
            _rows.Add(null);
            _marginals.Add(0);
        }
    }

    private void Bump(int product, int neighbour, double delta)
    {
        var row = _rows[product] ??= new Row(Math.Min(4, Capacity));
        var slot = Array.IndexOf(row.Ids, neighbour, 0, row.Count);
        if (slot >= 0)
        {
            row.Counts[slot] = (float)Math.Max(0, row.Counts[slot] + delta);
            return;
        }
        if (delta <= 0)
        {
            return;
        }
        if (row.Count < Capacity)
        {
            if (row.Count == row.Ids.Length)
            {
                row.Resize(Math.Min(Capacity, row.Ids.Length * 2));
            }
            row.Ids[row.Count] = neighbour;
            row.Counts[row.Count] = (float)delta;
            row.Count++;
            return;
        }
        var smallest = 0;
        for (var i = 1; i < row.Count; i++)
        {
            if (row.Counts[i] < row.Counts[smallest])
            {
                smallest = i;
            }
        }
        row.Ids[smallest] = neighbour;
        row.Counts[smallest] += (float)delta;
    }

    private sealed class Row(int size)
    {
        public int[] Ids = new int[size];
        public float[] Counts = new float[size];
        public int Count;

        public void Resize(int size)
        {
            Array.Resize(ref Ids, size);
            Array.Resize(ref Counts, size);
        }
    }
}
