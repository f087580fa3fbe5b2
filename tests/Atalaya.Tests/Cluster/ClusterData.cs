using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Atalaya.Engine.ClickHouse;
using Atalaya.Engine.Demo;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Cluster;

/// <summary>What the cluster tests send and read back: generated marketplace requests, their ids, a column of ClickHouse.</summary>
internal static class ClusterData
{
    /// <summary>
    /// The last day of the generated marketplaces, fixed: data that ended today would hold only
    /// the minutes of today already past, so a run just after midnight had a fraction of the events
    /// (fewer requests than the tests need to be cut off half-way).
    /// </summary>
    public static readonly DateOnly LastDay = new(2026, 3, 15);

    /// <summary>A small generated marketplace as NDJSON requests of <paramref name="linesPerRequest"/> events.</summary>
    public static List<byte[]> DemoRequests(DemoOptions options, int linesPerRequest)
    {
        using var ndjson = new MemoryStream();
        DemoGenerator.WriteNdjson(options, ndjson);
        var lines = Encoding.UTF8.GetString(ndjson.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return [.. lines.Chunk(linesPerRequest).Select(c => Encoding.UTF8.GetBytes(string.Join('\n', c) + "\n"))];
    }

    /// <summary>The event_id of every line of an NDJSON request.</summary>
    public static IEnumerable<string> EventIds(ReadOnlyMemory<byte> request) =>
        Encoding.UTF8.GetString(request.Span).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("event_id").GetString()!);

    /// <summary>The first column of a query's rows, as text.</summary>
    public static async Task<List<string>> ColumnAsync(ClickHouseClient client, string sql)
    {
        var values = new List<string>();
        await foreach (var row in client.QueryAsync(sql, CancellationToken.None))
        {
            values.Add(row[0]!);
        }
        return values;
    }

    /// <summary>Creates a token with <c>atalaya tokens create</c> (the CLI a deployment uses) and returns its secret.</summary>
    public static async Task<string> CreateTokenAsync(string data, string role, params string[] extra)
    {
        var (exit, stdout, stderr) = await AtalayaProcess.RunAsync(["tokens", "create", "--role", role, .. extra, "--data", data]);
        Assert.True(exit == 0, stderr);
        return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
    }

    /// <summary>POSTs an NDJSON request to <c>/api/events</c> with a write key; returns the status.</summary>
    public static async Task<HttpStatusCode> PostNdjsonAsync(HttpClient client, string key, byte[] body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/events") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }
}
