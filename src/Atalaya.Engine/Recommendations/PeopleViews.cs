using System.Runtime.InteropServices;

namespace Atalaya.Engine.Recommendations;

/// <summary>
/// Each person's last views (at most <see cref="RecommendationModel.ViewsPerPerson"/>, oldest
/// overwritten first), for "for you". A view is one <see cref="ulong"/>: the product's index in the
/// high half, its time in whole seconds since 2000 in the low half (a second is far below what the
/// week-long half-life can tell apart). A person's views sit in a block of 2, 4, 8, 16 or 20 slots
/// carved from shared pages of 64K slots rather than in an array of their own: at 10M events the
/// model follows about 700,000 people, most with a handful of views, and an array each cost its
/// 24-byte header (16 MB) on top of the views. A block outgrown or freed (a person pruned or
/// erased) goes to a free list of its size; when more than half of the slots are free the pages
/// are rebuilt with only the blocks in use. Not thread-safe: the model's lock covers it.
/// </summary>
internal sealed class PeopleViews
{
    private const int PageBits = 16;
    private const int PageSize = 1 << PageBits;
    private static readonly long EpochMs = new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
    private static readonly int[] BlockSizes = [2, 4, 8, 16, RecommendationModel.ViewsPerPerson];

    private readonly Dictionary<PersonKey, Person> _people = [];
    private readonly List<int>[] _free = [.. BlockSizes.Select(_ => new List<int>())];
    private List<ulong[]> _pages = [];
    private long _top;
    private long _freeSlots;

    /// <summary>A person's block (its first slot + 1; 0: none yet), its size class, the next slot to write, how many views it holds, the latest.</summary>
    private struct Person
    {
        public int BlockPlusOne;
        public uint LastSeconds;
        public byte SizeClass;
        public byte Next;
        public byte Count;
    }

    public int Count => _people.Count;

    /// <summary>Slots of the people table (for the tests of its trimming).</summary>
    public int Capacity => _people.Capacity;

    /// <summary>Slots carved from the pages so far, free ones included (for the tests of the rebuild).</summary>
    public long SlotsInUse => _top - _freeSlots;

    /// <summary>Bytes held: the pages and the table's entries (40 bytes each).</summary>
    public long Bytes => ((long)_pages.Count * PageSize * sizeof(ulong)) + (_people.Capacity * 40L);

    public void Add(PersonKey key, int product, long atMs)
    {
        ref var person = ref CollectionsMarshal.GetValueRefOrAddDefault(_people, key, out _);
        var capacity = person.BlockPlusOne == 0 ? 0 : BlockSizes[person.SizeClass];
        if (person.Count == capacity && capacity < RecommendationModel.ViewsPerPerson)
        {
            var sizeClass = capacity == 0 ? 0 : person.SizeClass + 1;
            var block = Allocate(sizeClass);
            if (capacity > 0)
            {
                // Full and never wrapped (only a block of the last size wraps): the views are in order.
                Slots(person.BlockPlusOne - 1, capacity).CopyTo(Slots(block, capacity));
                Free(person.BlockPlusOne - 1, person.SizeClass);
            }
            person.BlockPlusOne = block + 1;
            person.SizeClass = (byte)sizeClass;
            person.Next = person.Count;
            capacity = BlockSizes[sizeClass];
        }
        var seconds = ToSeconds(atMs);
        Slots(person.BlockPlusOne - 1, capacity)[person.Next] = ((ulong)(uint)product << 32) | seconds;
        person.Next = (byte)((person.Next + 1) % capacity);
        person.Count = (byte)Math.Min(capacity, person.Count + 1);
        person.LastSeconds = Math.Max(person.LastSeconds, seconds);
    }

    /// <summary>Adds the person's views (product, time in ms) to <paramref name="views"/>; false when the person is unknown.</summary>
    public bool Views(PersonKey key, List<(int Product, long AtMs)> views)
    {
        if (!_people.TryGetValue(key, out var person) || person.BlockPlusOne == 0)
        {
            return false;
        }
        foreach (var view in Slots(person.BlockPlusOne - 1, person.Count))
        {
            views.Add(((int)(view >> 32), ToMs((uint)view)));
        }
        return true;
    }

