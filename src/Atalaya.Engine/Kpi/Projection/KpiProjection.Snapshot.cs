namespace Atalaya.Engine.Kpi.Projection;

/// <summary>
/// Snapshots: the whole projection written to one binary file (pools, chunk columns, tables) with
/// the storage sequence number it reflects, so a restart reads it back in about a second and then
/// applies only the blocks stored after it instead of re-reading every event's JSON. The file is a
/// cache: the raw log stays the truth, and a missing, old-format or inconsistent snapshot is
/// ignored and the projection rebuilt from raw.
/// </summary>
public sealed partial class KpiProjection
{
    private const string Magic = "atalaya-kpi-projection";
    // 12 (10 and 11 were short-lived layouts on a branch): the hour rollup's page views and store
    // visits per hour, the visit log, and the chunk section's length before it, so that section
    // can be read on a second thread.
    // 13: the order ledger (final statuses per order with refunded and reversed amounts, CANCELADO)
    // replaces the first final status per order and status; the rollup's final-status family has
    // cancellations, refund lines and reversed commissions. A 12 is rebuilt from raw.
    // 14: the visit log's entries carry their country (visitors by country from the log). A 13 is rebuilt from raw.
    // 15: session rows of 32 bytes (no checkout and purchase times: a completed-checkout flag, and
    // the times of sessions not yet completed in a table of their own); the order ledger's facts in
    // flat arrays chained per order; the chunks' event types in two bytes (wider ids aside). A 14 is
    // rebuilt from raw.
    private const int FormatVersion = 15;

    /// <summary>Writes the projection. Call under <see cref="Read"/> (the writer is held off meanwhile).</summary>
    public void Save(Stream stream)
    {
        using var w = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write(FormatVersion);
        w.Write(LastSeq);
        w.Write(_count);
        foreach (var pool in AllPools)
        {
            pool.Write(w);
        }
        foreach (var pool in AllIdPools)
        {
            pool.Write(w);
        }
        Combos.Write(w);
        // The chunk section's length goes before it (patched once written), so a reader can skip it.
        w.Flush();
        var lengthAt = stream.Position;
        w.Write(0L);
        w.Write(_chunks.Count);
        foreach (var c in _chunks)
        {
            w.Write(c.Count);
            w.Write(c.MinTs);
            w.Write(c.MaxTs);
            ProjectionSnapshot.WriteArray<long>(w, c.Ts);
            ProjectionSnapshot.WriteArray<ushort>(w, c.Type);
            w.Write(c.WideTypes?.Count ?? 0);
            foreach (var (at, type) in c.WideTypes ?? [])
            {
                w.Write(at);
                w.Write(type);
            }
            ProjectionSnapshot.WriteArray(w, System.Runtime.InteropServices.MemoryMarshal.Cast<EventKind, byte>(c.Kind));
            ProjectionSnapshot.WriteArray(w, System.Runtime.InteropServices.MemoryMarshal.Cast<EventFlags, byte>(c.Flags));
            foreach (var column in new[] { c.Combo, c.User, c.Aux })
            {
                ProjectionSnapshot.WriteArray<int>(w, column);
            }
            ProjectionSnapshot.WriteArray<int>(w, c.Combos.Order().ToArray());
        }
        w.Flush();
        var end = stream.Position;
        stream.Position = lengthAt;
        w.Write(end - lengthAt - sizeof(long));
        w.Flush();
        stream.Position = end;
        // Only the sessions that exist: the array's spare capacity would be read back as used memory.
        ProjectionSnapshot.WriteArray<SessionRow>(w, _sessions.Raw.AsSpan(0, Math.Min(_sessions.Length, SessionCount + 1)));
        ProjectionSnapshot.WriteArray<int>(w, _orderFirst.Raw);
        ProjectionSnapshot.WriteArray<StoreRow>(w, _stores.Raw);
        Checkouts.Write(w);
        Ledger.Write(w);
        w.Write(_productNames.Count);
        foreach (var (key, name) in _productNames)
        {
            w.Write(key);
            w.Write(name.Name ?? "");
            w.Write(name.TimestampMs);
        }
        _items.Write(w);
        Kinds.Write(w);
        Rollup.Write(w);
        Visits.Write(w);
        w.Write(Magic);
    }

