using System.Net;
using System.Net.Sockets;
using Atalaya.Engine.ClickHouse;

namespace Atalaya.Tests.ClickHouse;

/// <summary>The HTTP client against the real ClickHouse server (Debian's 18.16) on loopback.</summary>
public sealed class ClickHouseClientTests(ClickHouseServer server) : IClassFixture<ClickHouseServer>
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task Ping_answers_when_the_server_is_up()
    {
        var client = await server.NewDatabaseAsync();
        await client.PingAsync(None);
    }

    [Fact]
    public async Task Creates_a_table_inserts_and_reads_back_text_with_tabs_newlines_quotes_and_emoji_exactly()
    {
        var client = await server.NewDatabaseAsync();
        await client.ExecuteAsync("CREATE TABLE t (n Int64, s String, maybe Nullable(String)) ENGINE = MergeTree ORDER BY n", None);
        string[] texts = ["plain", "tab\there", "new\nline", "back\\slash", "quote ' and \"", "ñandú å ä ö", "emoji 😀", "\\N", "", "cr\rlf"];

        var written = await client.InsertAsync("t", ["n", "s", "maybe"], async (rows, ct) =>
        {
            for (var i = 0; i < texts.Length; i++)
            {
                rows.Row.WriteStartObject();
                rows.Row.WriteNumber("n", i);
                rows.Row.WriteString("s", texts[i]);
                if (i % 2 == 0)
                {
                    rows.Row.WriteString("maybe", texts[i]);
                }
                else
                {
                    rows.Row.WriteNull("maybe");
                }
                rows.Row.WriteEndObject();
                await rows.EndRowAsync(ct);
            }
        }, None);

        Assert.Equal(texts.Length, written);
        var back = await ToListAsync(client.QueryAsync("SELECT n, s, maybe FROM t ORDER BY n", None));
        Assert.Equal(texts.Length, back.Count);
        for (var i = 0; i < texts.Length; i++)
        {
            Assert.Equal((IEnumerable<string?>)[i.ToString(System.Globalization.CultureInfo.InvariantCulture), texts[i], i % 2 == 0 ? texts[i] : null], back[i]);
        }
    }

    [Fact]
    public async Task A_streamed_insert_of_200k_rows_is_read_back_exactly()
    {
        var client = await server.NewDatabaseAsync();
        await client.ExecuteAsync("CREATE TABLE big (id UInt64, label String, value Int64) ENGINE = MergeTree ORDER BY id", None);
        const int Rows = 200_000;
        static long Value(long i) => (i * 7919 % 1_000_003) - 500_000;

        var written = await client.InsertAsync("big", ["id", "label", "value"], async (rows, ct) =>
        {
            for (long i = 0; i < Rows; i++)
            {
                rows.Row.WriteStartObject();
                rows.Row.WriteNumber("id", i);
                rows.Row.WriteString("label", "row-" + i);
                rows.Row.WriteNumber("value", Value(i));
                rows.Row.WriteEndObject();
                await rows.EndRowAsync(ct);
            }
        }, None);

        Assert.Equal(Rows, written);
        Assert.Equal(Rows, await client.ScalarInt64Async("SELECT count() FROM big", None));
        var expectedSum = Enumerable.Range(0, Rows).Sum(i => Value(i));
        Assert.Equal(expectedSum, await client.ScalarInt64Async("SELECT sum(value) FROM big", None));
        // Every row, streamed back in order, equals the one written.
        long next = 0;
        await foreach (var row in client.QueryAsync("SELECT id, label, value FROM big ORDER BY id", None))
        {
            Assert.Equal((IEnumerable<string?>)[next.ToString(System.Globalization.CultureInfo.InvariantCulture), "row-" + next, Value(next).ToString(System.Globalization.CultureInfo.InvariantCulture)], row);
            next++;
        }
        Assert.Equal(Rows, next);
    }

    [Fact]
    public async Task Bodies_are_gzip_both_ways_and_the_server_decodes_the_compressed_insert()
    {
        var wire = new RecordingHandler();
        var client = await server.NewDatabaseAsync(handler: wire);
        await InsertTextRowsAsync(client, "compressible text");
        var insert = wire.Exchanges.Last();
        Assert.Contains("gzip", insert.RequestContentEncoding);
        Assert.Contains("INSERT", Uri.UnescapeDataString(insert.Query), StringComparison.Ordinal);
        // The first bytes on the wire are gzip's magic number, not JSON.
        Assert.Equal([0x1f, 0x8b], insert.BodyStart);

        Assert.Equal(1000, await client.ScalarInt64Async("SELECT count() FROM z WHERE s LIKE 'compressible text %'", None));
        var select = wire.Exchanges.Last();
        Assert.Contains("gzip", select.AcceptEncoding);
        Assert.Contains("gzip", select.ResponseContentEncoding);
    }

    [Fact]
    public async Task Queries_with_an_external_table_find_its_values_and_the_next_statements_still_work()
    {
        var client = await server.NewDatabaseAsync();
        // Large enough to span many TCP segments: how the writer sends a batch's ids.
        var values = Enumerable.Range(0, 20_000).Select(i => $"id-{i}").Concat(["tab\tb", "new\nline"]).ToList();
        for (var round = 0; round < 30; round++)
        {
            var found = await ToListAsync(client.QueryAsync(
                "SELECT s FROM (SELECT arrayJoin(['id-5', 'x', 'tab\\tb', 'new\\nline', 'id-19999']) AS s) WHERE s IN wanted ORDER BY s",
                new ExternalTable("wanted", "s String", values.Select(TabSeparated.Escape)), None));
            Assert.Equal(["id-19999", "id-5", "new\nline", "tab\tb"], found.Select(r => r[0]!));
            Assert.Equal(round, await client.ScalarInt64Async($"SELECT {round}", None));
        }
    }

    [Fact]
    public async Task A_syntax_error_is_a_ClickHouseException_with_code_62()
    {
        var client = await server.NewDatabaseAsync();
        var error = await Assert.ThrowsAsync<ClickHouseException>(() => client.ExecuteAsync("SELEC 1", None));
        Assert.Equal(62, error.Code);
        Assert.StartsWith("Syntax error", error.ServerMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("e.what()", error.ServerMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_table_is_code_60_and_a_query_error_is_thrown_from_the_enumeration()
    {
        var client = await server.NewDatabaseAsync();
        var error = await Assert.ThrowsAsync<ClickHouseException>(() => ToListAsync(client.QueryAsync("SELECT * FROM missing", None)));
        Assert.Equal(60, error.Code);
        Assert.Contains("missing", error.ServerMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_error_after_the_first_rows_were_sent_is_thrown_not_taken_for_the_end_of_the_answer()
    {
        var client = await server.NewDatabaseAsync();
        var rows = 0;
        var error = await Assert.ThrowsAsync<ClickHouseException>(async () =>
        {
            await foreach (var _ in client.QueryAsync("SELECT throwIf(number = 3000000) FROM system.numbers LIMIT 4000000", None))
            {
                rows++;
            }
        });
        Assert.Equal(395, error.Code);
        Assert.True(rows > 0, "the error should have come after some rows, or this test proves nothing about a 200 answer");
        Assert.True(rows < 3_000_000);
    }

    [Fact]
    public async Task A_server_nobody_listens_on_is_unavailable_for_every_call()
    {
        using var client = new ClickHouseClient(new ClickHouseSettings(new Uri($"http://127.0.0.1:{FreePort()}"), "x"));

        await Assert.ThrowsAsync<ClickHouseUnavailableException>(() => client.PingAsync(None));
        await Assert.ThrowsAsync<ClickHouseUnavailableException>(() => client.ExecuteAsync("SELECT 1", None));
        await Assert.ThrowsAsync<ClickHouseUnavailableException>(() => ToListAsync(client.QueryAsync("SELECT 1", None)));
        var error = await Assert.ThrowsAsync<ClickHouseUnavailableException>(() => client.InsertAsync("t", ["s"], (_, _) => ValueTask.CompletedTask, None));
        Assert.Contains("unreachable", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_statement_slower_than_the_timeout_is_unavailable_and_is_stopped_on_the_server()
    {
        var client = await server.NewDatabaseAsync(s => s with { Timeout = TimeSpan.FromSeconds(1) });
        const string Marker = "/* timeout-marker */";

        await Assert.ThrowsAsync<ClickHouseUnavailableException>(() => client.ScalarAsync($"SELECT {Marker} count() FROM numbers(100000000000)", None));

        await WaitUntilGoneAsync(client, Marker);
    }

    /// <summary>
    /// The timeout bounds each wait for ClickHouse, not how long the caller takes to read: an answer
    /// of about 30 MB (more than the connection buffers) read with a pause of 5 s after its first
    /// row, over a timeout of 2 s (room for a loaded machine's own pauses), arrives whole (a cluster node's load holds the next month's answer
    /// unread while it applies this month's, minutes at 100M events).
    /// </summary>
    [Fact]
    public async Task An_answer_read_slower_than_the_timeout_arrives_whole()
    {
        var client = await server.NewDatabaseAsync(s => s with { Timeout = TimeSpan.FromSeconds(2) });
        long rows = 0, sum = 0;
        await foreach (var row in client.QueryAsync($"SELECT number, '{new string('x', 100)}' FROM numbers(300000)", None))
        {
            if (rows++ == 0)
            {
                await Task.Delay(TimeSpan.FromSeconds(5));
            }
            sum += long.Parse(row[0]!, System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(100, row[1]!.Length);
        }
        Assert.Equal(300_000, rows);
        Assert.Equal(299_999L * 300_000 / 2, sum);
    }

    [Fact]
    public async Task Cancelling_a_query_throws_OperationCanceled_and_kills_it_on_the_server()
    {
        var client = await server.NewDatabaseAsync();
        const string Marker = "/* cancel-marker */";
        using var cancel = new CancellationTokenSource();
        var query = client.ScalarAsync($"SELECT {Marker} count() FROM numbers(100000000000)", cancel.Token);
        await WaitUntilAsync(async () => await Running(client, Marker) > 0);

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => query);
        await WaitUntilGoneAsync(client, Marker);
    }

    [Fact]
    public async Task Cancelling_or_failing_while_rows_are_written_inserts_nothing()
    {
        var client = await server.NewDatabaseAsync();
        await client.ExecuteAsync("CREATE TABLE c (n UInt64) ENGINE = MergeTree ORDER BY n", None);
        using var cancel = new CancellationTokenSource();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.InsertAsync("c", ["n"], (rows, ct) => WriteAsync(rows, () => cancel.Cancel(), ct), cancel.Token));
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            client.InsertAsync("c", ["n"], (rows, ct) => WriteAsync(rows, () => throw new InvalidOperationException("the source broke"), ct), None));
        Assert.Equal("the source broke", failure.Message);

        Assert.Equal(0, await client.ScalarInt64Async("SELECT count() FROM c", None));

        static async ValueTask WriteAsync(JsonRows rows, Action atHalf, CancellationToken ct)
        {
            for (var i = 0; i < 100_000; i++)
            {
                if (i == 50_000)
                {
                    atHalf();
                }
                ct.ThrowIfCancellationRequested();
                rows.Row.WriteStartObject();
                rows.Row.WriteNumber("n", i);
                rows.Row.WriteEndObject();
                await rows.EndRowAsync(ct);
            }
        }
    }

    [Fact]
    public async Task An_unknown_user_is_refused_with_ClickHouse_code_192()
    {
        var client = await server.NewDatabaseAsync(s => s with { User = "nobody", Password = "wrong" });
        var error = await Assert.ThrowsAsync<ClickHouseException>(() => client.ExecuteAsync("SELECT 1", None));
        Assert.Equal(192, error.Code);
    }

    [Fact]
    public void Settings_are_read_from_a_URL_with_credentials_and_database()
    {
        var settings = ClickHouseSettings.Parse("http://ana:p%40ss@127.0.0.1:8123/atalaya");
        Assert.Equal(new Uri("http://127.0.0.1:8123/"), settings.Url);
        Assert.Equal("atalaya", settings.Database);
        Assert.Equal("ana", settings.User);
        Assert.Equal("p@ss", settings.Password);
        Assert.Equal("default", ClickHouseSettings.Parse("http://127.0.0.1:8123").Database);
        var error = Assert.Throws<ArgumentException>(() => ClickHouseSettings.Parse("127.0.0.1:8123"));
        Assert.Contains("http://127.0.0.1:8123/atalaya", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bodies_are_compressed_unless_clickhouse_is_on_this_machine_or_the_url_says_otherwise()
    {
        Assert.False(ClickHouseSettings.Parse("http://127.0.0.1:8123/atalaya").Compress);
        Assert.False(ClickHouseSettings.Parse("http://localhost:8123/atalaya").Compress);
        Assert.False(ClickHouseSettings.Parse("http://[::1]:8123/atalaya").Compress);
        Assert.True(ClickHouseSettings.Parse("http://clickhouse-1.internal:8123/atalaya").Compress);
        Assert.True(ClickHouseSettings.Parse("http://10.0.0.7:8123/atalaya").Compress);
        Assert.True(ClickHouseSettings.Parse("http://127.0.0.1:8123/atalaya?compress=1").Compress);
        Assert.False(ClickHouseSettings.Parse("http://10.0.0.7:8123/atalaya?compress=0").Compress);
        Assert.Equal("atalaya", ClickHouseSettings.Parse("http://10.0.0.7:8123/atalaya?compress=false").Database);
        var error = Assert.Throws<ArgumentException>(() => ClickHouseSettings.Parse("http://127.0.0.1:8123/atalaya?compress=yes"));
        Assert.Contains("compress=1", error.Message, StringComparison.Ordinal);
        error = Assert.Throws<ArgumentException>(() => ClickHouseSettings.Parse("http://127.0.0.1:8123/atalaya?user=x"));
        Assert.Contains("'user'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Uncompressed_bodies_go_as_plain_rows_and_come_back_plain()
    {
        var wire = new RecordingHandler();
        var client = await server.NewDatabaseAsync(s => s with { Compress = false }, handler: wire);
        await InsertTextRowsAsync(client, "plain text");
        var insert = wire.Exchanges.Last();
        Assert.Equal("", insert.RequestContentEncoding);
        Assert.Equal((byte)'{', insert.BodyStart[0]);

        Assert.Equal(1000, await client.ScalarInt64Async("SELECT count() FROM z WHERE s LIKE 'plain text %'", None));
        var select = wire.Exchanges.Last();
        Assert.DoesNotContain("gzip", select.AcceptEncoding, StringComparison.Ordinal);
        Assert.DoesNotContain("gzip", select.ResponseContentEncoding, StringComparison.Ordinal);
    }

    /// <summary>A table z of 1,000 rows "PREFIX 0" to "PREFIX 999", inserted in one streamed insert.</summary>
    private static async Task InsertTextRowsAsync(ClickHouseClient client, string prefix)
    {
        await client.ExecuteAsync("CREATE TABLE z (s String) ENGINE = MergeTree ORDER BY s", None);
        await client.InsertAsync("z", ["s"], async (rows, ct) =>
        {
            for (var i = 0; i < 1000; i++)
            {
                rows.Row.WriteStartObject();
                rows.Row.WriteString("s", prefix + " " + i);
                rows.Row.WriteEndObject();
                await rows.EndRowAsync(ct);
            }
        }, None);
    }

    private static async Task<long> Running(ClickHouseClient client, string marker) =>
        await client.ScalarInt64Async($"SELECT count() FROM system.processes WHERE query LIKE {ClickHouseClient.Literal("%" + marker + " count()%")} AND query NOT LIKE '%system.processes%'", None);

    private static Task WaitUntilGoneAsync(ClickHouseClient client, string marker) =>
        WaitUntilAsync(async () => await Running(client, marker) == 0);

    /// <summary>Polls until <paramref name="condition"/> holds; a bound for a broken feature, not a speed claim.</summary>
    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        for (var attempt = 0; attempt < 600; attempt++)
        {
            if (await condition())
            {
                return;
            }
            await Task.Delay(100);
        }
        Assert.Fail("the condition did not hold within 60 s");
    }

    private static async Task<List<string?[]>> ToListAsync(IAsyncEnumerable<string?[]> rows)
    {
        var list = new List<string?[]>();
        await foreach (var row in rows)
        {
            list.Add(row);
        }
        return list;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>What went over the wire: the encodings of each request and answer and the first body bytes sent.</summary>
    private sealed class RecordingHandler() : DelegatingHandler(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None })
    {
        public List<Exchange> Exchanges { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var exchange = new Exchange { Query = request.RequestUri!.Query, AcceptEncoding = string.Join(",", request.Headers.AcceptEncoding) };
            if (request.Content is { } content)
            {
                exchange.RequestContentEncoding = string.Join(",", content.Headers.ContentEncoding);
                var peeking = new PeekingContent(content, exchange);
                foreach (var header in content.Headers)
                {
                    peeking.Headers.TryAddWithoutValidation(header.Key, header.Value);
                }
                request.Content = peeking;
            }
            var response = await base.SendAsync(request, cancellationToken);
            exchange.ResponseContentEncoding = string.Join(",", response.Content.Headers.ContentEncoding);
            Exchanges.Add(exchange);
            return response;
        }
    }

    private sealed class Exchange
    {
        public string Query { get; init; } = "";
        public string AcceptEncoding { get; init; } = "";
        public string RequestContentEncoding { get; set; } = "";
        public string ResponseContentEncoding { get; set; } = "";
        public byte[] BodyStart { get; set; } = [];
    }

    /// <summary>Sends the inner content unchanged, keeping its first two bytes.</summary>
    private sealed class PeekingContent(HttpContent inner, Exchange exchange) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            using var copy = new MemoryStream();
            await inner.CopyToAsync(copy);
            exchange.BodyStart = copy.ToArray()[..Math.Min(2, (int)copy.Length)];
            copy.Position = 0;
            await copy.CopyToAsync(stream);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
