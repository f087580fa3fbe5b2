using System.Diagnostics;
using System.Text.Json;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Collect;

/// <summary>
/// The real Segment (@segment/analytics-node) and RudderStack (@rudderstack/rudder-sdk-node) SDKs,
/// installed from npm by scripts/test.sh (tests/sdk), pointed at a hub unchanged: every call they
/// send is stored as the catalog event it maps to.
/// </summary>
public sealed class SdkCompatibilityTests
{
    [Fact]
    public async Task Real_segment_and_rudderstack_sdks_deliver_every_call_unchanged()
    {
        await using var hub = await TestHub.StartAsync();
        var sdkFolder = Path.Combine(RepositoryRoot(), "tests", "sdk");
        Assert.True(Directory.Exists(Path.Combine(sdkFolder, "node_modules")),
            "tests/sdk/node_modules is missing: scripts/test.sh installs it (npm ci --prefix tests/sdk).");

        var info = new ProcessStartInfo("node")
        {
            WorkingDirectory = sdkFolder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { "send.mjs", hub.BaseAddress.ToString().TrimEnd('/'), hub.WriteKey, "sdk" })
        {
            info.ArgumentList.Add(arg);
        }
        using var node = Process.Start(info)!;
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        await node.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(node.ExitCode == 0, $"node exited {node.ExitCode}: {await stdout} {await stderr}");

        var sent = JsonDocument.Parse((await stdout).Trim().Split('\n')[^1]).RootElement.GetProperty("sent")
            .EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Equal(9, sent.Count);
        var stored = StoredEvents.All(hub.DataDirectory).ToDictionary(e => e.GetProperty("event_id").GetString()!);
        Assert.All(sent, id => Assert.True(stored.ContainsKey(id), $"{id} was sent by an SDK but not stored"));

        Assert.Equal("purchase_completed", stored["sdk-segment-track"].GetProperty("event_type").GetString());
        Assert.Equal(30, stored["sdk-segment-track"].GetProperty("properties").GetProperty("delivery_fee").GetInt32());
        Assert.Equal("page_view", stored["sdk-segment-screen"].GetProperty("event_type").GetString());
        Assert.Equal("alias", stored["sdk-segment-alias"].GetProperty("event_type").GetString());
        Assert.Equal("add_to_cart", stored["sdk-rudder-track"].GetProperty("event_type").GetString());
        Assert.Equal("https://shop.example/st-1", stored["sdk-rudder-page"].GetProperty("context").GetProperty("page_url").GetString());
        Assert.Equal("server", stored["sdk-rudder-identify"].GetProperty("context").GetProperty("platform").GetString());
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Atalaya.slnx")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new InvalidOperationException("Atalaya.slnx not found above the test output folder.");
    }
}
