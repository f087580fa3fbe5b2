using System.Collections.Concurrent;

namespace Atalaya.Engine.Kpi.Query;

/// <summary>
/// Tallies kept for the next query of the same shape (a dashboard asks a handful: the summary's,
/// the overview's): <see cref="ChurnTally"/> for churn, <see cref="CustomerTally"/> for new and
/// returning customers. One per projection and kind; a query holds a tally's lock while it carries
/// it on and reads it, so two readers of the same summary share it instead of each counting its
/// days anew. Bounded at <see cref="MaxTallies"/>: a tally holds a dictionary entry per member of
/// its window.
/// </summary>
internal sealed class KeptTallies<T>
    where T : class
{
    private const int MaxTallies = 8;

    private readonly ConcurrentDictionary<string, Holder> _tallies = new();

    /// <summary>A tally's slot: its lock and the tally (null until counted, or after the columns changed under it).</summary>
    public sealed class Holder
    {
        public readonly Lock Gate = new();
        public T? Tally;
    }

    public KeptTallies()
    {
        // The tallies are rebuilt on demand: dropped with the scratch pools when the hub is idle.
        var tallies = new WeakReference<KeptTallies<T>>(this);
        Storage.ScratchMemory.RegisterHolder(() =>
        {
            if (tallies.TryGetTarget(out var target))
            {
                target._tallies.Clear();
            }
        });
    }

    /// <summary>The slot for <paramref name="key"/>; lock its gate while using it.</summary>
    public Holder For(string key)
    {
        if (_tallies.TryGetValue(key, out var holder))
        {
            return holder;
        }
        if (_tallies.Count >= MaxTallies)
        {
            _tallies.Clear();
        }
        return _tallies.GetOrAdd(key, _ => new Holder());
    }
}
