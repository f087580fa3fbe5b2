using System.CommandLine;
using Atalaya.Engine.Access;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Storage;
using Spectre.Console;

namespace Atalaya.Cli;

/// <summary><c>atalaya tokens create|list|revoke</c>: manage API tokens and write keys.</summary>
public static class TokensCommand
{
    public static Command Create()
    {
        var command = new Command("tokens", "Create, list and revoke API tokens and collector write keys.");
        command.Add(CreateCommand());
        command.Add(ListCommand());
        command.Add(RevokeCommand());
        return command;
    }

    private static Command CreateCommand()
    {
        var data = CommonOptions.Data();
        var role = new Option<string>("--role") { Description = $"One of {Roles.AllNames}.", Required = true, HelpName = "ROLE" };
        var country = new Option<string?>("--country") { Description = "Comma list of country codes (country_ops_lead).", HelpName = "LIST" };
        var hub = new Option<string?>("--hub") { Description = "Comma list of hubs to narrow a country_ops_lead to.", HelpName = "LIST" };
        var zone = new Option<string?>("--zone") { Description = "Comma list of zones to narrow a country_ops_lead to.", HelpName = "LIST" };
        var store = new Option<string?>("--store") { Description = "Comma list of store ids (vendor).", HelpName = "LIST" };
        var source = new Option<string?>("--source") { Description = "Source system of a write key (e.g. web, ios, backend); default 'default'.", HelpName = "NAME" };
        var name = new Option<string?>("--name") { Description = "A label to recognise the token by.", HelpName = "LABEL" };
        var expires = new Option<string?>("--expires")
        {
            Description = "When the token stops working: a duration from now (90d, 12h) or a UTC date (2027-01-31). Default: never.",
            HelpName = "WHEN",
        };
        var postgres = CommonOptions.Postgres("Create the token");
        var command = new Command("create", "Create a token; the token is printed once, alone on the last line of stdout.")
        {
            data, role, country, hub, zone, store, source, name, expires, postgres,
        };
        command.SetAction(parse =>
        {
            if (!Roles.TryParse(parse.GetValue(role), out var parsedRole))
            {
                return CommonOptions.Fail($"--role must be one of {Roles.AllNames}.");
            }
            DateTimeOffset? expiresAt = null;
            if (parse.GetValue(expires) is { } when)
            {
                if (ParseExpiry(when, DateTimeOffset.UtcNow) is not { } at)
                {
                    return CommonOptions.Fail($"--expires: '{when}' is neither a duration like 90d or 12h nor a date like 2027-01-31.");
                }
                expiresAt = at;
            }
            var database = HubDatabase.Open(parse.GetValue(data)!);
            return OnStore(parse, database, postgres, (tokens, shared) =>
            {
                var (token, secret) = tokens.Create(new TokenRequest(parsedRole, parse.GetValue(name),
                    CommonOptions.List(parse.GetValue(country)), CommonOptions.List(parse.GetValue(hub)),
                    CommonOptions.List(parse.GetValue(zone)), CommonOptions.List(parse.GetValue(store)), parse.GetValue(source), expiresAt));
                AuditCommand.Record(database, shared, "tokens.create", Access.AccessEndpoints.TokenDetails("created", token));
                // The data folder knows the stores of its own events only, not a cluster's: no warning then.
                var unknownStores = parse.GetValue(postgres) is null ? Access.AccessEndpoints.UnknownStores(database, token.Stores) : [];
                foreach (var unknown in unknownStores)
                {
                    Console.Error.WriteLine("warning: " + Access.AccessEndpoints.UnknownStoreWarning(unknown));
                }
                var expiry = token.ExpiresAt is { } e ? $", expires {e:u}" : "";
                Console.WriteLine($"Created {Roles.Name(token.Role)} token {token.Id} ({token.Name}{expiry}). Keep it now: it is not shown again.");
                Console.WriteLine(secret);
                return 0;
            });
        });
        return command;
    }

    /// <summary>The option that carries a token request's field.</summary>
    private static string Flag(string field) => field switch
    {
        "countries" => "--country",
        "hubs" => "--hub",
        "zones" => "--zone",
        "stores" => "--store",
        "expires_at" => "--expires",
        _ => "--" + field,
    };

