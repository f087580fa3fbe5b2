namespace Atalaya.Engine.Collect;

/// <summary>Running totals of the collector's outcomes, one counter per reject reason.</summary>
public sealed class IngestCounters
{
    private long _accepted;
    private long _duplicates;
    private readonly long[] _rejected = new long[Enum.GetValues<RejectReason>().Length];

    public long Accepted => Interlocked.Read(ref _accepted);

    public long Duplicates => Interlocked.Read(ref _duplicates);

    internal long Rejected(RejectReason reason) => Interlocked.Read(ref _rejected[(int)reason]);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long[]> _bySource = new(StringComparer.Ordinal);

    /// <summary>Accepted, duplicate and rejected events per source system (for /metrics).</summary>
    public IEnumerable<(string Source, long Accepted, long Duplicates, long Rejected)> BySource() =>
        _bySource.Select(kv => (kv.Key, Interlocked.Read(ref kv.Value[0]), Interlocked.Read(ref kv.Value[1]), Interlocked.Read(ref kv.Value[2])));

    public void Record(string source, int accepted, int duplicates, IReadOnlyList<EventRejection> rejected)
    {
        var totals = _bySource.GetOrAdd(source, _ => new long[3]);
        Interlocked.Add(ref totals[0], accepted);
        Interlocked.Add(ref totals[1], duplicates);
        Interlocked.Add(ref totals[2], rejected.Count);
        Record(accepted, duplicates, rejected);
    }

    public void Record(int accepted, int duplicates, IReadOnlyList<EventRejection> rejected)
    {
        Interlocked.Add(ref _accepted, accepted);
        Interlocked.Add(ref _duplicates, duplicates);
        foreach (var r in rejected)
        {
            Interlocked.Increment(ref _rejected[(int)r.Reason]);
        }
    }
}
