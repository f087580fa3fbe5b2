using System.CommandLine;

namespace Atalaya.Cli;

/// <summary>Every <c>atalaya</c> command, as the executable parses them.</summary>
public static class Commands
{
    public static RootCommand Root()
    {
        var root = new RootCommand("Atalaya: a self-hosted analytics hub for multi-country marketplaces.")
        {
            ServeCommand.Create(),
            TokensCommand.Create(),
            DemoCommand.Create(),
            ImportCommand.Create(),
            MigrateCommand.Create(),
            FxCommand.Create(),
            AuditCommand.Create(),
            JobsCommand.Create(),
            JobsCommand.Runs(),
            QualityCommand.Create(),
            BackfillCommand.Create(),
            ReferenceCommand.Create(),
            NotificationsCommand.Create(),
            SloCommand.Create(),
            ReportCommand.Create(),
            ConnectorsCommand.Create(),
            WebhooksCommand.Create(),
            RecommendationsCommand.Create(),
            PrivacyCommand.Create(),
        };
        AcceptClusterOptions(root);
        return root;
    }

    /// <summary>
    /// Every command that works on a cluster's state (it takes <c>--postgres</c>) takes all three of
    /// a cluster's options, so that one set of options can be given to any of them (a script, an
    /// alias): <c>--clickhouse</c> and <c>--rabbitmq</c> are added, accepted and unused, where the
    /// command needs only PostgreSQL (its help says so).
    /// </summary>
    private static void AcceptClusterOptions(Command command)
    {
        if (command.Options.Any(o => o.Name == "--postgres"))
        {
            foreach (var (name, what, help) in new[] { ("--clickhouse", "ClickHouse", "URL"), ("--rabbitmq", "RabbitMQ", "URI") })
            {
                if (!command.Options.Any(o => o.Name == name))
                {
                    command.Options.Add(new Option<string?>(name)
                    {
                        Description = $"The cluster's {what}, as given to its serve nodes: accepted so that every command takes a cluster's three options; this one needs only --postgres.",
                        HelpName = help,
                    });
                }
            }
        }
        foreach (var sub in command.Subcommands)
        {
            AcceptClusterOptions(sub);
        }
    }
}
