using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Atalaya.Engine.Collect;

/// <summary>
/// IP addresses as the hub stores them (docs/privacy.md): the leading bits only (IPv4 /24, IPv6 /48
/// by default, <see cref="IngestOptions.IpV4PrefixBits"/>), the rest zero — 203.0.113.77 is stored as
/// 203.0.113.0. Enough for a network or a country, not for a household.
/// </summary>
internal static class IpTruncation
{
    /// <summary>The truncated address as UTF-8, or null when <paramref name="utf8"/> is not an IP address.</summary>
    public static byte[]? Truncate(ReadOnlySpan<byte> utf8, IngestOptions options)
    {
        if (utf8.Length is 0 or > 64)
        {
            return null;
        }
        Span<char> chars = stackalloc char[utf8.Length];
        var length = Encoding.UTF8.GetChars(utf8, chars);
        return Truncate(chars[..length], options) is { } text ? Encoding.UTF8.GetBytes(text) : null;
    }

    /// <summary>The truncated address, or null when <paramref name="text"/> is not an IP address.</summary>
    public static string? Truncate(ReadOnlySpan<char> text, IngestOptions options)
    {
        if (!IPAddress.TryParse(text, out var address))
        {
            return null;
        }
        var bytes = address.GetAddressBytes();
        var keep = address.AddressFamily == AddressFamily.InterNetwork ? options.IpV4PrefixBits : options.IpV6PrefixBits;
        keep = Math.Clamp(keep, 0, bytes.Length * 8);
        for (var bit = keep; bit < bytes.Length * 8; bit++)
        {
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }
        return new IPAddress(bytes).ToString();
    }
}
