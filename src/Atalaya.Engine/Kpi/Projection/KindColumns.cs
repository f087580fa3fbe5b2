namespace Atalaya.Engine.Kpi.Projection;

/// <summary>One kind's entries: projection indexes and zone maps, and for rich kinds the facts as columns.</summary>
internal sealed class KindColumns(bool rich)
{
    private int[] _events = new int[256];
    private long[] _blockMin = new long[4];
    private long[] _blockMax = new long[4];
    private long[] _ts = rich ? new long[256] : [];
    private int[] _combo = rich ? new int[256] : [];
    private int[] _user = rich ? new int[256] : [];
    private double[] _amount = rich ? new double[256] : [];
    private int[] _aux = rich ? new int[256] : [];
    private bool[] _counted = rich ? new bool[256] : [];

    public int Count { get; private set; }

    public bool Rich => rich;

    public ReadOnlySpan<int> Events => _events.AsSpan(0, Count);
    public ReadOnlySpan<long> Ts => _ts.AsSpan(0, Count);
    public ReadOnlySpan<int> Combo => _combo.AsSpan(0, Count);
    public ReadOnlySpan<int> User => _user.AsSpan(0, Count);
    public ReadOnlySpan<double> Amount => _amount.AsSpan(0, Count);
    public ReadOnlySpan<int> Aux => _aux.AsSpan(0, Count);
    public ReadOnlySpan<bool> Counted => _counted.AsSpan(0, Count);

    /// <summary>
    /// Bumped when an entry other than the newest changes (its counted mark, its combination) or the
    /// columns are read anew: a tally of the entries before some position, kept between queries,
    /// holds only while this stays what it was (appended entries alone do not bump it).
    /// </summary>
    public int Revision { get; private set; }

    public void SetCounted(int position, bool counted)
    {
        if (_counted[position] != counted && position != Count - 1)
        {
            Revision++;
        }
        _counted[position] = counted;
    }

    /// <summary>A store was re-dimensioned: entries take the combinations it moved to.</summary>
    public void Remap(IReadOnlyDictionary<int, int> moved)
    {
        for (var k = 0; k < Count && rich; k++)
        {
            if (moved.TryGetValue(_combo[k], out var to))
            {
                _combo[k] = to;
                Revision++;
            }
        }
    }

    public int Add(int index, long ts, int combo, int user, double amount, int aux)
    {
        if (Count == _events.Length)
        {
            var size = Count + Math.Max(256, Count / 2);
            Array.Resize(ref _events, size);
            if (rich)
            {
                Array.Resize(ref _ts, size);
                Array.Resize(ref _combo, size);
                Array.Resize(ref _user, size);
                Array.Resize(ref _amount, size);
                Array.Resize(ref _aux, size);
                Array.Resize(ref _counted, size);
            }
        }
        var block = Count / KindIndex.Block;
        if (block == _blockMin.Length)
        {
            Array.Resize(ref _blockMin, block * 2);
            Array.Resize(ref _blockMax, block * 2);
        }
        if (Count % KindIndex.Block == 0)
        {
            _blockMin[block] = ts;
            _blockMax[block] = ts;
        }
        else
        {
            _blockMin[block] = Math.Min(_blockMin[block], ts);
            _blockMax[block] = Math.Max(_blockMax[block], ts);
        }
        var position = Count++;
        _events[position] = index;
        if (rich)
        {
            _ts[position] = ts;
            _combo[position] = combo;
            _user[position] = user;
            _amount[position] = amount;
            _aux[position] = aux;
        }
        return position;
    }

    public IEnumerable<(int Start, int Length)> BlocksIn(long from, long to) => BlocksIn(from, to, 0);

    /// <summary>The entries from <paramref name="position"/> on, in blocks whose time range may overlap [from, to).</summary>
    public IEnumerable<(int Start, int Length)> BlocksIn(long from, long to, int position)
    {
        for (var block = position / KindIndex.Block; block * KindIndex.Block < Count; block++)
        {
            if (_blockMax[block] >= from && _blockMin[block] < to)
            {
                var start = Math.Max(position, block * KindIndex.Block);
                yield return (start, Math.Min((block + 1) * KindIndex.Block, Count) - start);
            }
        }
    }

    internal void Write(BinaryWriter w)
    {
        w.Write(Count);
        ProjectionSnapshot.WriteArray<int>(w, Events);
        ProjectionSnapshot.WriteArray<long>(w, _blockMin.AsSpan(0, (Count + KindIndex.Block - 1) / KindIndex.Block));
        ProjectionSnapshot.WriteArray<long>(w, _blockMax.AsSpan(0, (Count + KindIndex.Block - 1) / KindIndex.Block));
        if (rich)
        {
            ProjectionSnapshot.WriteArray<long>(w, Ts);
            ProjectionSnapshot.WriteArray<int>(w, Combo);
            ProjectionSnapshot.WriteArray<int>(w, User);
            ProjectionSnapshot.WriteArray<double>(w, Amount);
            ProjectionSnapshot.WriteArray<int>(w, Aux);
            ProjectionSnapshot.WriteArray<bool>(w, Counted);
        }
    }

    internal void Read(BinaryReader r)
    {
        Revision++;
        Count = r.ReadInt32();
        var capacity = ProjectionSnapshot.Room(Count);
        _events = ProjectionSnapshot.ReadArray<int>(r, capacity);
        _blockMin = ProjectionSnapshot.ReadArray<long>(r, Math.Max(4, capacity / KindIndex.Block + 1));
        _blockMax = ProjectionSnapshot.ReadArray<long>(r, Math.Max(4, capacity / KindIndex.Block + 1));
        if (rich)
        {
            _ts = ProjectionSnapshot.ReadArray<long>(r, capacity);
            _combo = ProjectionSnapshot.ReadArray<int>(r, capacity);
            _user = ProjectionSnapshot.ReadArray<int>(r, capacity);
            _amount = ProjectionSnapshot.ReadArray<double>(r, capacity);
            _aux = ProjectionSnapshot.ReadArray<int>(r, capacity);
            _counted = ProjectionSnapshot.ReadArray<bool>(r, capacity);
        }
    }
}
