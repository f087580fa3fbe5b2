namespace Atalaya.Engine.Kpi.Projection;

/// <summary>
/// Dictionary encoding of one text column: each distinct value gets a dense id from 1; 0 means
/// "no value". Lookups from UTF-16 spans do not allocate, so reading a stored event only allocates
/// for values seen for the first time.
/// </summary>
internal sealed class StringPool
{
    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly List<string?> _values = [null];

    public StringPool() => _lookup = _ids.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Ids in use are 1..Count.</summary>
    public int Count => _values.Count - 1;

    public string? this[int id] => _values[id];

    public int Intern(ReadOnlySpan<char> value)
    {
        if (_lookup.TryGetValue(value, out var id))
        {
            return id;
        }
        var text = value.ToString();
        id = _values.Count;
        _ids.Add(text, id);
        _values.Add(text);
        return id;
    }

    /// <summary>The id of <paramref name="value"/>, or 0 when it was never seen.</summary>
    public int Find(string value) => _ids.TryGetValue(value, out var id) ? id : 0;

    internal void Write(BinaryWriter writer)
    {
        writer.Write(Count);
        for (var id = 1; id < _values.Count; id++)
        {
            writer.Write(_values[id]!);
        }
    }

    internal void Read(BinaryReader reader)
    {
        var count = reader.ReadInt32();
        for (var id = 1; id <= count; id++)
        {
            var text = reader.ReadString();
            _ids.Add(text, id);
            _values.Add(text);
        }
    }
}
