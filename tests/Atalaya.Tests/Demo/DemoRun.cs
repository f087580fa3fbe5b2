using System.Text.Json;
using Atalaya.Engine.Demo;

namespace Atalaya.Tests.Demo;

/// <summary>
/// One mid-sized generated run shared by the generator tests: 40 days ending 2026-03-31 (so it
/// spans a month boundary), 300 sessions a day. Events are kept parsed, in output order.
/// </summary>
public sealed class DemoRun : IDisposable
{
    public static readonly DemoOptions Options = new(Days: 40, Seed: 7, EndDate: new DateOnly(2026, 3, 31), SessionsPerDay: 300);

    private readonly List<JsonDocument> _documents;

    public DemoRun()
    {
        _documents = [.. DemoGenerator.Generate(Options).Select(bytes => JsonDocument.Parse(bytes))];
        Events = [.. _documents.Select(d => d.RootElement)];
    }

    public IReadOnlyList<JsonElement> Events { get; }

    public IEnumerable<JsonElement> OfType(string eventType) =>
        Events.Where(e => e.GetProperty("event_type").GetString() == eventType);

    public void Dispose()
    {
        foreach (var document in _documents)
        {
            document.Dispose();
        }
    }
}
