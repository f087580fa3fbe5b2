namespace Atalaya.Engine.Collect;

/// <summary>Running totals of the collector's outcomes, one counter per reject reason.</summary>
public sealed class IngestCounters
{
    private long _accepted;
    private long _duplicates;
    private readonly long[] _rejected = new long[Enum.GetValues<RejectReason>().Length];

    public long Accepted => Interlocked.Read(ref _accepted);

    public long Duplicates => Interlocked.Read(ref _duplicates);

    public long Rejected(RejectReason reason) => Interlocked.Read(ref _rejected[(int)reason]);

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
