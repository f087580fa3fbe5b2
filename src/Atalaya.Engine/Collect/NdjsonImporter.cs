namespace Atalaya.Engine.Collect;

/// <summary>
/// Bulk-loads NDJSON through the same pipeline as the HTTP collector (validation, dedupe,
/// durable append), in chunks of whole lines. Chunks are appended in file order, so a
/// <c>store_created</c> line fills the dimensions of every later line.
/// </summary>
public static class NdjsonImporter
{
    public const int ChunkBytes = 4 * 1024 * 1024;
    public const int ChunkLines = 5000;

    public static async Task<ImportSummary> ImportAsync(IngestPipeline pipeline, Stream input, string source,
        Action<long>? progress = null, CancellationToken cancellationToken = default)
    {
        var buffer = new byte[ChunkBytes * 2];
        var filled = 0;
        long consumed = 0, accepted = 0, duplicates = 0, rejected = 0;
        var errors = new List<string>();
        var lineBase = 0L;
        while (true)
        {
            var read = await input.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false);
            filled += read;
            if (consumed == 0 && filled >= 3 && buffer.AsSpan(0, 3).SequenceEqual("\uFEFF"u8))
            {
                // A UTF-8 byte order mark (editors on Windows write one): not part of the first line.
                buffer.AsSpan(3, filled - 3).CopyTo(buffer);
                filled -= 3;
                consumed = 3;
            }
            var end = read == 0 ? filled : CutAfterLines(buffer.AsSpan(0, filled));
            if (end == 0 && read > 0 && filled == buffer.Length)
            {
                // A single line longer than the buffer: far past the per-event limit.
                Array.Resize(ref buffer, buffer.Length * 2);
                continue;
            }
            if (end > 0)
            {
                var chunk = buffer.AsMemory(0, end);
                if (!chunk.Span.Trim("\r\n "u8).IsEmpty)
                {
                    IngestResult result;
                    try
                    {
                        result = await pipeline.IngestNativeAsync(chunk, ndjson: true, source, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Storage.StoreUnavailableException e)
                    {
                        // Where events go is away (a full disk, RabbitMQ down): stop with what was
                        // acknowledged so far. This chunk was not; importing the file again skips
                        // what was (as duplicates) and takes the rest.
                        return new ImportSummary(accepted, duplicates, rejected, errors) { Stopped = e.Message, StoppedAtLine = lineBase + 1 };
                    }
                    accepted += result.Accepted;
                    duplicates += result.Duplicates;
                    rejected += result.Rejected.Count;
                    foreach (var r in result.Rejected.Take(Math.Max(0, 10 - errors.Count)))
                    {
                        errors.Add($"line {lineBase + r.Index + 1}: {string.Join("; ", r.Errors)}");
                    }
                    lineBase += CountNonEmptyLines(chunk.Span);
                }
                consumed += end;
                progress?.Invoke(consumed);
                buffer.AsSpan(end, filled - end).CopyTo(buffer);
                filled -= end;
            }
            if (read == 0 && filled == 0)
            {
                break;
            }
        }
        return new ImportSummary(accepted, duplicates, rejected, errors);
    }

    /// <summary>The length of the longest prefix holding at most <see cref="ChunkLines"/> whole lines.</summary>
    private static int CutAfterLines(ReadOnlySpan<byte> data)
    {
        var lines = 0;
        var position = 0;
        var cut = 0;
        while (position < data.Length && lines < ChunkLines && position < ChunkBytes)
        {
            var newline = data[position..].IndexOf((byte)'\n');
            if (newline < 0)
            {
                break;
            }
            position += newline + 1;
            cut = position;
            lines++;
        }
        return cut;
    }

    private static long CountNonEmptyLines(ReadOnlySpan<byte> chunk)
    {
        long count = 0;
        foreach (var range in chunk.Split((byte)'\n'))
        {
            if (!chunk[range].Trim("\r "u8).IsEmpty)
            {
                count++;
            }
        }
        return count;
    }
}

/// <summary>What an import did; <see cref="FirstErrors"/> holds up to ten rejections with line numbers.</summary>
public sealed record ImportSummary(long Accepted, long Duplicates, long Rejected, IReadOnlyList<string> FirstErrors)
{
    /// <summary>Why the import stopped before the end of its input (where events go was away), or null when it read everything.</summary>
    public string? Stopped { get; init; }

    /// <summary>With <see cref="Stopped"/>: the first non-empty line not acknowledged.</summary>
    public long StoppedAtLine { get; init; }
}
