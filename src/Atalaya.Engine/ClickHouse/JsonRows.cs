using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Atalaya.Engine.ClickHouse;

/// <summary>
/// The rows of one streamed insert, in ClickHouse's JSONEachRow format (one JSON object per line,
/// members named after the columns; a missing member takes the column's default). Rows are
/// written with <see cref="Row"/> into a small buffer that goes to the (gzip) request body each
/// time it passes <see cref="FlushBytes"/>, so a batch is never one string in memory.
/// </summary>
internal sealed class JsonRows : IAsyncDisposable
{
    private const int FlushBytes = 64 * 1024;

    // Non-ASCII text is written as UTF-8, not \u escapes: fewer bytes for ClickHouse to parse.
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly ArrayBufferWriter<byte> _buffer = new(FlushBytes * 2);
    private readonly Stream _body;

    internal JsonRows(Stream body)
    {
        _body = body;
        Row = new Utf8JsonWriter(_buffer, Options);
    }

    /// <summary>Writes the current row: one JSON object, then <see cref="EndRowAsync"/>.</summary>
    public Utf8JsonWriter Row { get; }

    public long Count { get; private set; }

    public ValueTask EndRowAsync(CancellationToken cancellationToken)
    {
        Row.Flush();
        Row.Reset();
        _buffer.Write("\n"u8);
        Count++;
        return _buffer.WrittenCount >= FlushBytes ? FlushAsync(cancellationToken) : ValueTask.CompletedTask;
    }

    internal async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        await _body.WriteAsync(_buffer.WrittenMemory, cancellationToken);
        _buffer.ResetWrittenCount();
    }

    public ValueTask DisposeAsync() => Row.DisposeAsync();
}
