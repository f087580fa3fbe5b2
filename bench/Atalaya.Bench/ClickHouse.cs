using Atalaya.Engine.ClickHouse;

namespace Atalaya.Bench;

/// <summary>Reaches ClickHouse through its HTTP interface (no .NET client package resolves here).</summary>
public static class ClickHouse
{
    public static (string Url, int? Pid, bool Started) Ensure(string repository, string? url)
    {
        if (url is not null)
        {
            return (url.TrimEnd('/'), null, false);
        }
        var output = HubProcess.Run("bash", repository, "scripts/services.sh", "start", "clickhouse");
        var env = File.ReadAllLines(Path.Combine(Environment.GetEnvironmentVariable("ATALAYA_SERVICES") ?? "/tmp/atalaya-services", "clickhouse", "env"))
            .Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        _ = output;
        return (env["CLICKHOUSE_HTTP"], int.Parse(env["CLICKHOUSE_PID"], System.Globalization.CultureInfo.InvariantCulture), true);
    }

    public static async Task ExecAsync(string url, string sql)
    {
        // OPTIMIZE … FINAL of ten million rows may take minutes on a busy machine.
        using var client = new ClickHouseClient(new ClickHouseSettings(new Uri(url)) { Timeout = TimeSpan.FromHours(1) });
        await client.ExecuteAsync(sql, CancellationToken.None);
    }
}
