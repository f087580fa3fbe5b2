using System.Runtime.InteropServices;

namespace Atalaya.Engine.Kpi.Projection;

/// <summary>
/// The earliest checkout_started and the latest purchase_completed of the sessions that have one
/// of them but no completed checkout yet: whether a session completed its checkout (a checkout at
/// or before a purchase) only needs those two times until it has, and once it has it stays so
/// (the earliest checkout only moves earlier, the latest purchase only later), so the session row
/// takes <see cref="SessionFlags.CheckoutCompleted"/> and the entry is dropped. A few percent of
/// sessions have an entry; keeping the two times in every row cost 16 of its 48 bytes.
/// </summary>
internal sealed class CheckoutTimes
{
    private readonly Dictionary<int, (long FirstCheckout, long LastPurchase)> _pending = [];

    /// <summary>Sessions with a checkout or a purchase and no completed checkout.</summary>
    public int Count => _pending.Count;

    /// <summary>
    /// A checkout_started or purchase_completed at <paramref name="ts"/> joined <paramref name="session"/>,
    /// whose <paramref name="flags"/> already include its step: sets <see cref="SessionFlags.CheckoutCompleted"/>
    /// when the session now has a checkout at or before a purchase.
    /// </summary>
    public void Add(int session, EventKind kind, long ts, ref SessionFlags flags)
    {
        if ((flags & SessionFlags.CheckoutCompleted) != 0)
        {
            return;
        }
        ref var times = ref CollectionsMarshal.GetValueRefOrAddDefault(_pending, session, out var exists);
        if (!exists)
        {
            times = (long.MaxValue, long.MinValue);
        }
        if (kind == EventKind.CheckoutStarted)
        {
            times.FirstCheckout = Math.Min(times.FirstCheckout, ts);
        }
        else
        {
            times.LastPurchase = Math.Max(times.LastPurchase, ts);
        }
        const SessionFlags both = SessionFlags.CheckoutStarted | SessionFlags.Purchase;
        if ((flags & both) == both && times.FirstCheckout <= times.LastPurchase)
        {
            flags |= SessionFlags.CheckoutCompleted;
            _pending.Remove(session);
        }
    }

    internal void Write(BinaryWriter w)
    {
        w.Write(_pending.Count);
        foreach (var (session, times) in _pending)
        {
            w.Write(session);
            w.Write(times.FirstCheckout);
            w.Write(times.LastPurchase);
        }
    }

    internal void Read(BinaryReader r)
    {
        var count = r.ReadInt32();
        if (count < 0)
        {
            throw new InvalidDataException($"{count} pending checkouts");
        }
        _pending.EnsureCapacity(count);
        for (var n = 0; n < count; n++)
        {
            _pending[r.ReadInt32()] = (r.ReadInt64(), r.ReadInt64());
        }
    }
}
