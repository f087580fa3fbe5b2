namespace Atalaya.Tests.Support;

/// <summary>Polls for an observable outcome, with a generous bound so a loaded machine only slows a test down.</summary>
internal static class Wait
{
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"waited {seconds} s for: {what}");
            }
            await Task.Delay(20);
        }
    }

    public static Task UntilAsync(Func<bool> condition, string what, int seconds = 60) =>
        UntilAsync(() => Task.FromResult(condition()), what, seconds);

    /// <summary>Reads until <paramref name="done"/> holds for what was read, and returns that; the timeout names the last value read.</summary>
    public static async Task<T> ForAsync<T>(Func<Task<T>> read, Func<T, bool> done, string what, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"waited {seconds} s for: {what} (last read: {value})");
            }
            await Task.Delay(200);
        }
    }
}
