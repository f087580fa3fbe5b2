using System.Text;
using Atalaya.Engine;
using Atalaya.Engine.Collect;

namespace Atalaya.Tests.Support;

/// <summary>An engine-level hub (no HTTP) over a temporary folder, shared by one test class.</summary>
public sealed class EngineHubFixture : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "atalaya-engine-" + Guid.NewGuid().ToString("N"));

    public Hub Hub { get; private set; } = null!;

    public string DataDirectory => _directory;

    public Task InitializeAsync()
    {
        Hub = Hub.Open(_directory);
        return Task.CompletedTask;
    }

    public Task<IngestResult> IngestAsync(string json) =>
        Hub.Pipeline.IngestNativeAsync(Encoding.UTF8.GetBytes(json), ndjson: false, "test");

    public async Task DisposeAsync()
    {
        await Hub.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}
