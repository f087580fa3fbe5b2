using System.Diagnostics;
using System.Text;
using Atalaya.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Atalaya.Tests.Alerts;

/// <summary>
/// The real <c>atalaya serve</c> process: notifications to channels that are down are
/// dead-lettered, survive a kill -9, and <c>atalaya notifications replay</c> delivers them once the
/// receiver is up. No secret (the HMAC key, the Slack URL) reaches the data folder or the output.
/// </summary>
public sealed class OutboxProcessTests
{
    [Fact]
    public async Task Dead_letters_survive_kill_9_and_replay_delivers_them_without_leaking_secrets()
    {
        var folder = Path.Combine(Path.GetTempPath(), "atalaya-outbox-" + Guid.NewGuid().ToString("N"));
        var data = Path.Combine(folder, "data");
        Directory.CreateDirectory(folder);
        var receiverPort = ExternalTool.FreePort();
        var key = "hmac-" + Guid.NewGuid().ToString("N");
        var slackPath = "/services/T0001/B0001/" + Guid.NewGuid().ToString("N");
        var env = new Dictionary<string, string>
        {
            ["ATALAYA_TEST_OPS_KEY"] = key,
            ["ATALAYA_TEST_OPS_URL"] = $"http://127.0.0.1:{receiverPort}/hook",
            ["ATALAYA_TEST_SLACK_URL"] = $"http://127.0.0.1:{receiverPort}{slackPath}",
        };
        await File.WriteAllTextAsync(Path.Combine(folder, "dev.yaml"), """
            environment: dev
            alerts:
              evaluate_every: 200ms
              delivery_retries: 0
              channels:
                - {name: ops, type: webhook, url_env: ATALAYA_TEST_OPS_URL, secret_env: ATALAYA_TEST_OPS_KEY}
                - {name: team, type: slack, url_env: ATALAYA_TEST_SLACK_URL}
              rules:
                - {name: batch-missed, pipeline: daily_batch, max_age: 1h, severity: critical, channels: [ops, team]}
            """);
        var output = new StringBuilder();
        var serve = Start(env, output, "serve", "--config", folder, "--data", data, "--urls", $"http://127.0.0.1:{ExternalTool.FreePort()}", "--no-scheduler");
        try
        {
            // Both channels are down: the firing notifications, then the dead-letter alert's, are dead-lettered.
            await Wait.UntilAsync(() => Task.FromResult(Count(data, "state = 'dead' AND alert_id IN (SELECT alert_id FROM alerts WHERE rule = 'notifications-dead-lettered')") >= 2),
                "the dead-letter alert's own notifications to be dead-lettered", 90);
        }
        finally
        {
            serve.Kill(); // SIGKILL: no shutdown, no flush
            await serve.WaitForExitAsync();
        }
        var dead = Count(data, "state = 'dead'");
        var pending = Count(data, "state = 'pending'"); // a cycle the kill cut short leaves these; replay sends them too
        Assert.True(dead >= 4, $"{dead} dead-lettered");

        await using var receiver = await Receiver.StartAsync(receiverPort);
        var replay = Start(env, output, "notifications", "replay", "--config", folder, "--data", data);
        await replay.WaitForExitAsync();
        Assert.True(replay.ExitCode == 0, output.ToString());
        Assert.Contains($"{dead} dead-lettered notification(s) replayed: {dead + pending} delivered", output.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, Count(data, "state IN ('dead', 'pending')"));
        Assert.Equal(dead + pending, receiver.Accepted.Count());
        Assert.Contains(receiver.Accepted, r => r.Path == slackPath);
        Assert.Contains(receiver.Accepted, r => r.Path == "/hook" && r.Headers.ContainsKey("X-Atalaya-Signature"));

        SqliteConnection.ClearAllPools();
        foreach (var file in Directory.GetFiles(data, "*", SearchOption.AllDirectories))
        {
            var bytes = Encoding.UTF8.GetString(await File.ReadAllBytesAsync(file));
            Assert.DoesNotContain(key, bytes, StringComparison.Ordinal);
            Assert.DoesNotContain(slackPath, bytes, StringComparison.Ordinal);
        }
        Assert.DoesNotContain(key, output.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(slackPath, output.ToString(), StringComparison.Ordinal);
        Directory.Delete(folder, recursive: true);
    }

    private static Process Start(Dictionary<string, string> env, StringBuilder output, params string[] args)
    {
        var info = AtalayaProcess.StartInfo(args);
        foreach (var (name, value) in env)
        {
            info.Environment[name] = value;
        }
        var process = Process.Start(info)!;
        process.StandardInput.Close();
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static long Count(string data, string where)
    {
        var path = Path.Combine(data, "atalaya.db");
        if (!File.Exists(path))
        {
            return 0;
        }
        using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT COUNT(*) FROM notification_outbox WHERE {where};";
        try
        {
            return (long)command.ExecuteScalar()!;
        }
        catch (SqliteException)
        {
            return 0; // the table is not there yet (the hub is still opening)
        }
    }
}
