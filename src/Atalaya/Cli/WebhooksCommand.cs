using System.CommandLine;
using System.Globalization;
using Atalaya.Engine;
using Atalaya.Engine.Connectors;
using Atalaya.Engine.Webhooks;

namespace Atalaya.Cli;

/// <summary>
/// <c>atalaya webhooks replay [--id N]</c>: maps the stored bodies of open webhook dead letters
/// again (after a catalog or mapping fix) and puts them through validation and dedupe.
/// </summary>
public static class WebhooksCommand
{
    public static Command Create()
    {
        var command = new Command("webhooks", "Inbound provider webhooks (POST /api/webhooks/PROVIDER).");
        command.Add(ReplayCommand());
        return command;
    }

    private static Command ReplayCommand()
    {
        var data = CommonOptions.Data();
        var environment = CommonOptions.Environment();
        var configDirectory = CommonOptions.ConfigDirectory();
        var id = new Option<long?>("--id") { Description = "Only this dead letter (see `atalaya connectors dead-letters`).", HelpName = "N" };
        var replay = new Command("replay", "Map the stored bodies of open webhook dead letters again; exit code 1 when some still fail.")
        {
            id, data, environment, configDirectory,
        };
        replay.SetAction(async (parse, ct) =>
        {
            if (CommonOptions.LoadConfig(parse.GetValue(environment)!, parse.GetValue(configDirectory)) is not { } config)
            {
                return 2;
            }
            await using var hub = Hub.Open(parse.GetValue(data)!);
            var letterId = parse.GetValue(id);
            if (letterId is { } wanted)
            {
                if (!ConnectorRows.For(hub.Database, null).DeadLetters("webhook").Any(l => l.Id == wanted))
                {
                    return CommonOptions.Fail($"--id {wanted}: no open webhook dead letter has this id; see `atalaya connectors dead-letters`");
                }
            }
            var results = await new WebhookReceiver(hub.Pipeline, hub.Database, config, TimeProvider.System).ReplayAsync(letterId, ct);
            if (results.Count == 0)
            {
                Console.WriteLine("No open webhook dead letter to replay.");
                return 0;
            }
            foreach (var (letter, outcome) in results)
            {
                Console.WriteLine($"dead letter {letter.Id.ToString(CultureInfo.InvariantCulture)} ({letter.Provider}): {outcome.State ?? "skipped"} — {outcome.Message}");
            }
            return results.All(r => r.Outcome.State == "mapped") ? 0 : 1;
        });
        return replay;
    }
}
