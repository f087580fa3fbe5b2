using System.CommandLine;

namespace Atalaya.Cli;

/// <summary>Options every command shares.</summary>
public static class CommonOptions
{
    /// <summary><c>--data DIR</c>: the data folder (default <c>./data</c>, or <c>ATALAYA_DATA</c>).</summary>
    public static Option<string> Data() => new("--data")
    {
        Description = "Data folder (default ./data, or the ATALAYA_DATA environment variable).",
        HelpName = "DIR",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("ATALAYA_DATA") is { Length: > 0 } fromEnv ? fromEnv : "./data",
    };

    /// <summary>Splits "MX, CO" into ["MX", "CO"].</summary>
    public static string[] List(string? text) =>
        string.IsNullOrWhiteSpace(text) ? [] : text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Writes a one-line error that says how to fix it, and returns the exit code 2.</summary>
    public static int Fail(string message)
    {
        Console.Error.WriteLine($"error: {message}");
        return 2;
    }
}
