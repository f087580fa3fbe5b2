namespace Atalaya.Engine.Kpi.Projection;

/// <summary>
/// Hashes keys that pack two small ids into a long (<c>product &lt;&lt; 32 | store</c>). The
/// default hash of a long XORs its halves, so such keys share a few thousand hash codes between
/// them and the table degrades into long chains; a multiplicative mix spreads them.
/// </summary>
internal sealed class PackedKeyComparer : IEqualityComparer<long>
{
    public static readonly PackedKeyComparer Instance = new();

    public bool Equals(long x, long y) => x == y;

    public int GetHashCode(long key) => (int)(((ulong)key * 0x9E3779B97F4A7C15UL) >> 32);
}
