using System.Diagnostics;

namespace Atalaya.Tests.Support;

/// <summary>
/// Runs scripts/services.sh (which installs the Debian package of a server when missing and starts
/// it on 127.0.0.1) with a state folder of the caller's, so that fixtures running in parallel each
/// get their own server, ports and data.
/// </summary>
internal static class ServicesScript
{
    public static async Task<string> RunAsync(string state, string command, string service, params string[] arguments)
    {
        var info = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(RepositoryRoot(), "scripts", "services.sh"));
        info.ArgumentList.Add(command);
        info.ArgumentList.Add(service);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        info.Environment["ATALAYA_SERVICES"] = state;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5)); // an apt-get install on a fresh machine included
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"services.sh {command} {service} failed ({process.ExitCode}):\n{await stdout}\n{await stderr}");
        }
        return await stdout;
    }

    /// <summary>The value of a NAME=value line the script printed.</summary>
    public static string Value(string output, string name) =>
        output.Split('\n').FirstOrDefault(l => l.StartsWith(name + "=", StringComparison.Ordinal))?[(name.Length + 1)..].Trim()
        ?? throw new InvalidOperationException($"services.sh printed no {name}= line:\n{output}");

    public static string NewStateFolder(string service) =>
        Path.Combine(Path.GetTempPath(), $"atalaya-{service}-{Guid.NewGuid().ToString("N")[..12]}");

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Atalaya.slnx")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new InvalidOperationException("the repository root (Atalaya.slnx) is not above " + AppContext.BaseDirectory);
    }
}