    /// <summary>
    /// Reads a snapshot into this (empty) projection; throws <see cref="InvalidDataException"/> if
    /// it is not one this build wrote. With <paramref name="reopen"/> (a second stream over the same
    /// bytes) the event chunks, about a third of the file, are read on another thread meanwhile:
    /// at 10M events most of a load is the first touch of fresh memory, which two cores share.
    /// </summary>
    public void Load(Stream stream, Func<Stream>? reopen = null)
    {
        using var r = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        if (r.ReadString() != Magic || r.ReadInt32() != FormatVersion)
        {
            throw new InvalidDataException("not a snapshot of this format");
        }
        LastSeq = r.ReadInt64();
        _count = r.ReadInt64();
        foreach (var pool in AllPools)
        {
            pool.Read(r);
        }
        foreach (var pool in AllIdPools)
        {
            pool.Read(r);
        }
        Combos.Read(r);
        var chunkBytes = r.ReadInt64();
        var chunksAt = stream.Position;
        if (chunkBytes < sizeof(int) || chunksAt + chunkBytes > stream.Length)
        {
            throw new InvalidDataException("a chunk section of the wrong length");
        }
        Task<List<EventChunk>>? chunksRead = null;
        if (reopen is null)
        {
            _chunks.AddRange(ReadChunks(r));
        }
        else
        {
            chunksRead = Task.Run(() =>
            {
                using var second = reopen();
                second.Position = chunksAt;
                using var reader = new BinaryReader(second, System.Text.Encoding.UTF8, leaveOpen: true);
                return ReadChunks(reader);
            });
            stream.Position = chunksAt + chunkBytes;
        }
        try
        {
            LoadAfterChunks(r);
        }
        finally
        {
            // Waited for even when the rest failed, so no read outlives the load.
            if (chunksRead is not null)
            {
                _chunks.AddRange(chunksRead.GetAwaiter().GetResult());
            }
        }
    }

    private static List<EventChunk> ReadChunks(BinaryReader r)
    {
        var chunks = new List<EventChunk>();
        for (var k = r.ReadInt32(); k > 0; k--)
        {
            var c = new EventChunk { Count = r.ReadInt32(), MinTs = r.ReadInt64(), MaxTs = r.ReadInt64() };
            ProjectionSnapshot.ReadInto(r, c.Ts);
            ProjectionSnapshot.ReadInto(r, c.Type);
            for (var wide = r.ReadInt32(); wide > 0; wide--)
            {
                var at = r.ReadInt32();
                var type = r.ReadInt32();
                if (at < 0 || at >= c.Count || c.Type[at] != EventChunk.WideType || type < EventChunk.WideType)
                {
                    throw new InvalidDataException("a chunk's wide event type out of place");
                }
                (c.WideTypes ??= [])[at] = type;
            }
            if ((c.WideTypes?.Count ?? 0) != c.Type.AsSpan(0, Math.Clamp(c.Count, 0, EventChunk.Size)).Count(EventChunk.WideType))
            {
                throw new InvalidDataException("a chunk's event type without its wide id");
            }
            ProjectionSnapshot.ReadInto(r, System.Runtime.CompilerServices.Unsafe.As<byte[]>(c.Kind));
            ProjectionSnapshot.ReadInto(r, System.Runtime.CompilerServices.Unsafe.As<byte[]>(c.Flags));
            foreach (var column in new[] { c.Combo, c.User, c.Aux })
            {
                ProjectionSnapshot.ReadInto(r, column);
            }
            c.Combos.UnionWith(ProjectionSnapshot.ReadArray<int>(r));
            chunks.Add(c);
        }
        return chunks;
    }

    /// <summary>Everything after the chunk section: tables, kinds, rollup, visit log, then what is derived from them.</summary>
    private void LoadAfterChunks(BinaryReader r)
    {
        _sessions.Raw = ProjectionSnapshot.ReadArray<SessionRow>(r);
        _orderFirst.Raw = ProjectionSnapshot.ReadArray<int>(r);
        _stores.Raw = ProjectionSnapshot.ReadArray<StoreRow>(r);
        Checkouts.Read(r);
        Ledger.Read(r);
        for (var n = r.ReadInt32(); n > 0; n--)
        {
            _productNames[r.ReadInt64()] = new ProductName(r.ReadString(), r.ReadInt64());
        }
        _items.Read(r);
        Kinds.Read(r);
        Rollup.Read(r);
        Visits.Read(r);
        if (r.ReadString() != Magic)
        {
            throw new InvalidDataException("the snapshot is truncated");
        }
        for (var type = 1; type <= Pools.Types.Count; type++)
        {
            Pools.KindOf(type);
        }
        Customers.Rebuild(Kinds[EventKind.PurchaseCompleted]);
        var sessions = _sessions.Raw;
        for (var id = 1; id < sessions.Length; id++)
        {
            if (sessions[id].FirstEvent >= 0 && sessions[id].Events > 0)
            {
                WidenSessionBlock(id, sessions[id].FirstTs);
            }
        }
    }

    private StringPool[] AllPools => [Pools.Types, Pools.Dimension, Pools.Stores, Pools.Products];

    private HashedIdPool[] AllIdPools => [Pools.Users, Pools.Sessions, Pools.Orders];
}
