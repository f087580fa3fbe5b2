using System.CommandLine;
using Atalaya.Cli;
using Spectre.Console;

// Into a file or a pipe (or with NO_COLOR set), progress bars and tables are written as plain text:
// no escape codes, no cursor movement, no redrawn lines.
if (Console.IsOutputRedirected || Environment.GetEnvironmentVariable("NO_COLOR") is { Length: > 0 })
{
    AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings
    {
        Ansi = AnsiSupport.No,
        ColorSystem = ColorSystemSupport.NoColors,
        Interactive = InteractionSupport.No,
    });
}

var root = new RootCommand("Atalaya: a self-hosted analytics hub for multi-country marketplaces.")
{
    ServeCommand.Create(),
    TokensCommand.Create(),
    DemoCommand.Create(),
    ImportCommand.Create(),
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
    Atalaya.Privacy.PrivacyCommand.Create(),
};
var parse = root.Parse(args);
// `--help` and `--version` are answered by the parser even beside mistakes; anything else wrong is
// told in plain sentences (ParseErrors) rather than with the parser's wording and the whole help page.
if (parse.Errors.Count > 0 && !args.Any(a => a is "--help" or "-h" or "-?" or "--version"))
{
    return ParseErrors.Report(parse);
}
return await parse.InvokeAsync();
