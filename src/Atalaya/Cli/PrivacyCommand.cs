using System.CommandLine;
using Atalaya.Engine.Privacy;

namespace Atalaya.Cli;

/// <summary>
/// <c>atalaya privacy erase --user ID | --anonymous ID</c> and <c>atalaya privacy export …</c>: the
/// erasure and access requests of docs/privacy.md, on a data folder no server has open (a running
/// server answers <c>POST /api/privacy/erasure</c> and <c>GET /api/privacy/export</c> instead), or
/// with <c>--clickhouse --rabbitmq [--postgres]</c> on a cluster, as a node answers them.
/// </summary>
public static class PrivacyCommand
{
    public static Command Create()
    {
        return new Command("privacy", "Erasure and access requests for one person (docs/privacy.md).") { Erase(), Export() };
    }

    private static (Option<string?> User, Option<string?> Anonymous) PersonOptions() => (
        new Option<string?>("--user") { Description = "The person's user_id.", HelpName = "ID" },
        new Option<string?>("--anonymous") { Description = "The person's anonymous_id (instead of --user).", HelpName = "ID" });

    /// <summary>The person named by exactly one of the options, or the problem.</summary>
    internal static (PersonRef? Person, string? Problem) Person(string? user, string? anonymous)
    {
        if ((user is null) == (anonymous is null))
        {
            return (null, "name the person with exactly one of --user ID or --anonymous ID.");
        }
        var id = user ?? anonymous!;
        if (string.IsNullOrWhiteSpace(id) || id.Length > PersonRef.MaxLength)
        {
            return (null, $"{(user is null ? "--anonymous" : "--user")}: must be a non-empty id of at most {PersonRef.MaxLength} characters.");
        }
        return (new PersonRef(id, user is not null), null);
    }

    private static Command Erase()
    {
        var data = CommonOptions.Data();
        var (user, anonymous) = PersonOptions();
        var target = new ClusterTarget(
            "act on a cluster, whose events are searched and rewritten in this ClickHouse",
            "through which an erasure re-keys every node's figures",
            "On a cluster: the record of erasures, the refused events and the audit log")
        {
            PostgresNeededFor = "erasing a person on a cluster needs its PostgreSQL (--postgres CONNSTRING, as given to its serve nodes): the plan and the record of erasures are shared by every node. Nothing was changed.",
        };
        var command = new Command("erase",
            "Erase one person: their ids become a random pseudonym and their IP, user agent, traits, e-mail/phone values and URL query strings are removed everywhere; every KPI figure stays as it was. Audited with the id hashed.")
        {
            data, user, anonymous,
        };
        target.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var (person, problem) = Person(parse.GetValue(user), parse.GetValue(anonymous));
            if (person is not { } p)
            {
                return CommonOptions.Fail(problem!);
            }
            return await target.RunAsync(parse, parse.GetValue(data)!, async hub =>
            {
                var started = System.Diagnostics.Stopwatch.StartNew();
                var actor = $"cli:{Environment.UserName}";
                var outcome = hub.ClusterErasure is { } onCluster
                    ? await onCluster.EraseAsync(p, actor, "cli", ct: ct)
                    : await hub.Erasure.EraseAsync(p, actor, "cli");
                var unit = hub.ClusterErasure is null ? $" in {outcome.Blocks:N0} block(s)" : " in ClickHouse";
                switch (outcome.Status)
                {
                    case ErasureStatus.NotFound:
                        return CommonOptions.Fail($"no data stored for that {p.Kind} ({outcome.PersonHash}); check the id, or export it first with `atalaya privacy export`.");
                    case ErasureStatus.AlreadyErased:
                        Console.WriteLine($"Already erased by {outcome.ErasureId}; nothing stored names that {p.Kind} any more.");
                        return 0;
                    default:
                        Console.WriteLine($"Erased {outcome.ErasureId}: {outcome.Ids} id(s), {outcome.Events:N0} event(s){unit}, {outcome.Quarantined} quarantined payload(s), in {started.Elapsed.TotalSeconds:F2} s.");
                        return 0;
                }
            });
        });
        return command;
    }

    private static Command Export()
    {
        var data = CommonOptions.Data();
        var (user, anonymous) = PersonOptions();
        var output = new Option<FileInfo?>("--out") { Description = "Write the JSON there instead of to standard output.", HelpName = "FILE" };
        var target = new ClusterTarget(
            "act on a cluster, whose events are searched in this ClickHouse",
            "as given to its serve nodes",
            "On a cluster: the refused events and the audit log");
        var command = new Command("export", "Everything stored about one person as JSON (an access request's answer). Audited with the id hashed.")
        {
            data, user, anonymous, output,
        };
        target.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var (person, problem) = Person(parse.GetValue(user), parse.GetValue(anonymous));
            if (person is not { } p)
            {
                return CommonOptions.Fail(problem!);
            }
            return await target.RunAsync(parse, parse.GetValue(data)!, async hub =>
            {
                var json = PersonExport.Build(hub.PersonalData, p);
                await hub.Audit.AppendAsync(new Engine.Audit.AuditEntry(DateTimeOffset.UtcNow, $"cli:{Environment.UserName}", "cli", "privacy.export",
                    $$"""{"person":"{{PersonIds.Hash(p.Id)}}"}""", "{}", "{}", json is null ? 0 : 1, json is null ? 404 : 200));
                if (json is null)
                {
                    return CommonOptions.Fail($"no data stored for that {p.Kind}.");
                }
                if (parse.GetValue(output) is { } file)
                {
                    await File.WriteAllBytesAsync(file.FullName, json, ct);
                    Console.WriteLine($"Wrote {file.FullName} ({json.Length:N0} bytes).");
                }
                else
                {
                    await using var stdout = Console.OpenStandardOutput();
                    await stdout.WriteAsync(json, ct);
                    Console.WriteLine();
                }
                return 0;
            });
        });
        return command;
    }
}
