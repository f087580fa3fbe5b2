using System.CommandLine;
using Atalaya.Cli;

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
    RecommendationsCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
