using System.Text;

namespace Atalaya.Engine.ClickHouse;

/// <summary>
/// ClickHouse's TabSeparated rows: fields split on tabs; a backslash escapes tab, newline and the
/// other control characters, quotes and itself; a field that is exactly <c>\N</c> is NULL.
/// </summary>
internal static class TabSeparated
{
    public static string?[] Split(string line)
    {
        var fields = line.Split('\t');
        var row = new string?[fields.Length];
        for (var i = 0; i < fields.Length; i++)
        {
            row[i] = fields[i] == "\\N" ? null : Unescape(fields[i]);
        }
        return row;
    }

    /// <summary>A value as one TabSeparated field: backslash, tab, newline and carriage return escaped.</summary>
    public static string Escape(string value) =>
        value.AsSpan().IndexOfAny("\\\t\n\r") < 0
            ? value
            : value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\t", "\\t", StringComparison.Ordinal)
                .Replace("\n", "\\n", StringComparison.Ordinal).Replace("\r", "\\r", StringComparison.Ordinal);

    public static string Unescape(string field)
    {
        var slash = field.IndexOf('\\', StringComparison.Ordinal);
        if (slash < 0)
        {
            return field;
        }
        var text = new StringBuilder(field.Length);
        text.Append(field, 0, slash);
        for (var i = slash; i < field.Length; i++)
        {
            if (field[i] != '\\' || i + 1 == field.Length)
            {
                text.Append(field[i]);
                continue;
            }
            text.Append(field[++i] switch
            {
                'b' => '\b',
                'f' => '\f',
                'r' => '\r',
                'n' => '\n',
                't' => '\t',
                '0' => '\0',
                'a' => '\a',
                'v' => '\v',
                var other => other,
            });
        }
        return text.ToString();
    }
}
