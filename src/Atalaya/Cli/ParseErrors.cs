using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text.RegularExpressions;

namespace Atalaya.Cli;

/// <summary>
/// Command-line mistakes as plain sentences that name the option and what it accepts, instead of
/// the parser's own wording (.NET type names such as <c>System.Nullable`1[System.DateOnly]</c>, a
/// "Required command was not provided." before the real problem, and the whole help page).
/// </summary>
internal static partial class ParseErrors
{
    /// <summary>Prints each problem on its own line and how to get help; returns the exit code 2.</summary>
    public static int Report(ParseResult parse)
    {
        var path = CommandPath(parse.CommandResult);
        foreach (var line in Describe(parse, path))
        {
            Console.Error.WriteLine("error: " + line);
        }
        Console.Error.WriteLine($"Run '{path} --help' for usage.");
        return 2;
    }

    internal static List<string> Describe(ParseResult parse, string path)
    {
        var errors = parse.Errors.Select(e => (e.Message, Symbol: SymbolName(e.SymbolResult))).ToList();
        // The parser reports a missing subcommand beside the unknown word that was meant as one.
        if (errors.Any(e => Unrecognized().IsMatch(e.Message)))
        {
            errors.RemoveAll(e => e.Message.StartsWith("Required command was not provided", StringComparison.Ordinal));
        }
        // "--colour red": the value of an unknown option is reported as a second unknown word; one line is enough.
        if (errors.FindIndex(e => Unrecognized().Match(e.Message) is { Success: true } m && m.Groups["value"].Value.StartsWith('-')) is var first and >= 0)
        {
            errors = [.. errors.Where((e, i) => i <= first || !(Unrecognized().Match(e.Message) is { Success: true } m && !m.Groups["value"].Value.StartsWith('-')))];
        }
        var subcommands = parse.CommandResult.Command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name).ToList();
        return [.. errors.Select(e => Plain(e.Message, e.Symbol, path, subcommands)).Distinct()];
    }

    private static string? SymbolName(SymbolResult? result) => result switch
    {
        OptionResult o => o.Option.Name,
        ArgumentResult { Parent: OptionResult o } => o.Option.Name,
        ArgumentResult a => a.Argument.Name,
        _ => null,
    };

    internal static string Plain(string message, string? symbol, string path, IReadOnlyList<string> subcommands)
    {
        if (CannotParse().Match(message) is { Success: true } parse)
        {
            return $"{parse.Groups["symbol"].Value}: '{parse.Groups["value"].Value}' is not {Expected(parse.Groups["type"].Value)}.";
        }
        if (NotAllowed().Match(message) is { Success: true } choice)
        {
            var allowed = Quoted().Matches(choice.Groups["allowed"].Value).Select(m => m.Groups[1].Value);
            return $"{symbol ?? path}: '{choice.Groups["value"].Value}' is not allowed; use one of: {string.Join(", ", allowed)}.";
        }
        if (Unrecognized().Match(message) is { Success: true } unknown)
        {
            var word = unknown.Groups["value"].Value;
            return subcommands.Count > 0 && !word.StartsWith('-')
                ? $"'{word}' is not a command of '{path}'; the commands are: {string.Join(", ", subcommands)}."
                : $"'{word}' is not an option or argument of '{path}'.";
        }
        if (message.StartsWith("Required command was not provided", StringComparison.Ordinal))
        {
            return $"'{path}' needs a command: {string.Join(", ", subcommands)}.";
        }
        if (RequiredOption().Match(message) is { Success: true } option)
        {
            return $"{option.Groups["name"].Value} is required.";
        }
        if (RequiredArgument().Match(message) is { Success: true } argument)
        {
            return $"'{path}' needs its {argument.Groups["name"].Value} argument.";
        }
        return message;
    }

    private static string Expected(string type) => type switch
    {
        _ when type.Contains("DateOnly", StringComparison.Ordinal) => "a date (YYYY-MM-DD)",
        _ when type.Contains("DateTime", StringComparison.Ordinal) => "a date and time (YYYY-MM-DDTHH:MM:SSZ)",
        _ when type.Contains("Int", StringComparison.Ordinal) => "a whole number",
        _ when type.Contains("Double", StringComparison.Ordinal) || type.Contains("Decimal", StringComparison.Ordinal) => "a number",
        _ when type.Contains("Boolean", StringComparison.Ordinal) => "true or false",
        _ => "a valid value",
    };

    private static string CommandPath(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? r = result; r is not null; r = r.Parent)
        {
            if (r is CommandResult c)
            {
                names.Add(c.Command is RootCommand ? "atalaya" : c.Command.Name);
            }
        }
        names.Reverse();
        return string.Join(' ', names);
    }

    [GeneratedRegex(@"^Cannot parse argument '(?<value>.*)' for (option|command|argument) '(?<symbol>[^']*)' as expected type '(?<type>[^']*)'")]
    private static partial Regex CannotParse();

    [GeneratedRegex(@"^Argument '(?<value>.*)' not recognized\. Must be one of:(?<allowed>[\s\S]*)$")]
    private static partial Regex NotAllowed();

    [GeneratedRegex(@"'([^']*)'")]
    private static partial Regex Quoted();

    [GeneratedRegex(@"^Unrecognized command or argument '(?<value>.*)'")]
    private static partial Regex Unrecognized();

    [GeneratedRegex(@"^Option '(?<name>[^']*)' is required")]
    private static partial Regex RequiredOption();

    [GeneratedRegex(@"^Required argument '(?<name>[^']*)' missing")]
    private static partial Regex RequiredArgument();
}
