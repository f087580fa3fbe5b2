namespace Atalaya.Bench.Query;

/// <summary>Reads a stream line by line into one reused buffer; a line stays valid until the next call.</summary>
public sealed class NdjsonLines(Stream stream)
{
    private byte[] _buffer = new byte[4 << 20];
    private int _start;
    private int _end;
    private bool _eof;

    public bool TryRead(out ReadOnlyMemory<byte> line)
    {
        while (true)
        {
            var newline = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                line = _buffer.AsMemory(_start, newline);
                _start += newline + 1;
                if (line.Length == 0)
                {
                    continue;
                }
                return true;
            }
            if (_eof)
            {
                line = _buffer.AsMemory(_start, _end - _start);
                _start = _end;
                return line.Length > 0;
            }
            if (_start > 0)
            {
                _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                _end -= _start;
                _start = 0;
            }
            if (_end == _buffer.Length)
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }
            var read = stream.Read(_buffer, _end, _buffer.Length - _end);
            _eof = read == 0;
            _end += read;
        }
    }
}
