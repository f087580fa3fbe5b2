using System.Buffers;
using System.Text.Json;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Collect;

/// <summary>
/// Where one request's normalized events go (its <see cref="AppendBatch"/>, the stores it creates)
/// and the parts of their stored form that are the same for every event of the request, encoded
/// once: <c>,"received_at":"…"</c> and <c>,"source_system":"…","catalog_version":N</c>.
/// </summary>
internal sealed class BatchTarget
{
    public BatchTarget(AppendBatch batch, int catalogVersion)
    {
        Batch = batch;
        Writer = new Utf8JsonWriter(batch.Buffer, EventNormalizer.WriterOptions);
        ReceivedAt = Members(w => w.WriteString("received_at"u8, DateTimeOffset.FromUnixTimeMilliseconds(batch.ReceivedAtMs).UtcDateTime));
        SourceAndCatalog = Members(w =>
        {
            w.WriteString("source_system"u8, batch.SourceSystem);
            w.WriteNumber("catalog_version"u8, catalogVersion);
        });
    }

    public AppendBatch Batch { get; }

    public Utf8JsonWriter Writer { get; }

    public BatchStores Stores { get; } = new();

    public byte[] ReceivedAt { get; }

    public byte[] SourceAndCatalog { get; }

    /// <summary>Members as the stored form's writer spells them, with the comma that precedes them.</summary>
    private static byte[] Members(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, EventNormalizer.WriterOptions))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }
        var members = buffer.WrittenSpan[1..^1];
        return [(byte)',', .. members];
    }
}
