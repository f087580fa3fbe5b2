using System.Runtime.InteropServices;

namespace Atalaya.Bench;

/// <summary>
/// Which build of <c>atalaya</c> the benchmarks start. By default the hub as a deployment runs it
/// (docs/operations.md, "Deploying"): <c>dotnet publish -r linux-x64</c>, whose assemblies are
/// compiled ahead of time (ReadyToRun), so that a fresh server does not spend its first seconds in
/// the JIT (ClickHouse, which it is compared with, is machine code from the start). It is published
/// into artifacts/bench-hub and again whenever the Release build is newer. <c>ATALAYA_BENCH_BUILD=jit</c>
/// starts the plain Release build instead (both are measured side by side in docs/benchmarks.md).
/// </summary>
public static class HubBuild
{
    /// <summary>What the figures were measured on, for the reports: "published (ReadyToRun)" or "Release build (JIT)".</summary>
    public static string Kind => Jit ? "Release build (JIT)" : "published (ReadyToRun)";

    private static bool Jit => Environment.GetEnvironmentVariable("ATALAYA_BENCH_BUILD") == "jit";

    private static readonly Lock Gate = new();

    /// <summary>The atalaya.dll to start (built or published first when missing or stale).</summary>
    public static string Dll(string repository)
    {
        lock (Gate)
        {
            var built = Path.Combine(repository, "src/Atalaya/bin/Release/net10.0/atalaya.dll");
            if (!File.Exists(built))
            {
                HubProcess.Run("dotnet", repository, "build", "-c", "Release", "src/Atalaya", "-v", "q");
            }
            if (Jit)
            {
                return built;
            }
            var output = Path.Combine(repository, "artifacts/bench-hub");
            var published = Path.Combine(output, "atalaya.dll");
            var engine = Path.Combine(repository, "src/Atalaya/bin/Release/net10.0/Atalaya.Engine.dll");
            var newest = new[] { built, engine }.Max(File.GetLastWriteTimeUtc);
            if (!File.Exists(published) || File.GetLastWriteTimeUtc(published) < newest)
            {
                var rid = RuntimeInformation.OSArchitecture == Architecture.Arm64 ? "linux-arm64" : "linux-x64";
                Console.WriteLine($"Publishing atalaya ({rid}, ReadyToRun) into artifacts/bench-hub …");
                HubProcess.Run("dotnet", repository, "publish", "src/Atalaya", "-c", "Release", "-r", rid, "--self-contained", "false", "-o", output, "-v", "q");
                // The publish copies the build's timestamps: mark when it was made.
                File.SetLastWriteTimeUtc(published, DateTime.UtcNow);
            }
            return published;
        }
    }
}
