using System.CommandLine;
using Atalaya.Engine.Alerts;
using Atalaya.Engine.Alerts.Notifications;
using Atalaya.Engine.Storage;

namespace Atalaya.Cli;

/// <summary>
/// <c>atalaya notifications list</c> shows the outbox (pending, sent or dead-lettered messages);
/// <c>atalaya notifications replay</c> sends the dead-lettered ones again through the environment's
/// channels (URLs and secrets from the same environment variables or files as <c>serve</c>).
/// </summary>
public static class NotificationsCommand
{
    public static Command Create()
    {
        var command = new Command("notifications", "The alert notification outbox: list it, replay what could not be delivered.");
        command.Add(ListCommand());
        command.Add(ReplayCommand());
        return command;
    }

    private static Command ListCommand()
    {
        var data = CommonOptions.Data();
        var state = new Option<string>("--state") { Description = "pending, sent or dead.", DefaultValueFactory = _ => "dead", HelpName = "STATE" };
        state.AcceptOnlyFromAmong("pending", "sent", "dead");
        var postgres = CommonOptions.Postgres("List a cluster's outbox, kept");
        var list = new Command("list", "List notifications in the outbox (default: the dead-lettered ones), oldest first.") { data, state, postgres };
        list.SetAction(parse =>
        {
            using var shared = parse.GetValue(postgres) is { } connectionString ? CommonOptions.OpenPostgres(connectionString) : null;
            if (parse.GetValue(postgres) is not null && shared is null)
            {
                return 2;
            }
            IReadOnlyList<OutboxEntry> entries;
            try
            {
                entries = AlertRows.Of(HubDatabase.Open(parse.GetValue(data)!), shared).Outbox(parse.GetValue(state)!);
            }
            catch (Engine.Postgres.StateUnavailableException e)
            {
                return CommonOptions.Fail($"--postgres: {e.Message}; try again once it is back.");
            }
            TextTable.Print(["id", "channel", "created_at", "attempts", "title", "last_error"], entries.Select(e => (IReadOnlyList<string>)
            [
                e.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Channel, Engine.Jobs.PipelineRuns.Iso(e.CreatedAt),
                e.Attempts.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Notification.Title, e.LastError ?? "",
            ]));
            Console.WriteLine($"{entries.Count} {parse.GetValue(state)} notification(s)");
            return 0;
        });
        return list;
    }

    private static Command ReplayCommand()
    {
        var data = CommonOptions.Data();
        var environment = CommonOptions.Environment();
        var configDirectory = CommonOptions.ConfigDirectory();
        var channel = new Option<string?>("--channel") { Description = "Replay only this channel's messages.", HelpName = "NAME" };
        var postgres = CommonOptions.Postgres("Replay a cluster's dead-lettered notifications, kept");
        var replay = new Command("replay", "Send the dead-lettered notifications again (with the same retries and breaker as serve); exit code 0 all delivered, 1 some are still dead.")
        {
            data, environment, configDirectory, channel, postgres,
        };
        replay.SetAction(async (parse, ct) =>
        {
            if (CommonOptions.LoadConfig(parse.GetValue(environment)!, parse.GetValue(configDirectory)) is not { } config)
            {
                return 2;
            }
            var only = parse.GetValue(channel);
            if (only is not null && config.Alerts.Channels.All(c => c.Name != only))
            {
                return CommonOptions.Fail($"--channel: no channel named '{only}' in {config.Source} (alerts.channels)");
            }
            using var shared = parse.GetValue(postgres) is { } connectionString ? CommonOptions.OpenPostgres(connectionString) : null;
            if (parse.GetValue(postgres) is not null && shared is null)
            {
                return 2;
            }
            var rows = AlertRows.Of(HubDatabase.Open(parse.GetValue(data)!), shared);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            var dispatcher = new NotificationDispatcher(rows, NotificationChannels.Create(config.Alerts, http, TimeProvider.System), config.Alerts);
            int requeued;
            DeliveryReport report;
            try
            {
                (requeued, report) = await dispatcher.ReplayAsync(only, ct);
            }
            catch (Engine.Postgres.StateUnavailableException e)
            {
                return CommonOptions.Fail($"--postgres: {e.Message}; try again once it is back.");
            }
            Console.WriteLine($"{requeued} dead-lettered notification(s) replayed: {report.Sent} delivered, {report.DeadLettered} still failing");
            if (report.DeadLettered > 0)
            {
                Console.Error.WriteLine("Some are still dead-lettered; see `atalaya notifications list` for their last error.");
            }
            return report.DeadLettered == 0 ? 0 : 1;
        });
        return replay;
    }
}
