namespace Atalaya.Engine.Kpi.Projection;

/// <summary>
/// Who was active when, for distinct visitors of queries that filter or group by nothing but the
/// country (the admin summary and dashboard, visitors by country): one (UTC hour, user, country)
/// entry per run of a user's catalog events in the same hour and country (the country of the
/// event's combination: the store's when the store is known), in arrival order, with zone maps
/// over blocks of entries. A user's events come in sessions of minutes within one country, so
/// there are several times fewer entries than events (0.27 per event at 1M), and such a query
/// whose periods are whole UTC hours counts distinct users over them instead of over every event
/// of its range (other queries read the events). An entry is added unless its hour and country
/// are the user's previous entry's, so the same (hour, user, country) may appear more than once
/// (after another hour or a late event): distinct counting makes repeats harmless, and no event's
/// (hour, user, country) is ever missing. When a store is re-dimensioned into another country the
/// projection rebuilds the log from its events (<see cref="Clear"/>, then every event again).
/// (Keeping the whole combination was tried: a session moves between a store's combination and
/// the plain one so often that entries were 58 % of events at 10M, for little gain.) Saved with
/// the snapshot.
/// </summary>
internal sealed class VisitLog
{
    public const int Block = 4096;

    private int[] _hour = new int[1024];
    private int[] _user = new int[1024];
    private int[] _country = new int[1024];
    private int[] _blockMin = new int[4];
    private int[] _blockMax = new int[4];
    /// <summary>Per user, their latest entry (-1: none yet).</summary>
    private GrowableArray<int> _last = new(-1);

    public int Count { get; private set; }

    public ReadOnlySpan<int> Hours => _hour.AsSpan(0, Count);

    public ReadOnlySpan<int> Users => _user.AsSpan(0, Count);

    /// <summary>Each entry's country (a dimension pool id, 0 = none).</summary>
    public ReadOnlySpan<int> Countries => _country.AsSpan(0, Count);

    /// <summary>False once an event fell outside the hours an int can number: queries then read the events.</summary>
    public bool Complete { get; private set; } = true;

    /// <summary>Bumped by <see cref="Clear"/>: positions counted before it mean nothing after.</summary>
    public int Generation { get; private set; }

    /// <summary>
    /// Whether an entry at <paramref name="position"/> or later may have its hour in [fromHour,
    /// toHour): what was counted over those hours from the first <paramref name="position"/>
    /// entries still holds when not. From the zone maps, so a "maybe" is possible, never a wrong "no".
    /// </summary>
    public bool MayHaveEntriesSince(int position, int fromHour, int toHour)
    {
        for (var block = position / Block; block * Block < Count; block++)
        {
            if (_blockMax[block] >= fromHour && _blockMin[block] < toHour)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Forgets every entry (before the projection adds its events again).</summary>
    public void Clear()
    {
        Generation++;
        Count = 0;
        Complete = true;
        Array.Fill(_last.Raw, -1);
    }

    /// <summary>A catalog event of <paramref name="user"/> (not 0) in <paramref name="country"/> was applied.</summary>
    public void Add(long ts, int user, int country)
    {
        if (!HourRollup.TryHour(ts, out var hour))
        {
            Complete = false;
            return;
        }
        ref var last = ref _last.At(user);
        if (last >= 0 && _hour[last] == hour && _country[last] == country)
        {
            return;
        }
        if (Count == _hour.Length)
        {
            var size = Count + (Count / 2);
            Array.Resize(ref _hour, size);
            Array.Resize(ref _user, size);
            Array.Resize(ref _country, size);
        }
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
        _hour[Count] = hour;
        _user[Count] = user;
        _country[Count] = country;
        last = Count++;
    }

    /// <summary>
    /// The runs of entries at <paramref name="since"/> or later, within a block each, that may hold
    /// an hour in [fromHour, toHour).
    /// </summary>
    public IEnumerable<(int Start, int Length)> BlocksIn(int fromHour, int toHour, int since = 0)
    {
        for (var block = since / Block; block * Block < Count; block++)
        {
            if (_blockMax[block] >= fromHour && _blockMin[block] < toHour)
            {
                var start = Math.Max(block * Block, since);
                yield return (start, Math.Min((block + 1) * Block, Count) - start);
            }
        }
    }

    internal void Write(BinaryWriter w)
    {
        w.Write(Complete);
        w.Write(Count);
        ProjectionSnapshot.WriteArray<int>(w, Hours);
        ProjectionSnapshot.WriteArray<int>(w, Users);
        ProjectionSnapshot.WriteArray<int>(w, Countries);
        ProjectionSnapshot.WriteArray<int>(w, _last.Raw);
    }

    internal void Read(BinaryReader r)
    {
        Complete = r.ReadBoolean();
        Count = r.ReadInt32();
        var capacity = ProjectionSnapshot.Room(Count, 1024);
        _hour = ProjectionSnapshot.ReadArray<int>(r, capacity);
        _user = ProjectionSnapshot.ReadArray<int>(r, capacity);
        _country = ProjectionSnapshot.ReadArray<int>(r, capacity);
        _last.Raw = ProjectionSnapshot.ReadArray<int>(r);
        if (Count < 0 || _hour.Length < Count || _user.Length < Count || _country.Length < Count)
        {
            throw new InvalidDataException("a visit log of the wrong size");
        }
        var blocks = (Count + Block - 1) / Block;
        _blockMin = new int[Math.Max(4, blocks + 1)];
        _blockMax = new int[Math.Max(4, blocks + 1)];
        for (var e = 0; e < Count; e++)
        {
            var hour = _hour[e];
            var block = e / Block;
            _blockMin[block] = e % Block == 0 ? hour : Math.Min(_blockMin[block], hour);
            _blockMax[block] = e % Block == 0 ? hour : Math.Max(_blockMax[block], hour);
        }
    }
}
