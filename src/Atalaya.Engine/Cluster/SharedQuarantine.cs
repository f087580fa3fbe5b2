using System.Text.Json;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Storage;
using Npgsql;
using NpgsqlTypes;

namespace Atalaya.Engine.Cluster;

/// <summary>
/// The quarantine of a cluster's collectors started with <c>--postgres</c> (docs/collector.md,
/// docs/scale-out.md): every node writes the events it refuses into PostgreSQL's
/// <c>failed_events</c> and <c>quarantine_overflow</c>, so they are found in one place. The bounds
/// are the embedded hub's (<see cref="AppendBatch.QuarantineKeep"/>): the first
/// <c>--quarantine-per-request</c> rejections of a request stored whole, at most
/// <c>--quarantine-per-source-hour</c> per source and clock hour, the rest counted. The hourly
/// budget is counted in PostgreSQL (<c>quarantine_budget</c>, its row locked for the transaction),
/// so it holds across every node, not per node.
/// </summary>
internal sealed class SharedQuarantine(PostgresState state, int perSourcePerHour)
{
    /// <summary>
    /// The stored rejections whose payload names one of the ids (each given as its JSON string, so
    /// that a longer id holding it is not taken for it): an access request's quarantined part
    /// (docs/privacy.md), as <c>received_at</c> (ISO), <c>reason</c> and <c>payload</c>.
    /// </summary>
    /// <exception cref="StateUnavailableException">PostgreSQL cannot be reached.</exception>
    public List<System.Text.Json.Nodes.JsonObject> Naming(IReadOnlyList<string> quotedIds) => state.Run(connection =>
    {
        var found = new List<System.Text.Json.Nodes.JsonObject>();
        using var command = new NpgsqlCommand("""
            SELECT received_at, reason, payload FROM failed_events
            WHERE EXISTS (SELECT 1 FROM unnest(@ids) AS id WHERE strpos(payload, id) > 0) ORDER BY id;
            """, connection);
        command.Parameters.AddWithValue("ids", quotedIds.ToArray());
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            found.Add(new System.Text.Json.Nodes.JsonObject
            {
                ["received_at"] = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(0)).UtcDateTime
                    .ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture),
                ["reason"] = reader.GetString(1),
                ["payload"] = reader.GetString(2),
            });
        }
        return found;
    });

    /// <summary>
    /// An erasure's part (docs/privacy.md): every stored rejection whose payload names one of the ids
    /// (each as its JSON string) gets <paramref name="scrub"/>'s payload, in one transaction. Returns
    /// how many named them; running it again finds none.
    /// </summary>
    /// <exception cref="StateUnavailableException">PostgreSQL cannot be reached.</exception>
    public int Scrub(IReadOnlyList<string> quotedIds, Func<string, string> scrub) => state.Run(connection =>
    {
        using var transaction = connection.BeginTransaction();
        var rows = new List<(long Id, string Payload)>();
        using (var read = new NpgsqlCommand("""
            SELECT id, payload FROM failed_events
            WHERE EXISTS (SELECT 1 FROM unnest(@ids) AS id WHERE strpos(payload, id) > 0) ORDER BY id FOR UPDATE;
            """, connection, transaction))
        {
            read.Parameters.AddWithValue("ids", quotedIds.ToArray());
            using var reader = read.ExecuteReader();
            while (reader.Read())
            {
                rows.Add((reader.GetInt64(0), reader.GetString(1)));
            }
        }
        using var write = new NpgsqlCommand("UPDATE failed_events SET payload = @payload WHERE id = @id;", connection, transaction);
        var id = write.Parameters.Add("id", NpgsqlDbType.Bigint);
        var payload = write.Parameters.Add("payload", NpgsqlDbType.Text);
        foreach (var row in rows)
        {
            id.Value = row.Id;
            payload.Value = scrub(row.Payload);
            write.ExecuteNonQuery();
        }
        transaction.Commit();
        return rows.Count;
    });

    /// <summary>Stores the request's rejections within the bounds; returns how many were stored whole.</summary>
    /// <exception cref="StateUnavailableException">PostgreSQL cannot be reached.</exception>
    public int Write(AppendBatch batch)
    {
        var rejected = batch.Rejected;
        if (rejected.Count == 0)
        {
            return 0;
        }
        var hour = batch.ReceivedAtMs / 3_600_000;
        return state.Run(connection =>
        {
            using var transaction = connection.BeginTransaction();
            using (var budget = new NpgsqlCommand("""
                INSERT INTO quarantine_budget (source_system, hour, used) VALUES (@source, @hour, 0) ON CONFLICT DO NOTHING;
                """, connection, transaction))
            {
                budget.Parameters.AddWithValue("source", batch.SourceSystem);
                budget.Parameters.AddWithValue("hour", hour);
                if (budget.ExecuteNonQuery() == 1)
                {
                    // The source's first rejection of a new hour: its past hours' counts are no longer needed.
                    using var old = new NpgsqlCommand("DELETE FROM quarantine_budget WHERE source_system = @source AND hour < @hour;", connection, transaction);
                    old.Parameters.AddWithValue("source", batch.SourceSystem);
                    old.Parameters.AddWithValue("hour", hour);
                    old.ExecuteNonQuery();
                }
            }
            int used;
            using (var read = new NpgsqlCommand("SELECT used FROM quarantine_budget WHERE source_system = @source AND hour = @hour FOR UPDATE;", connection, transaction))
            {
                // The row stays locked until commit: another node's request of the same source waits here, then sees this one's rows counted.
                read.Parameters.AddWithValue("source", batch.SourceSystem);
                read.Parameters.AddWithValue("hour", hour);
                used = (int)read.ExecuteScalar()!;
            }
            var keep = batch.QuarantineKeep(perSourcePerHour, used);
            if (keep > 0)
            {
                using var insert = new NpgsqlCommand("""
                    INSERT INTO failed_events (received_at, source_system, request_index, event_id, reason, errors, payload)
                    SELECT @received, @source, i, e, r, x, p FROM unnest(@indexes, @ids, @reasons, @errors, @payloads) AS t(i, e, r, x, p);
                    """, connection, transaction);
                var kept = rejected.Take(keep).ToList();
                insert.Parameters.AddWithValue("received", batch.ReceivedAtMs);
                insert.Parameters.AddWithValue("source", batch.SourceSystem);
                insert.Parameters.AddWithValue("indexes", kept.Select(r => r.RequestIndex).ToArray());
                insert.Parameters.AddWithValue("ids", NpgsqlDbType.Array | NpgsqlDbType.Text, kept.Select(r => (object?)r.EventId ?? DBNull.Value).ToArray());
                insert.Parameters.AddWithValue("reasons", kept.Select(r => r.Reason).ToArray());
                insert.Parameters.AddWithValue("errors", kept.Select(r => JsonSerializer.Serialize(r.Errors, EngineJson.Relaxed.IReadOnlyListString)).ToArray());
                insert.Parameters.AddWithValue("payloads", kept.Select(r => r.Payload).ToArray());
                insert.ExecuteNonQuery();
                using var count = new NpgsqlCommand("UPDATE quarantine_budget SET used = used + @keep WHERE source_system = @source AND hour = @hour;", connection, transaction);
                count.Parameters.AddWithValue("keep", keep);
                count.Parameters.AddWithValue("source", batch.SourceSystem);
                count.Parameters.AddWithValue("hour", hour);
                count.ExecuteNonQuery();
            }
            if (keep < rejected.Count)
            {
                using var overflow = new NpgsqlCommand("""
                    INSERT INTO quarantine_overflow (received_at, source_system, rejected, kept) VALUES (@received, @source, @rejected, @kept);
                    """, connection, transaction);
                overflow.Parameters.AddWithValue("received", batch.ReceivedAtMs);
                overflow.Parameters.AddWithValue("source", batch.SourceSystem);
                overflow.Parameters.AddWithValue("rejected", rejected.Count);
                overflow.Parameters.AddWithValue("kept", keep);
                overflow.ExecuteNonQuery();
            }
            transaction.Commit();
            return keep;
        });
    }
}
