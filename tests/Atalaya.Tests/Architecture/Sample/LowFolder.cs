namespace Atalaya.Tests.Architecture.Sample.Low;

/// <summary>A lower folder that names a higher one only inside a lambda, through <c>var</c>: what <see cref="LayeringTests"/> must still catch.</summary>
internal static class LowFolder
{
    public static int Count()
    {
        Func<int> later = () =>
        {
            var upward = High.HighFolder.Create();
            return upward.Length;
        };
        return later();
    }

    public static string Name() => "low";
}
