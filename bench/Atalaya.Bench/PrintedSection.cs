using System.Globalization;
using System.Text;

namespace Atalaya.Bench;

/// <summary>
/// Copies everything a benchmark prints to the console into a buffer, and on <see cref="Save"/> writes
/// it as the benchmark's section of docs/benchmarks.md (date, machine, command, then the printed text
/// verbatim), so the page holds exactly what the command printed and nothing typed by hand.
/// </summary>
internal sealed class PrintedSection : IDisposable
{
    private readonly TextWriter console = Console.Out;
    private readonly StringWriter copy = new(CultureInfo.InvariantCulture);

    public PrintedSection()
    {
        Console.SetOut(new Tee(console, copy));
    }

    public void Save(string path, string name, string title, string[] args)
    {
        var c = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine(c, $"### {title}");
        text.AppendLine();
        text.AppendLine(c, $"- Date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; 1-minute load average at the end {LoadAverage()}");
        text.AppendLine(c, $"- Machine: {Report.Machine()}");
        text.AppendLine(c, $"- Command: `dotnet run -c Release --no-build --project bench/Atalaya.Bench -- {string.Join(' ', args)}`");
        text.AppendLine();
        text.AppendLine("```text");
        text.Append(copy.ToString().TrimEnd('\n')).AppendLine();
        text.AppendLine("```");
        Report.Replace(path, name, text.ToString());
    }

    public void Dispose() => Console.SetOut(console);

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "unknown";

    private sealed class Tee(TextWriter first, TextWriter second) : TextWriter
    {
        public override Encoding Encoding => first.Encoding;

        public override void Write(char value)
        {
            first.Write(value);
            second.Write(value);
        }

        public override void Write(string? value)
        {
            first.Write(value);
            second.Write(value);
        }

        public override void WriteLine(string? value)
        {
            first.WriteLine(value);
            second.WriteLine(value);
        }

        public override void Flush() => first.Flush();
    }
}
