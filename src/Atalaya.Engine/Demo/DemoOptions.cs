namespace Atalaya.Engine.Demo;

public sealed record DemoOptions(int Days = 60, int Seed = 42, DateOnly? EndDate = null, int SessionsPerDay = 1200);
