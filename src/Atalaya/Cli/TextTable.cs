namespace Atalaya.Cli;

/// <summary>
/// Columns aligned with spaces, the last one left free: readable in a terminal of any width, in a
/// pipe and in a log, where a drawn table would be cut to 80 columns and fill with escape codes.
/// </summary>
public static class TextTable
{
    public static void Print(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        var all = rows.Prepend(headers).ToList();
        var widths = Enumerable.Range(0, headers.Count - 1).Select(i => all.Max(r => r[i].Length)).ToArray();
        foreach (var row in all)
        {
            Console.WriteLine((string.Join("  ", widths.Select((w, i) => row[i].PadRight(w))) + "  " + row[^1]).TrimEnd());
        }
    }
}