    /// <summary>The latest view's time in ms of a known person (null when unknown).</summary>
    public long? LastMs(PersonKey key) => _people.TryGetValue(key, out var person) ? ToMs(person.LastSeconds) : null;

    public bool Remove(PersonKey key)
    {
        if (!_people.Remove(key, out var person))
        {
            return false;
        }
        Free(person.BlockPlusOne - 1, person.SizeClass);
        return true;
    }

    /// <summary>Forgets everyone whose latest view is older than <paramref name="cutoffMs"/>, then gives back what that freed.</summary>
    public void Prune(long cutoffMs)
    {
        foreach (var (key, person) in _people)
        {
            if (ToMs(person.LastSeconds) < cutoffMs)
            {
                _people.Remove(key);
                Free(person.BlockPlusOne - 1, person.SizeClass);
            }
        }
        // Half empty or worse: give the table's slots back (the history load, which does not prune
        // while it reads, leaves it sized for everyone of the horizon).
        if (_people.Capacity > 1024 && _people.Count < _people.Capacity / 2)
        {
            _people.TrimExcess();
        }
        if (_top > PageSize && _freeSlots * 2 > _top)
        {
            Rebuild();
        }
    }

    public void Clear()
    {
        _people.Clear();
        _people.TrimExcess();
        _pages = [];
        _top = 0;
        _freeSlots = 0;
        foreach (var list in _free)
        {
            list.Clear();
        }
    }

    private Span<ulong> Slots(int block, int length) => _pages[block >> PageBits].AsSpan(block & (PageSize - 1), length);

    private int Allocate(int sizeClass)
    {
        var free = _free[sizeClass];
        if (free.Count > 0)
        {
            var reused = free[^1];
            free.RemoveAt(free.Count - 1);
            _freeSlots -= BlockSizes[sizeClass];
            return reused;
        }
        var size = BlockSizes[sizeClass];
        var offset = (int)(_top & (PageSize - 1));
        if (offset + size > PageSize)
        {
            // A block never straddles two pages; the page's tail is left unused.
            _freeSlots += PageSize - offset;
            _top += PageSize - offset;
        }
        if (_top >> PageBits == _pages.Count)
        {
            _pages.Add(new ulong[PageSize]);
        }
        var block = (int)_top;
        _top += size;
        return block;
    }

    private void Free(int block, int sizeClass)
    {
        if (block < 0)
        {
            return;
        }
        _free[sizeClass].Add(block);
        _freeSlots += BlockSizes[sizeClass];
    }

    /// <summary>Copies every block in use to new pages, in the people table's order, and drops the old pages and the free lists.</summary>
    private void Rebuild()
    {
        var old = _pages;
        _pages = [];
        _top = 0;
        _freeSlots = 0;
        foreach (var list in _free)
        {
            list.Clear();
            list.TrimExcess();
        }
        foreach (var key in _people.Keys)
        {
            ref var person = ref CollectionsMarshal.GetValueRefOrNullRef(_people, key);
            var size = BlockSizes[person.SizeClass];
            var from = person.BlockPlusOne - 1;
            var to = Allocate(person.SizeClass);
            old[from >> PageBits].AsSpan(from & (PageSize - 1), size).CopyTo(Slots(to, size));
            person.BlockPlusOne = to + 1;
        }
    }

    /// <summary>Seconds since 2000, clamped to what 32 bits hold (years 2000 to 2136).</summary>
    private static uint ToSeconds(long atMs) => (uint)Math.Clamp((atMs - EpochMs) / 1000, 0, uint.MaxValue);

    private static long ToMs(uint seconds) => EpochMs + (seconds * 1000L);
}

/// <summary>
/// A person's 128-bit key as two halves: <see cref="UInt128"/> is aligned on 16 bytes, which
/// padded every entry of the people table by 8.
/// </summary>
internal readonly record struct PersonKey(ulong Low, ulong High)
{
    public bool Equals(PersonKey other) => Low == other.Low && High == other.High;

    public override int GetHashCode() => (int)Low;
}
