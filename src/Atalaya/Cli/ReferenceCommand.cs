using System.CommandLine;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Kpi;

namespace Atalaya.Cli;

/// <summary><c>atalaya reference --out DIR</c>: writes the event catalog and KPI dictionary reference pages.</summary>
public static class ReferenceCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out")
        {
            Description = "Folder to write events.md and kpis.md into (default ./docs).",
            HelpName = "DIR",
            DefaultValueFactory = _ => "docs",
        };
        var command = new Command("reference", "Write the event catalog (events.md) and the KPI dictionary (kpis.md) as Markdown reference pages.") { output };
        command.SetAction(parse =>
        {
            var folder = parse.GetValue(output)!;
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, "events.md"), ReferencePages.Events(EventCatalog.Default));
            File.WriteAllText(Path.Combine(folder, "kpis.md"), ReferencePages.Kpis(KpiDictionary.Default));
            Console.WriteLine($"Wrote {Path.Combine(folder, "events.md")} and {Path.Combine(folder, "kpis.md")}.");
            return 0;
        });
        return command;
    }
}
