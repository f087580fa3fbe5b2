using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Text;

namespace Atalaya.Engine.ClickHouse;

/// <summary>
/// ClickHouse over its HTTP interface, the one way that works with Debian's server (18.16; the
/// official .NET driver fails against it). Every statement is a POST (a GET is read-only there)
/// with its own query id, so that a cancelled statement is also stopped on the server
/// (<c>KILL QUERY</c>). Bodies are gzip both ways (unless <see cref="ClickHouseSettings.Compress"/>
/// is off, for a ClickHouse on this machine): an insert's rows are compressed while they are
/// written (<c>Content-Encoding: gzip</c>), answers are asked for compressed
/// (<c>Accept-Encoding: gzip</c> with <c>enable_http_compression=1</c>) and read as they arrive.
///
/// Answers are read as TabSeparated: one row a line, fields split on tabs, a handful of escapes,
/// no quoting or type guessing (JSONEachRow would quote 64-bit integers as strings anyway), so a
/// row is parsed with one pass over a line and the answer is never held whole.
///
/// Failures come in two kinds: <see cref="ClickHouseException"/> when the server refused the
/// statement (its code and message; retrying will not help) and
/// <see cref="ClickHouseUnavailableException"/> when the server could not be reached or did not
/// answer within <see cref="ClickHouseSettings.Timeout"/> (retry later; HTTP callers answer 503).
/// </summary>
internal sealed class ClickHouseClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly ClickHouseSettings _settings;

    /// <param name="handler">The HTTP handler; tests pass one that records what goes over the wire.
    /// It must not decompress answers itself: the client asks for gzip and decodes it.</param>
    public ClickHouseClient(ClickHouseSettings settings, HttpMessageHandler? handler = null)
    {
        _settings = settings;
        _http = new HttpClient(handler ?? new SocketsHttpHandler
        {
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            // ClickHouse closes a keep-alive connection idle for keep_alive_timeout (3 s by
            // default); reusing one it is closing fails the request, so the pool lets go first.
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(2),
        })
        {
            // Each request has its own deadline (a linked token), so a streamed answer is bounded too.
            Timeout = System.Threading.Timeout.InfiniteTimeSpan,
        };
    }

    public string Database => _settings.Database;

    /// <summary>Succeeds when the server answers <c>GET /ping</c> with <c>Ok.</c>.</summary>
    public async Task PingAsync(CancellationToken cancellationToken)
    {
        using var deadline = Deadline(cancellationToken);
        try
        {
            using var response = await _http.GetAsync(new Uri(_settings.Url, "ping"), deadline.Token);
            var text = await response.Content.ReadAsStringAsync(deadline.Token);
            if (!response.IsSuccessStatusCode || text.Trim() != "Ok.")
            {
                throw new ClickHouseUnavailableException($"ClickHouse at {_settings.Url} answered the ping with HTTP {(int)response.StatusCode} '{Shorten(text)}'");
            }
        }
        catch (Exception e) when (Unreachable(e, cancellationToken) is { } unavailable)
        {
            throw unavailable;
        }
    }

    /// <summary>Runs a statement that answers nothing worth reading (DDL, OPTIMIZE, KILL, …).</summary>
    public async Task ExecuteAsync(string sql, CancellationToken cancellationToken) =>
        await ExecuteAsync(sql, useDatabase: true, cancellationToken);

    /// <summary>Creates the settings' database if it is missing (statements otherwise run in it and fail with 81 without it).</summary>
    public Task CreateDatabaseAsync(CancellationToken cancellationToken) =>
        ExecuteAsync($"CREATE DATABASE IF NOT EXISTS {Quote(_settings.Database)}", useDatabase: false, cancellationToken);

    /// <summary>Drops the settings' database and everything in it.</summary>
    public Task DropDatabaseAsync(CancellationToken cancellationToken) =>
        ExecuteAsync($"DROP DATABASE IF EXISTS {Quote(_settings.Database)}", useDatabase: false, cancellationToken);

    private async Task ExecuteAsync(string sql, bool useDatabase, CancellationToken cancellationToken)
    {
        var queryId = NewQueryId();
        using var deadline = Deadline(cancellationToken);
        using var response = await SendAsync(Address(queryId, useDatabase), new StringContent(sql, Encoding.UTF8), queryId, deadline, cancellationToken);
        await DrainAsync(response, queryId, deadline, cancellationToken);
    }

    /// <summary>
    /// The rows of a query as they arrive (each field unescaped; <c>\N</c>, NULL, is null). Do not
    /// add a FORMAT clause: the answer is read as TabSeparated.
    /// </summary>
    public IAsyncEnumerable<string?[]> QueryAsync(string sql, CancellationToken cancellationToken) =>
        QueryAsync(sql, null, cancellationToken);

    /// <summary>
    /// The rows of a query that reads <paramref name="external"/> as a table of that name, sent
    /// with the query as ClickHouse's external data (a multipart upload). A long list of values
    /// goes this way rather than into the SQL: the parser would make a node of every literal, and
    /// a query is at most max_query_size (256 KiB) long.
    /// </summary>
    public IAsyncEnumerable<string?[]> QueryAsync(string sql, ExternalTable? external, CancellationToken cancellationToken) =>
        RowsAsync(sql, external, oneThread: false, cancellationToken);

    /// <summary>
    /// The rows of a query run on one thread (<c>max_threads = 1</c>): an aggregate then reads a sorted
    /// subquery's rows in their order, which <c>windowFunnel</c> needs for events of the same time.
    /// </summary>
    public IAsyncEnumerable<string?[]> QueryOnOneThreadAsync(string sql, CancellationToken cancellationToken) =>
        RowsAsync(sql, null, oneThread: true, cancellationToken);

    private async IAsyncEnumerable<string?[]> RowsAsync(string sql, ExternalTable? external, bool oneThread, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var queryId = NewQueryId();
        var address = Address(queryId, useDatabase: true) + (oneThread ? "&max_threads=1" : "");
        HttpContent content;
        if (external is null)
        {
            content = new StringContent(sql + "\nFORMAT TabSeparated", Encoding.UTF8);
        }
        else
        {
            address += "&query=" + Uri.EscapeDataString(sql + "\nFORMAT TabSeparated")
                + $"&{external.Name}_structure=" + Uri.EscapeDataString(external.Structure) + $"&{external.Name}_format=TabSeparated";
            content = new MultipartFormDataContent { { new LinesContent(external.Rows), external.Name, external.Name } };
        }
        using var deadline = Deadline(cancellationToken);
        // After a multipart request ClickHouse 18.16 may leave the closing boundary unread on
        // the connection, and the next request on it gets an empty 400: such a connection is not reused.
        using var response = await SendAsync(address, content, queryId, deadline, cancellationToken, closeConnection: external is not null);
        using var reader = new StreamReader(await AnswerStreamAsync(response, queryId, deadline, cancellationToken), Encoding.UTF8, false, AnswerBuffer);
        // From here the timeout bounds each wait for ClickHouse, not the whole answer: a caller may
        // read a long answer slowly, or hold it unread while it finishes another (a cluster node's
        // load reads a month while the next month's answer waits), for longer than the timeout.
        deadline.CancelAfter(Timeout.InfiniteTimeSpan);
        // One line behind: an error that happens after the first rows were sent comes at the end
        // of a 200 answer, as ClickHouse's error text; the last line is checked before it is given out.
        var pending = await ReadLineAsync(reader, queryId, deadline, cancellationToken);
        while (pending is not null)
        {
            var next = await ReadLineAsync(reader, queryId, deadline, cancellationToken);
            if (next is null && TrailingError(pending, queryId) is { } error)
            {
                throw error;
            }
            yield return TabSeparated.Split(pending);
            pending = next;
        }
    }

    /// <summary>The first field of the first row, or null when the query answers no row.</summary>
    public async Task<string?> ScalarAsync(string sql, CancellationToken cancellationToken)
    {
        string? first = null;
        var seen = false;
        await foreach (var row in QueryAsync(sql, cancellationToken))
        {
            if (!seen)
            {
                first = row.Length > 0 ? row[0] : null;
                seen = true;
            }
        }
        return first;
    }

    public async Task<long> ScalarInt64Async(string sql, CancellationToken cancellationToken) =>
        await ScalarAsync(sql, cancellationToken) is { } text
            ? long.Parse(text, System.Globalization.CultureInfo.InvariantCulture)
            : throw new InvalidOperationException($"the query answered no row: {sql}");

    /// <summary>
    /// Inserts the rows <paramref name="writeRows"/> writes (JSONEachRow, see <see cref="JsonRows"/>)
    /// into <paramref name="table"/>, compressing them into the request body as they are written.
    /// ClickHouse makes one block of up to max_insert_block_size (1,048,576) rows of one request,
    /// so an insert of fewer rows is all or nothing. Answers the number of rows written.
    /// </summary>
    public async Task<long> InsertAsync(string table, IReadOnlyList<string> columns, Func<JsonRows, CancellationToken, ValueTask> writeRows,
        CancellationToken cancellationToken)
    {
        var queryId = NewQueryId();
        var statement = $"INSERT INTO {Quote(table)} ({string.Join(", ", columns.Select(Quote))}) FORMAT JSONEachRow";
        using var deadline = Deadline(cancellationToken);
        using var content = new RowsContent(writeRows, _settings.Compress, deadline.Token);
        HttpResponseMessage response;
        try
        {
            response = await SendAsync(Address(queryId, useDatabase: true) + "&query=" + Uri.EscapeDataString(statement), content, queryId, deadline, cancellationToken);
        }
        catch when (content.Failure is not null)
        {
            // The caller's row writer failed: that is the error, not the aborted request it caused.
            content.Failure.Throw();
            throw;
        }
        using (response)
        {
            await DrainAsync(response, queryId, deadline, cancellationToken);
        }
        return content.Rows;
    }

    public void Dispose() => _http.Dispose();

    /// <summary>An identifier in backquotes, so that any database, table or column name is one name.</summary>
    public static string Quote(string identifier) => "`" + identifier.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("`", "\\`", StringComparison.Ordinal) + "`";

    /// <summary>A string literal in single quotes.</summary>
    public static string Literal(string value) => "'" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";

    private async Task<HttpResponseMessage> SendAsync(string address, HttpContent content, string queryId, CancellationTokenSource deadline,
        CancellationToken cancellationToken, bool closeConnection = false)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, address) { Content = content };
        request.Headers.ConnectionClose = closeConnection;
        if (_settings.Compress)
        {
            request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("gzip"));
        }
        if (_settings.User is { } user)
        {
            request.Headers.Add("X-ClickHouse-User", user);
            request.Headers.Add("X-ClickHouse-Key", _settings.Password ?? "");
        }
        try
        {
            var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            if (response.IsSuccessStatusCode)
            {
                return response;
            }
            using (response)
            {
                using var reader = new StreamReader(await AnswerStreamAsync(response, queryId, deadline, cancellationToken), Encoding.UTF8);
                var text = await reader.ReadToEndAsync(deadline.Token);
                throw (Exception?)ClickHouseException.Parse(text, queryId)
                    ?? new ClickHouseUnavailableException($"ClickHouse at {_settings.Url} answered HTTP {(int)response.StatusCode}: {Shorten(text)}");
            }
        }
        catch (Exception e) when (e is not ClickHouseException and not ClickHouseUnavailableException)
        {
            throw await FailureAsync(e, queryId, cancellationToken);
        }
    }

    private async Task DrainAsync(HttpResponseMessage response, string queryId, CancellationTokenSource deadline, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(await AnswerStreamAsync(response, queryId, deadline, cancellationToken), Encoding.UTF8);
        string? last = null;
        while (await ReadLineAsync(reader, queryId, deadline, cancellationToken) is { } line)
        {
            last = line;
        }
        if (last is not null && TrailingError(last, queryId) is { } error)
        {
            throw error;
        }
    }

    private async Task<Stream> AnswerStreamAsync(HttpResponseMessage response, string queryId, CancellationTokenSource deadline, CancellationToken cancellationToken)
    {
        try
        {
            var stream = await response.Content.ReadAsStreamAsync(deadline.Token);
            return response.Content.Headers.ContentEncoding.Contains("gzip") ? new GZipStream(stream, CompressionMode.Decompress) : stream;
        }
        catch (Exception e)
        {
            throw await FailureAsync(e, queryId, cancellationToken);
        }
    }

    /// <summary>
    /// The next line of an answer. A line already buffered costs no timer; one that waits for
    /// ClickHouse arms the deadline for that wait only (see <see cref="QueryAsync(string, ExternalTable?, CancellationToken)"/>).
    /// </summary>
    private async Task<string?> ReadLineAsync(StreamReader reader, string queryId, CancellationTokenSource deadline, CancellationToken cancellationToken)
    {
        try
        {
            var line = reader.ReadLineAsync(deadline.Token);
            if (line.IsCompleted)
            {
                return await line;
            }
            deadline.CancelAfter(_settings.Timeout);
            try
            {
                return await line;
            }
            finally
            {
                deadline.CancelAfter(Timeout.InfiniteTimeSpan);
            }
        }
        catch (Exception e)
        {
            throw await FailureAsync(e, queryId, cancellationToken);
        }
    }

    /// <summary>The answer's read buffer: a cluster node's load reads hundreds of megabytes through it.</summary>
    private const int AnswerBuffer = 64 * 1024;

    /// <summary>
    /// What a transport failure means: the caller cancelled (the statement is killed on the server
    /// too, and the cancellation goes on), or ClickHouse is unavailable (refused, reset, too slow).
    /// </summary>
    private async Task<Exception> FailureAsync(Exception e, string queryId, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            await KillAsync(queryId);
            return new OperationCanceledException("the ClickHouse statement was cancelled", e, cancellationToken);
        }
        if (e is OperationCanceledException)
        {
            await KillAsync(queryId);
        }
        return Unreachable(e, cancellationToken) ?? e;
    }

    private ClickHouseUnavailableException? Unreachable(Exception e, CancellationToken cancellationToken) => e switch
    {
        _ when cancellationToken.IsCancellationRequested => null,
        OperationCanceledException => new ClickHouseUnavailableException(
            $"ClickHouse at {_settings.Url} did not answer within {_settings.Timeout.TotalSeconds:0.#} s", e),
        HttpRequestException or IOException or InvalidDataException => new ClickHouseUnavailableException(
            $"ClickHouse at {_settings.Url} is unreachable ({e.Message}); start it (scripts/services.sh start clickhouse) or check the URL", e),
        _ => null,
    };

    /// <summary>Stops a statement the client gave up on; best effort, ClickHouse may be the reason it was given up.</summary>
    private async Task KillAsync(string queryId)
    {
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            using var request = new HttpRequestMessage(HttpMethod.Post, Address(NewQueryId(), useDatabase: false))
            {
                Content = new StringContent($"KILL QUERY WHERE query_id = {Literal(queryId)} ASYNC"),
            };
            using var response = await _http.SendAsync(request, deadline.Token);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
        {
            // Unreachable or slow: the statement dies with its connection, or ClickHouse is gone anyway.
        }
    }

    private static ClickHouseException? TrailingError(string line, string queryId)
    {
        var at = line.IndexOf("Code: ", StringComparison.Ordinal);
        return at >= 0 && line.Contains("DB::Exception", StringComparison.Ordinal) ? ClickHouseException.Parse(line[at..], queryId) : null;
    }

    private CancellationTokenSource Deadline(CancellationToken cancellationToken)
    {
        var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_settings.Timeout);
        return deadline;
    }

    private string Address(string queryId, bool useDatabase) =>
        new Uri(_settings.Url, "/").AbsoluteUri + (_settings.Compress ? "?enable_http_compression=1&query_id=" : "?query_id=") + queryId
        + (useDatabase ? "&database=" + Uri.EscapeDataString(_settings.Database) : "");

    private static string NewQueryId() => "atalaya-" + Guid.NewGuid().ToString("N");

    private static string Shorten(string text) => text.Length <= 300 ? text.Trim() : text[..300].Trim() + "…";

    /// <summary>An external table's rows, TabSeparated, written while they are sent.</summary>
    private sealed class LinesContent(IEnumerable<string> rows) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await using var writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
            foreach (var row in rows)
            {
                await writer.WriteAsync(row);
                await writer.WriteAsync('\n');
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    /// <summary>A request body written while it is sent: the rows, gzip-compressed on the way when <c>compress</c>.</summary>
    private sealed class RowsContent : HttpContent
    {
        private readonly Func<JsonRows, CancellationToken, ValueTask> _writeRows;
        private readonly bool _compress;
        private readonly CancellationToken _cancellationToken;

        public RowsContent(Func<JsonRows, CancellationToken, ValueTask> writeRows, bool compress, CancellationToken cancellationToken)
        {
            _writeRows = writeRows;
            _compress = compress;
            _cancellationToken = cancellationToken;
            Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
            if (compress)
            {
                Headers.ContentEncoding.Add("gzip");
            }
        }

        public long Rows { get; private set; }

        public ExceptionDispatchInfo? Failure { get; private set; }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, _cancellationToken);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            await using var gzip = _compress ? new GZipStream(stream, CompressionLevel.Fastest, leaveOpen: true) : null;
            await using var rows = new JsonRows(gzip ?? stream);
            try
            {
                await _writeRows(rows, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Failure = ExceptionDispatchInfo.Capture(e);
                throw;
            }
            await rows.FlushAsync(cancellationToken);
            Rows = rows.Count;
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
