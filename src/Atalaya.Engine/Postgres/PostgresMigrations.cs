namespace Atalaya.Engine.Postgres;

/// <summary>
/// The PostgreSQL schema, step by step: <c>schema_version</c> records the steps applied, and
/// <see cref="PostgresState.Open"/> applies the rest. Append new steps at the end; never edit one a
/// database may already have applied.
/// </summary>
internal static class PostgresMigrations
{
    public static IReadOnlyList<string> Steps { get; } =
    [
        // 1: tokens, as the data folder's `tokens` table (Storage/Migrations.cs): the same columns and
        // meanings, times as unix milliseconds, scope lists comma-separated, the secret only as its
        // SHA-256 hash.
        """
        CREATE TABLE tokens (
            id            text PRIMARY KEY,
            name          text NOT NULL,
            role          text NOT NULL,
            countries     text NOT NULL DEFAULT '',
            hubs          text NOT NULL DEFAULT '',
            zones         text NOT NULL DEFAULT '',
            stores        text NOT NULL DEFAULT '',
            source        text,
            secret_hash   bytea NOT NULL UNIQUE,
            created_at    bigint NOT NULL,
            last_used_at  bigint,
            revoked_at    bigint,
            expires_at    bigint
        );
        """,
    ];
}
