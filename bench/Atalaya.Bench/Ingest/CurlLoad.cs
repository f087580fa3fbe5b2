using System.Diagnostics;
using System.Globalization;

namespace Atalaya.Bench.Ingest;

/// <summary>
/// An independent load generator: the same request bodies written to files and posted by
/// <c>curl</c> (one process and one connection a request, <c>xargs -P N</c> at a time), so the
/// figures do not depend on this benchmark's own .NET client. A request counts its file's events
/// when it answers 2xx.
/// </summary>
public static class CurlLoad
{
    public static async Task<Load.Result> RunAsync(IReadOnlyList<byte[]> bodies, IReadOnlyList<int> rowsPerBody, int connections, string url, string contentType, string? bearer)
    {
        var folder = Path.Combine(Path.GetTempPath(), "atalaya-bench-curl-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(folder);
        try
        {
            var rows = new Dictionary<string, long>();
            for (var i = 0; i < bodies.Count; i++)
            {
                var file = Path.Combine(folder, i.ToString("D6", CultureInfo.InvariantCulture) + ".body");
                await File.WriteAllBytesAsync(file, bodies[i]);
                rows[file] = rowsPerBody[i];
            }
            var list = Path.Combine(folder, "files.txt");
            await File.WriteAllLinesAsync(list, rows.Keys);
            var auth = bearer is null ? "" : $"-H 'Authorization: Bearer {bearer}'";
            // Each line of output: the file, then the HTTP status.
            var script = $"xargs -P {connections} -I '{{}}' curl -sS -o /dev/null -w '{{}} %{{http_code}}\\n' -H 'Content-Type: {contentType}' {auth} --data-binary '@{{}}' '{url}' < '{list}'";
            var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add(script);
            var clock = Stopwatch.StartNew();
            using var process = Process.Start(info)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            var seconds = clock.Elapsed.TotalSeconds;
            long accepted = 0;
            var failures = 0;
            string? first = (await stderr).Trim() is { Length: > 0 } error ? error : null;
            foreach (var line in (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var space = line.LastIndexOf(' ');
                var (file, status) = (line[..space], line[(space + 1)..]);
                if (status.StartsWith('2'))
                {
                    accepted += rows[file];
                }
                else
                {
                    failures++;
                    first ??= $"HTTP {status}";
                }
            }
            return new Load.Result(seconds, accepted, failures, first);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
