namespace Atalaya.Engine.Kpi.Projection;

/// <summary>
/// One family of an <see cref="HourRollup"/>: integer counts and floating sums per (UTC hour,
/// dimension combination), entries in order of first sight with zone maps over blocks of entries
/// (hours of a live log arrive roughly in order, so a range query skips most blocks), and an
/// open-addressing index from the packed key to the entry for updates. Each sum belongs to a
/// count column; when that count drops back to 0 the sum is reset to exactly 0, so moving a fact
/// out of an entry leaves no rounding residue. Every change is stamped on its UTC day (see
/// <see cref="UnchangedSince"/>), so sums of whole periods can be kept while their days stay as
/// they were.
/// </summary>
internal sealed class RollupTable
{
    public const int Block = 1024;

    /// <summary>Days stamped one by one from the first day changed: ten years; a change outside them stamps <see cref="_otherDays"/>.</summary>
    private const int StampedDays = 3650;

    private readonly int[] _sumOwner;
    private long[] _keys = new long[256];
    private int[][] _counts;
    private double[][] _sums;
    private int[] _blockMin = new int[4];
    private int[] _blockMax = new int[4];
    /// <summary>Entry + 1 per slot, 0 = empty; a power of two at most half full.</summary>
    private int[] _index = new int[512];
    /// <summary>Per UTC day from <see cref="_firstStampedDay"/>, the <see cref="Version"/> of its last change.</summary>
    private long[] _dayStamps = [];
    private int _firstStampedDay;
    /// <summary>The last change to a day outside the stamped ones.</summary>
    private long _otherDays;
    /// <summary>The last change to every entry at once (a remap, a snapshot read).</summary>
    private long _allDays;

    /// <param name="counts">Number of count columns.</param>
    /// <param name="sumOwners">For each sum column, the count column it belongs to.</param>
    public RollupTable(int counts, params int[] sumOwners)
    {
        _sumOwner = sumOwners;
        _counts = new int[counts][];
        for (var c = 0; c < counts; c++)
        {
            _counts[c] = new int[256];
        }
        _sums = new double[sumOwners.Length][];
        for (var s = 0; s < sumOwners.Length; s++)
        {
            _sums[s] = new double[256];
        }
    }

    public int Count { get; private set; }

    /// <summary>Counts the changes: each change to an entry takes the next version.</summary>
    public long Version { get; private set; }

    /// <summary>
    /// Whether no entry of an hour in [fromHour, toHour) changed after <paramref name="version"/>
    /// (by day: a change to any hour of a day counts for all of its hours, never a wrong "no").
    /// </summary>
    public bool UnchangedSince(long version, int fromHour, int toHour)
    {
        if (_allDays > version)
        {
            return false;
        }
        var first = (int)Math.Floor(fromHour / 24.0);
        var last = (int)Math.Floor((toHour - 1) / 24.0);
        for (var day = first; day <= last; day++)
        {
            var i = day - _firstStampedDay;
            var stamp = (uint)i < (uint)_dayStamps.Length ? _dayStamps[i] : _dayStamps.Length == 0 || i >= StampedDays || i < 0 ? _otherDays : 0;
            if (stamp > version)
            {
                return false;
            }
        }
        return true;
    }

    private void Stamp(int hour)
    {
        Version++;
        var day = (int)Math.Floor(hour / 24.0);
        if (_dayStamps.Length == 0)
        {
            _firstStampedDay = day - 30;
        }
        var i = day - _firstStampedDay;
        if ((uint)i >= (uint)_dayStamps.Length)
        {
            if (i < 0 || i >= StampedDays)
            {
                _otherDays = Version;
                return;
            }
            Array.Resize(ref _dayStamps, Math.Min(StampedDays, Math.Max(i + 1, _dayStamps.Length * 2)));
        }
        _dayStamps[i] = Version;
    }

    /// <summary>Per entry: the hour in the high 32 bits, the combination in the low 32.</summary>
    public ReadOnlySpan<long> Keys => _keys.AsSpan(0, Count);

    public ReadOnlySpan<int> Counts(int column) => _counts[column].AsSpan(0, Count);

    public ReadOnlySpan<double> Sums(int column) => _sums[column].AsSpan(0, Count);

    public static long Key(int hour, int combo) => ((long)hour << 32) | (uint)combo;

    public static int HourOf(long key) => (int)(key >> 32);

    public static int ComboOf(long key) => (int)key;

    /// <summary>The entry of (hour, combo), created empty on first use.</summary>
    public int Entry(int hour, int combo)
    {
        // Every change to an entry looks it up here first.
        Stamp(hour);
        var key = Key(hour, combo);
        var mask = _index.Length - 1;
        for (var slot = Slot(key, mask); ; slot = (slot + 1) & mask)
        {
            var e = _index[slot] - 1;
            if (e < 0)
            {
                var entry = Append(key);
                _index[slot] = entry + 1;
                if (Count * 2 > _index.Length)
                {
                    Rehash(_index.Length * 2);
                }
                return entry;
            }
            if (_keys[e] == key)
            {
                return e;
            }
        }
    }

    /// <summary>Adds <paramref name="delta"/> to a count of an entry; a negative delta that empties the count zeroes its sums.</summary>
    public void AddCount(int entry, int column, int delta)
    {
        ref var count = ref _counts[column][entry];
        count += delta;
        if (delta < 0 && count == 0)
        {
            for (var s = 0; s < _sums.Length; s++)
            {
                if (_sumOwner[s] == column)
                {
                    _sums[s][entry] = 0;
                }
            }
        }
    }

