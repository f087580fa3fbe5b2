using System.Globalization;
using System.Text;
using Atalaya.Engine.Catalog;
using Atalaya.Engine.Kpi;

namespace Atalaya.Cli;

/// <summary>
/// docs/events.md and docs/kpis.md, written from the embedded event catalog and KPI dictionary (the
/// files the hub validates and computes with), so the reference pages cannot drift from the code.
/// A test regenerates both and fails when the committed pages differ.
/// </summary>
internal static class ReferencePages
{
    public const string Regenerate = "dotnet run --project src/Atalaya -- reference --out docs";

    public static string Events(EventCatalog catalog)
    {
        var text = new StringBuilder();
        text.AppendLine("# Event catalog");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"<!-- Generated from src/Atalaya.Engine/Catalog/Schemas/catalog.v{catalog.Version}.json by `{Regenerate}`; do not edit by hand. -->");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"Catalog version **{catalog.Version}**. Every event carries the envelope described in [collector.md](collector.md)");
        text.AppendLine("(`event_id`, `event_type`, `timestamp`, and `user_id` / `anonymous_id` / `session_id` / `context` as given). The");
        text.AppendLine("collector validates each catalog type's fields below; a type not listed here is a custom event whose");
        text.AppendLine("envelope only is validated, and which no KPI counts. Monetary types carry `currency` and are converted");
        text.AppendLine("to the reporting currency with the rate frozen into the event (see [metrics-api.md](metrics-api.md)).");
        text.AppendLine();
        text.AppendLine("| type | what it records | monetary |");
        text.AppendLine("|---|---|---|");
        foreach (var type in catalog.Types.OrderBy(t => t.Type, StringComparer.Ordinal))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| [`{type.Type}`](#{type.Type}) | {Cell(type.Description)} | {(type.Monetary ? "yes" : "")} |");
        }
        foreach (var type in catalog.Types.OrderBy(t => t.Type, StringComparer.Ordinal))
        {
            text.AppendLine();
            text.AppendLine(CultureInfo.InvariantCulture, $"## {type.Type}");
            text.AppendLine();
            text.AppendLine(type.Description);
            if (type.RequiredEnvelope.Count > 0)
            {
                text.AppendLine();
                text.AppendLine(CultureInfo.InvariantCulture, $"Required in the envelope: {string.Join(", ", type.RequiredEnvelope.Select(f => $"`{f}`"))}.");
            }
            Fields(text, "properties", type.Properties);
            Fields(text, "context", type.Context);
            foreach (var when in type.When)
            {
                text.AppendLine();
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"When `{when.Field}` is {string.Join(" or ", when.Values.Select(v => $"`{v}`"))}: {string.Join(", ", when.Require.Select(f => $"`{f}`"))} required.");
            }
        }
        text.AppendLine();
        text.AppendLine("## Changes");
        text.AppendLine();
        text.AppendLine("| version | date | reason |");
        text.AppendLine("|---:|---|---|");
        foreach (var change in catalog.Changes)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {change.Version} | {change.Date} | {Cell(change.Reason)} |");
        }
        return text.ToString();
    }

    /// <summary>Where a KPI comes from: the event types it reads, or the connectors' rows and the dimensions they allow.</summary>
    private static string Inputs(KpiDefinition kpi)
    {
        var events = kpi.Events.Count == 0 ? "" : kpi.Events.Contains(KpiDefinition.AnyEvent) && kpi.Events.Count == 1 ? "any catalog event"
            : string.Join(", ", kpi.Events.Select(e => e == KpiDefinition.AnyEvent ? "any catalog event" : $"`{e}`"));
        return kpi.IsConnector
            ? $"Source: the connectors' daily rows (`fact_kpi_daily`){(events.Length > 0 ? $" and the events {events}" : "")}; group_by: {string.Join(", ", kpi.GroupBy ?? [])}; filters: {string.Join(", ", kpi.Filters ?? [])}."
            : $"Source: the events ({events}); its data-quality state follows their checks.";
    }

    private static void Fields(StringBuilder text, string member, IReadOnlyList<FieldRule> fields)
    {
        if (fields.Count == 0)
        {
            return;
        }
        text.AppendLine();
        text.AppendLine("| field | type | required | rule |");
        text.AppendLine("|---|---|---|---|");
        foreach (var (path, field) in Flatten(member, fields))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| `{path}` | {field.Kind.ToString().ToLowerInvariant()} | {(field.Required ? "yes" : "")} | {Cell(Rule(field))} |");
        }
    }

    private static IEnumerable<(string Path, FieldRule Field)> Flatten(string prefix, IReadOnlyList<FieldRule> fields)
    {
        foreach (var field in fields)
        {
            var path = $"{prefix}.{field.Name}";
            yield return (path, field);
            foreach (var nested in Flatten(path, field.Fields))
            {
                yield return nested;
            }
            if (field.Items is { } items)
            {
                foreach (var nested in Flatten(path + "[]", items.Fields))
                {
                    yield return nested;
                }
            }
        }
    }

    private static string Rule(FieldRule field)
    {
        var parts = new List<string>();
        if (field.AllowedValues is { Count: > 0 } values)
        {
            parts.Add("one of " + string.Join(", ", values.Select(v => $"`{v}`")));
        }
        if (field.Min is { } min)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"at least {min}"));
        }
        if (field.MaxLength is { } max)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"at most {max} characters"));
        }
        if (field.MinItems is { } minItems)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"at least {minItems} items"));
        }
        if (field.MaxItems is { } maxItems)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"at most {maxItems} items"));
        }
        return string.Join("; ", parts);
    }

    public static string Kpis(KpiDictionary dictionary)
    {
        var text = new StringBuilder();
        text.AppendLine("# KPI dictionary");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"<!-- Generated from src/Atalaya.Engine/Kpi/Definitions/kpis.v{dictionary.Version}.json by `{Regenerate}`; do not edit by hand. -->");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"Dictionary version **{dictionary.Version}**, the one `GET /api/kpi/definitions` answers. How to query these: [metrics-api.md](metrics-api.md).");
        text.AppendLine();
        text.AppendLine("## Rules every KPI follows");
        text.AppendLine();
        foreach (var rule in dictionary.Rules)
        {
            text.AppendLine("- " + rule);
        }
        text.AppendLine();
        text.AppendLine("| id | name | unit | additivity | source | version |");
        text.AppendLine("|---|---|---|---|---|---:|");
        foreach (var kpi in dictionary.Kpis)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| [`{kpi.Id}`](#{kpi.Id}) | {Cell(kpi.Name)} | {Cell(kpi.Unit)} | {Cell(kpi.Additivity)} | {Cell(kpi.Source)} | {kpi.Version} |");
        }
        foreach (var kpi in dictionary.Kpis)
        {
            text.AppendLine();
            text.AppendLine(CultureInfo.InvariantCulture, $"## {kpi.Id}");
            text.AppendLine();
            text.AppendLine(CultureInfo.InvariantCulture, $"**{kpi.Name}** ({kpi.Unit}, {kpi.Additivity}, version {kpi.Version}). {kpi.Description}");
            text.AppendLine();
            text.AppendLine(kpi.Definition);
            text.AppendLine();
            text.AppendLine(Inputs(kpi));
            foreach (var change in kpi.Changes)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"- Version {change.Version}, {change.Date}: {change.Reason}");
            }
        }
        text.AppendLine();
        text.AppendLine("## Changes of the dictionary");
        text.AppendLine();
        text.AppendLine("| version | date | reason |");
        text.AppendLine("|---:|---|---|");
        foreach (var change in dictionary.Changes)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {change.Version} | {change.Date} | {Cell(change.Reason)} |");
        }
        return text.ToString();
    }

    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);
}
