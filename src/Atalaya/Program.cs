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

var root = Commands.Root();
var parse = root.Parse(args);
// `--help` and `--version` are answered by the parser even beside mistakes; anything else wrong is
// told in plain sentences (ParseErrors) rather than with the parser's wording and the whole help page.
if (parse.Errors.Count > 0 && !args.Any(a => a is "--help" or "-h" or "-?" or "--version"))
{
    return ParseErrors.Report(parse);
}
// Ctrl+C and SIGTERM cancel the running command. The parser's default is to end the process 2 s
// later, which cut `serve` short before it had closed its store and written its KPI snapshot (more
// than 2 s at 10M events, so the next start replayed up to 500,000 events): a command gets a minute.
return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromMinutes(1) });