    public void AddSum(int entry, int column, double delta) => _sums[column][entry] += delta;

    /// <summary>The blocks of entries that may hold an hour in [fromHour, toHour).</summary>
    public IEnumerable<(int Start, int Length)> BlocksIn(int fromHour, int toHour)
    {
        for (var start = 0; start < Count; start += Block)
        {
            var block = start / Block;
            if (_blockMax[block] >= fromHour && _blockMin[block] < toHour)
            {
                yield return (start, Math.Min(Block, Count - start));
            }
        }
    }

    /// <summary>A store was re-dimensioned: entries of the combinations it left are folded into the ones it moved to.</summary>
    public void Remap(IReadOnlyDictionary<int, int> moved)
    {
        var old = (Keys: _keys, Counts: _counts, Sums: _sums, Count);
        var touched = false;
        for (var e = 0; e < old.Count && !touched; e++)
        {
            touched = moved.ContainsKey(ComboOf(old.Keys[e]));
        }
        if (!touched)
        {
            return;
        }
        _allDays = ++Version;
        _keys = new long[Math.Max(256, old.Count)];
        _counts = old.Counts.Select(_ => new int[_keys.Length]).ToArray();
        _sums = old.Sums.Select(_ => new double[_keys.Length]).ToArray();
        _index = new int[512];
        Count = 0;
        for (var e = 0; e < old.Count; e++)
        {
            var combo = ComboOf(old.Keys[e]);
            var target = Entry(HourOf(old.Keys[e]), moved.TryGetValue(combo, out var to) ? to : combo);
            for (var c = 0; c < _counts.Length; c++)
            {
                _counts[c][target] += old.Counts[c][e];
            }
            for (var s = 0; s < _sums.Length; s++)
            {
                _sums[s][target] += old.Sums[s][e];
            }
        }
    }

    private int Append(long key)
    {
        if (Count == _keys.Length)
        {
            var size = Count + Math.Max(256, Count / 2);
            Array.Resize(ref _keys, size);
            for (var c = 0; c < _counts.Length; c++)
            {
                Array.Resize(ref _counts[c], size);
            }
            for (var s = 0; s < _sums.Length; s++)
            {
                Array.Resize(ref _sums[s], size);
            }
        }
        var hour = HourOf(key);
        var block = Count / Block;
        if (block == _blockMin.Length)
        {
            Array.Resize(ref _blockMin, block * 2);
            Array.Resize(ref _blockMax, block * 2);
        }
        if (Count % Block == 0)
        {
            _blockMin[block] = hour;
            _blockMax[block] = hour;
        }
        else
        {
            _blockMin[block] = Math.Min(_blockMin[block], hour);
            _blockMax[block] = Math.Max(_blockMax[block], hour);
        }
        _keys[Count] = key;
        return Count++;
    }

    private static int Slot(long key, int mask) => (int)((ulong)(key * unchecked((long)0x9E3779B97F4A7C15)) >> 40) & mask;

    private void Rehash(int size)
    {
        _index = new int[size];
        var mask = size - 1;
        for (var e = 0; e < Count; e++)
        {
            var slot = Slot(_keys[e], mask);
            while (_index[slot] != 0)
            {
                slot = (slot + 1) & mask;
            }
            _index[slot] = e + 1;
        }
    }

    internal void Write(BinaryWriter w)
    {
        w.Write(Count);
        ProjectionSnapshot.WriteArray<long>(w, Keys);
        foreach (var column in _counts)
        {
            ProjectionSnapshot.WriteArray<int>(w, column.AsSpan(0, Count));
        }
        foreach (var column in _sums)
        {
            ProjectionSnapshot.WriteArray<double>(w, column.AsSpan(0, Count));
        }
        ProjectionSnapshot.WriteArray<int>(w, _index);
    }

    internal void Read(BinaryReader r)
    {
        _allDays = ++Version;
        Count = r.ReadInt32();
        var capacity = ProjectionSnapshot.Room(Count);
        _keys = ProjectionSnapshot.ReadArray<long>(r, capacity);
        for (var c = 0; c < _counts.Length; c++)
        {
            _counts[c] = ProjectionSnapshot.ReadArray<int>(r, capacity);
        }
        for (var s = 0; s < _sums.Length; s++)
        {
            _sums[s] = ProjectionSnapshot.ReadArray<double>(r, capacity);
        }
        _index = ProjectionSnapshot.ReadArray<int>(r);
        if (_index.Length < 512 || (_index.Length & (_index.Length - 1)) != 0 || Count * 2 > _index.Length || _keys.Length < Count)
        {
            throw new InvalidDataException("a rollup index of the wrong size");
        }
        var blocks = (Count + Block - 1) / Block;
        _blockMin = new int[Math.Max(4, blocks + 1)];
        _blockMax = new int[Math.Max(4, blocks + 1)];
        for (var e = 0; e < Count; e++)
        {
            var hour = HourOf(_keys[e]);
            var block = e / Block;
            _blockMin[block] = e % Block == 0 ? hour : Math.Min(_blockMin[block], hour);
            _blockMax[block] = e % Block == 0 ? hour : Math.Max(_blockMax[block], hour);
        }
    }
}