    /// <summary>"90d", "12h" (from <paramref name="now"/>) or a UTC date "2027-01-31"; null when it is neither.</summary>
    internal static DateTimeOffset? ParseExpiry(string text, DateTimeOffset now)
    {
        text = text.Trim();
        if (text.Length >= 2 && char.ToLowerInvariant(text[^1]) is 'd' or 'h'
            && int.TryParse(text.AsSpan(0, text.Length - 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n is > 0 and <= 36_500)
        {
            return char.ToLowerInvariant(text[^1]) == 'd' ? now.AddDays(n) : now.AddHours(n);
        }
        return DateOnly.TryParseExact(text, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var day)
            ? new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero)
            : null;
    }

    private static Command ListCommand()
    {
        var data = CommonOptions.Data();
        var postgres = CommonOptions.Postgres("List the tokens");
        var command = new Command("list", "List tokens (ids, roles, scopes, last use; never the secrets).") { data, postgres };
        command.SetAction(parse => OnStore(parse, HubDatabase.Open(parse.GetValue(data)!), postgres, (store, _) =>
        {
            var tokens = store.List();
            var table = new Table().AddColumns("id", "name", "role", "scope", "source", "created", "last used", "revoked", "expires");
            foreach (var t in tokens)
            {
                var scope = string.Join(" ", new[]
                {
                    t.Countries.Count > 0 ? "country=" + string.Join(',', t.Countries) : null,
                    t.Hubs.Count > 0 ? "hub=" + string.Join(',', t.Hubs) : null,
                    t.Zones.Count > 0 ? "zone=" + string.Join(',', t.Zones) : null,
                    t.Stores.Count > 0 ? "store=" + string.Join(',', t.Stores) : null,
                }.Where(s => s is not null));
                table.AddRow(Markup.Escape(t.Id), Markup.Escape(t.Name), Roles.Name(t.Role), Markup.Escape(scope.Length == 0 ? "all" : scope),
                    Markup.Escape(t.Source ?? ""), t.CreatedAt.ToString("u"), t.LastUsedAt?.ToString("u") ?? "-", t.RevokedAt?.ToString("u") ?? "-", t.ExpiresAt?.ToString("u") ?? "never");
            }
            if (Console.IsOutputRedirected)
            {
                // Piped into a file or grep: never wrap a row across lines.
                AnsiConsole.Profile.Width = 400;
            }
            AnsiConsole.Write(table);
            return 0;
        }));
        return command;
    }

    private static Command RevokeCommand()
    {
        var data = CommonOptions.Data();
        var id = new Argument<string>("ID") { Description = "The token id shown by `tokens list` (tok_…)." };
        var postgres = CommonOptions.Postgres("Revoke the token");
        var command = new Command("revoke", "Revoke a token; a running server (every cluster node, with --postgres) stops accepting it within a second.") { data, id, postgres };
        command.SetAction(parse =>
        {
            var tokenId = parse.GetValue(id)!;
            var database = HubDatabase.Open(parse.GetValue(data)!);
            return OnStore(parse, database, postgres, (tokens, shared) =>
            {
                if (!tokens.Revoke(tokenId))
                {
                    return CommonOptions.Fail($"no active token with id '{tokenId}' (see `atalaya tokens list`{(parse.GetValue(postgres) is null ? "" : " --postgres …")}).");
                }
                AuditCommand.Record(database, shared, "tokens.revoke", $"{{\"revoked\":\"{tokenId}\"}}");
                Console.WriteLine($"Revoked {tokenId}.");
                return 0;
            });
        });
        return command;
    }

    /// <summary>
    /// Runs <paramref name="run"/> on the tokens of the cluster's PostgreSQL when <c>--postgres</c> is
    /// given, else of the data folder; the audit entry of a change goes to the same place.
    /// </summary>
    private static int OnStore(ParseResult parse, HubDatabase database, Option<string?> postgres, Func<TokenStore, PostgresState?, int> run)
    {
        using var shared = parse.GetValue(postgres) is { } connectionString ? CommonOptions.OpenPostgres(connectionString) : null;
        if (parse.GetValue(postgres) is not null && shared is null)
        {
            return 2;
        }
        try
        {
            return run(shared is null ? new TokenStore(database) : new TokenStore(shared), shared);
        }
        catch (TokenRequestException ex)
        {
            return CommonOptions.Fail($"{Flag(ex.Field)}: {ex.Problem}");
        }
        catch (StateUnavailableException ex)
        {
            return CommonOptions.Fail($"--postgres: {ex.Message}. Start the server, or check Host and Port in the connection string.");
        }
    }
}
