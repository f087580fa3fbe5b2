using System.Diagnostics;
using Atalaya.Engine.ClickHouse;

namespace Atalaya.Tests.ClickHouse;

/// <summary>
/// The real ClickHouse server on 127.0.0.1, started (or reused when already running) through
/// <c>scripts/services.sh start clickhouse</c>, which installs the Debian package on a fresh
/// machine. Each test gets its own database (<see cref="NewDatabaseAsync"/>); all of them are
/// dropped when the test class is done.
/// </summary>
public sealed class ClickHouseServer : IAsyncLifetime
{
    private readonly List<ClickHouseClient> _clients = [];
    private readonly List<string> _databases = [];

    public Uri Url { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var start = new ProcessStartInfo("bash", ["scripts/services.sh", "start", "clickhouse"])
        {
            WorkingDirectory = RepositoryRoot(),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"scripts/services.sh start clickhouse failed ({process.ExitCode}): {await errors}");
        }
        var line = (await output).Split('\n').Single(l => l.StartsWith("CLICKHOUSE_HTTP=", StringComparison.Ordinal));
        Url = new Uri(line["CLICKHOUSE_HTTP=".Length..].Trim());
    }

    /// <summary>A client of a fresh, empty database that exists (<c>atalaya_test_…</c>).</summary>
    internal async Task<ClickHouseClient> NewDatabaseAsync(Func<ClickHouseSettings, ClickHouseSettings>? configure = null, HttpMessageHandler? handler = null)
    {
        var settings = new ClickHouseSettings(Url, "atalaya_test_" + Guid.NewGuid().ToString("N")[..12]);
        var client = new ClickHouseClient(configure?.Invoke(settings) ?? settings, handler);
        _clients.Add(client);
        _databases.Add(settings.Database);
        using var admin = new ClickHouseClient(settings);
        await admin.CreateDatabaseAsync(CancellationToken.None);
        return client;
    }

    public async Task DisposeAsync()
    {
        foreach (var database in _databases)
        {
            using var admin = new ClickHouseClient(new ClickHouseSettings(Url, database));
            await admin.DropDatabaseAsync(CancellationToken.None);
        }
        _clients.ForEach(c => c.Dispose());
    }

    public static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Atalaya.slnx")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new InvalidOperationException("the repository root (Atalaya.slnx) is not above " + AppContext.BaseDirectory);
    }
}
