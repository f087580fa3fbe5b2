namespace Atalaya.Engine.Demo;

/// <summary>
/// What <see cref="DemoGenerator"/> produces: <paramref name="Days"/> days ending with
/// <paramref name="EndDate"/> (today, UTC, when null), about <paramref name="SessionsPerDay"/>
/// sessions a day. The same options give byte-identical output as long as the range lies in the past.
/// </summary>
public sealed record DemoOptions(int Days = 60, int Seed = 42, DateOnly? EndDate = null, int SessionsPerDay = 1200);
