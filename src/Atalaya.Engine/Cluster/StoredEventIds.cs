using System.Text.Json;

namespace Atalaya.Engine.Cluster;

/// <summary>The event_id of a stored event (the normalized JSON the collector writes), read without parsing the rest.</summary>
internal static class StoredEventIds
{
    public static string Read(ReadOnlySpan<byte> storedEvent)
    {
        var reader = new Utf8JsonReader(storedEvent);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("event_id"u8))
            {
                reader.Read();
                return reader.GetString()!;
            }
            reader.Read();
            reader.Skip();
        }
        // The normalizer writes event_id into every stored event; this is a programming error.
        throw new InvalidOperationException("a stored event without event_id");
    }
}
