using System.Globalization;

namespace Atalaya.Bench;

/// <summary>
/// The arguments of a benchmark against PostgreSQL: <c>--postgres CONNSTRING</c> (required) and
/// named positive counts with their defaults. One parser for the token and audit benchmarks, which
/// took the same shape of options.
/// </summary>
public static class PostgresBenchArgs
{
    /// <summary>The connection string and the counts, or the exit code when the arguments ask for help (0) or are wrong (2); the usage is printed then.</summary>
    public static (string Postgres, Dictionary<string, int> Counts)? Parse(string[] args, string usage, IReadOnlyDictionary<string, int> defaults, out int exitCode)
    {
        string? postgres = null;
        var counts = new Dictionary<string, int>(defaults, StringComparer.Ordinal);
        exitCode = 0;
        for (var i = 1; i < args.Length; i++)
        {
            if (args[i] == "--postgres" && i + 1 < args.Length)
            {
                postgres = args[++i];
            }
            else if (counts.ContainsKey(args[i]) && i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var n) && n > 0)
            {
                counts[args[i]] = n;
                i++;
            }
            else
            {
                Console.WriteLine(usage);
                exitCode = args[i] is "--help" or "-h" ? 0 : 2;
                return null;
            }
        }
        if (postgres is null)
        {
            Console.WriteLine(usage);
            exitCode = 2;
            return null;
        }
        return (postgres, counts);
    }
}
