using System.CommandLine;
using Atalaya.Engine.Access;
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
        var command = new Command("create", "Create a token; the token is printed once, alone on the last line of stdout.")
        {
            data, role, country, hub, zone, store, source, name,
        };
        command.SetAction(parse =>
        {
            if (!Roles.TryParse(parse.GetValue(role), out var parsedRole))
            {
                return CommonOptions.Fail($"--role must be one of {Roles.AllNames}.");
            }
            var database = HubDatabase.Open(parse.GetValue(data)!);
            var tokens = new TokenStore(database);
            try
            {
                var (token, secret) = tokens.Create(new TokenRequest(parsedRole, parse.GetValue(name),
                    CommonOptions.List(parse.GetValue(country)), CommonOptions.List(parse.GetValue(hub)),
                    CommonOptions.List(parse.GetValue(zone)), CommonOptions.List(parse.GetValue(store)), parse.GetValue(source)));
                AuditCommand.Record(database, "tokens.create", Access.AccessEndpoints.TokenDetails("created", token));
                Console.WriteLine($"Created {Roles.Name(token.Role)} token {token.Id} ({token.Name}). Keep it now: it is not shown again.");
                Console.WriteLine(secret);
                return 0;
            }
            catch (ArgumentException ex)
            {
                return CommonOptions.Fail(ex.Message);
            }
        });
        return command;
    }

    private static Command ListCommand()
    {
        var data = CommonOptions.Data();
        var command = new Command("list", "List tokens (ids, roles, scopes, last use; never the secrets).") { data };
        command.SetAction(parse =>
        {
            var tokens = new TokenStore(HubDatabase.Open(parse.GetValue(data)!)).List();
            var table = new Table().AddColumns("id", "name", "role", "scope", "source", "created", "last used", "revoked");
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
                    Markup.Escape(t.Source ?? ""), t.CreatedAt.ToString("u"), t.LastUsedAt?.ToString("u") ?? "-", t.RevokedAt?.ToString("u") ?? "-");
            }
            if (Console.IsOutputRedirected)
            {
                // Piped into a file or grep: never wrap a row across lines.
                AnsiConsole.Profile.Width = 400;
            }
            AnsiConsole.Write(table);
            return 0;
        });
        return command;
    }

    private static Command RevokeCommand()
    {
        var data = CommonOptions.Data();
        var id = new Argument<string>("ID") { Description = "The token id shown by `tokens list` (tok_…)." };
        var command = new Command("revoke", "Revoke a token; a running server stops accepting it within a second.") { data, id };
        command.SetAction(parse =>
        {
            var tokenId = parse.GetValue(id)!;
            var database = HubDatabase.Open(parse.GetValue(data)!);
            if (!new TokenStore(database).Revoke(tokenId))
            {
                return CommonOptions.Fail($"no active token with id '{tokenId}' (see `atalaya tokens list`).");
            }
            AuditCommand.Record(database, "tokens.revoke", $"{{\"revoked\":\"{tokenId}\"}}");
            Console.WriteLine($"Revoked {tokenId}.");
            return 0;
        });
        return command;
    }
}
