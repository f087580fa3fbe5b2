using System.Globalization;
using System.IO.Hashing;
using System.Text;

namespace Atalaya.Engine.Collect;

/// <summary>
/// Sessions for SDK traffic that carries none (Segment's browser SDK sends no session id;
/// docs/collector.md, "Sessions"): the same person — userId, else anonymousId, the two linked by
/// an event carrying both — with at most 30 minutes between events is one session. Each person's sessions are kept as time spans; an
/// event within 30 minutes of a span (before or after it) joins it and widens it, so a session
/// comes out the same whether its events arrive in order, reversed or shuffled within a request
/// (the pipeline hands a request's events over in time order). The id is a digest of the person
/// and the session's first-known event time, so the same traffic gives the same ids.
///
/// Limits, said plainly: the spans live in memory (a restart starts each person's next session
/// afresh), and an event arriving late that bridges two spans already stored joins the earlier
/// one — events already stored keep their ids, since stored events are never rewritten.
/// </summary>
internal sealed class SegmentSessions
{
    public static readonly long GapMs = (long)TimeSpan.FromMinutes(30).TotalMilliseconds;

    /// <summary>Spans of people not seen for this long (in event time) are forgotten first when the table is full.</summary>
    private const int MaxPeople = 200_000;

    /// <summary>Spans kept per person: the oldest goes first (a returning visitor's sessions of long ago are done).</summary>
    private const int MaxSpansPerPerson = 32;

    private readonly Dictionary<string, List<Span>> _people = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    private sealed class Span(string id, long first, long last)
    {
        public string Id { get; } = id;
        public long First { get; set; } = first;
        public long Last { get; set; } = last;
    }

    /// <summary>
    /// The session id of an event at <paramref name="timestampMs"/> of this userId and/or
    /// anonymousId. The person is the userId, else the anonymousId; an event carrying both links
    /// them, so the visit a browser began anonymously goes on in the same session after a login
    /// (Segment's browser SDK then sends both ids), and server calls with the userId alone join it.
    /// </summary>
    public string Assign(string? userId, string? anonymousId, long timestampMs)
    {
        lock (_lock)
        {
            var user = userId is null ? null : Spans("u:" + userId);
            var anonymous = anonymousId is null ? null : Spans("a:" + anonymousId);
            var joined = Join(user, timestampMs) ?? Join(anonymous, timestampMs);
            if (joined is null)
            {
                joined = new Span(NewId(userId is null ? "a:" + anonymousId : "u:" + userId, timestampMs), timestampMs, timestampMs);
            }
            foreach (var spans in (ReadOnlySpan<List<Span>?>)[user, anonymous])
            {
                if (spans is not null && !spans.Contains(joined))
                {
                    if (spans.Count >= MaxSpansPerPerson)
                    {
                        spans.Remove(spans.MinBy(s => s.Last)!);
                    }
                    spans.Add(joined);
                }
            }
            return joined.Id;
        }
    }

    private List<Span> Spans(string person)
    {
        if (!_people.TryGetValue(person, out var spans))
        {
            if (_people.Count >= MaxPeople)
            {
                Forget();
            }
            spans = [];
            _people[person] = spans;
        }
        return spans;
    }

    /// <summary>The span of <paramref name="spans"/> the event falls in (within 30 minutes of it), widened to hold it; null when none.</summary>
    private static Span? Join(List<Span>? spans, long timestampMs)
    {
        if (spans is null)
        {
            return null;
        }
        Span? joined = null;
        for (var i = 0; i < spans.Count; i++)
        {
            var span = spans[i];
            if (timestampMs < span.First - GapMs || timestampMs > span.Last + GapMs)
            {
                continue;
            }
            if (joined is null)
            {
                joined = span;
                joined.First = Math.Min(joined.First, timestampMs);
                joined.Last = Math.Max(joined.Last, timestampMs);
            }
            else
            {
                // The event bridges two spans: later events of either join the first.
                joined.First = Math.Min(joined.First, span.First);
                joined.Last = Math.Max(joined.Last, span.Last);
                spans.RemoveAt(i--);
            }
        }
        return joined;
    }

    private static string NewId(string person, long timestampMs)
    {
        var digest = XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(person + "|" + timestampMs.ToString(CultureInfo.InvariantCulture)));
        return "sdk-" + digest.ToString("x16", CultureInfo.InvariantCulture);
    }

    /// <summary>Drops the people idle longest (in event time): their next event starts a new session anyway.</summary>
    private void Forget()
    {
        // Lists still empty belong to the call being served: kept.
        var latest = _people.Values.Where(s => s.Count > 0).Select(s => s.Max(span => span.Last)).Order().ToList();
        if (latest.Count == 0)
        {
            return;
        }
        var cutoff = latest[latest.Count / 2];
        foreach (var (person, spans) in _people.ToList())
        {
            if (spans.Count > 0 && spans.Max(s => s.Last) <= cutoff)
            {
                _people.Remove(person);
            }
        }
    }
}
