using System.Globalization;
using Atalaya.Engine;
using Atalaya.Engine.Config;
using Atalaya.Engine.Connectors;
using Atalaya.Engine.Jobs;
using Atalaya.Engine.Kpi;
using Atalaya.Engine.Storage;

namespace Atalaya.Tests.Connectors;

/// <summary>
/// A data folder, a credentials folder beside it (never inside it), environment variables with
/// names unique to the test pointing at the credential files, and runs of connectors through the
/// same JobRunner the CLI and the scheduler use.
/// </summary>
public sealed class ConnectorSetup : IDisposable
{
    private readonly List<string> _variables = [];
    private readonly string _root = Path.Combine(Path.GetTempPath(), "atalaya-connectors-" + Guid.NewGuid().ToString("N"));

    public ConnectorSetup()
    {
        DataDirectory = Path.Combine(_root, "data");
        CredentialsDirectory = Path.Combine(_root, "secrets");
        Directory.CreateDirectory(CredentialsDirectory);
        Database = HubDatabase.Open(DataDirectory);
    }

    public string DataDirectory { get; }

    public string CredentialsDirectory { get; }

    public HubDatabase Database { get; }

    /// <summary>Where runs, locks, facts, pages and dead letters go: the data folder unless set (a cluster's PostgreSQL).</summary>
    public JobState? State { get; init; }

    public static DateOnly Day(string text) => DateOnly.ParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>Writes a credentials file and an environment variable (unique name) pointing at it; returns the variable's name.</summary>
    public string Secret(string fileName, string content)
    {
        var path = Path.Combine(CredentialsDirectory, fileName);
        File.WriteAllText(path, content);
        var variable = "ATALAYA_TEST_" + Guid.NewGuid().ToString("N").ToUpperInvariant();
        Environment.SetEnvironmentVariable(variable, path);
        _variables.Add(variable);
        return variable;
    }

    /// <summary>A dev environment whose connectors section is <paramref name="connectors"/> (YAML, indented by two).</summary>
    public static EnvironmentConfig Config(string connectors, string extra = "") =>
        EnvironmentFiles.Parse($"environment: dev\nconnectors:\n{connectors}\n{extra}", "test.yaml", "dev");

    public PipelineRun Run(EnvironmentConfig config, string provider, DateOnly from, DateOnly to, string trigger = "cli", TimeProvider? time = null, IReadOnlySet<string>? apps = null) =>
        Execute(config, ConnectorJobs.Definition(provider, _ => new ConnectorRequest(provider, from, to, apps)), trigger, provider, time);

    public PipelineRun Replay(EnvironmentConfig config, string provider, long? id = null) =>
        Execute(config, ConnectorJobs.Replay(provider, id), "replay", provider, null);

    /// <summary>The job the scheduler runs (yesterday by <paramref name="time"/>).</summary>
    public PipelineRun Scheduled(EnvironmentConfig config, string provider, TimeProvider time) =>
        new JobRunner(Database, new KpiEngine(KpiDictionary.Default, time), config, time) { State = State ?? JobState.Embedded(Database) }
            .Run(ConnectorSources.JobName(provider), "schedule").Run!;

    private PipelineRun Execute(EnvironmentConfig config, JobDefinition definition, string trigger, string provider, TimeProvider? time)
    {
        var runner = new JobRunner(Database, new KpiEngine(KpiDictionary.Default, time), config, time ?? TimeProvider.System) { State = State ?? JobState.Embedded(Database) };
        var started = runner.TryBegin(definition, trigger, provider, out var busy) ?? throw new InvalidOperationException("busy: " + busy);
        return runner.Execute(started);
    }

    /// <summary>fact_kpi_daily rows of a source system: "date app platform metric" → value.</summary>
    public SortedDictionary<string, double> Facts(string source)
    {
        using var connection = Database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT date, app_id, platform, metric, value FROM fact_kpi_daily WHERE source_system = $s;";
        command.Parameters.AddWithValue("$s", source);
        using var reader = command.ExecuteReader();
        var facts = new SortedDictionary<string, double>(StringComparer.Ordinal);
        while (reader.Read())
        {
            facts[$"{reader.GetString(0)} {reader.GetString(1)} {reader.GetString(2)} {reader.GetString(3)}"] = reader.GetDouble(4);
        }
        return facts;
    }

    public long Count(string sql)
    {
        using var connection = Database.Connect();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    public static string? ErrorClass(PipelineRun run) => run.ErrorClass;

    /// <summary>The notes and errors of a run's steps, as text (the details JSON escapes quotes).</summary>
    public static string Notes(PipelineRun run)
    {
        using var details = System.Text.Json.JsonDocument.Parse(run.Details);
        return string.Join("\n", details.RootElement.GetProperty("steps").EnumerateArray()
            .SelectMany(s => new[] { "note", "error" }.Where(name => s.TryGetProperty(name, out _)).Select(name => s.GetProperty(name).GetString())));
    }

    public IReadOnlyList<DeadLetter> DeadLetters(bool all = false) => ConnectorRows.For(Database, State?.SharedState).DeadLetters(all: all);

    public void Dispose()
    {
        foreach (var variable in _variables)
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
