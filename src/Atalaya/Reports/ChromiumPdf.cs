using System.Diagnostics;

namespace Atalaya.Reports;

/// <summary>
/// Prints an HTML report to PDF with headless Chromium (Debian's <c>chromium</c> package) when it is
/// installed. The page's own print styles set A4 and its margins; nothing is fetched (the report
/// forbids it), so this works offline.
/// </summary>
public static class ChromiumPdf
{
    private static readonly string[] Candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

    public static string? Find() =>
        Environment.GetEnvironmentVariable("ATALAYA_CHROMIUM") is { Length: > 0 } configured && File.Exists(configured) ? configured
            : Candidates.FirstOrDefault(File.Exists);

    /// <summary>Writes <paramref name="pdfPath"/>; null on success, else what went wrong.</summary>
    public static string? Print(string htmlPath, string pdfPath)
    {
        var chromium = Find();
        if (chromium is null)
        {
            return "chromium is not installed";
        }
        var profile = Directory.CreateTempSubdirectory("atalaya-pdf-");
        try
        {
            var info = new ProcessStartInfo(chromium)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in new[]
            {
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", $"--user-data-dir={profile.FullName}", "--no-pdf-header-footer",
                $"--print-to-pdf={Path.GetFullPath(pdfPath)}", new Uri(Path.GetFullPath(htmlPath)).AbsoluteUri,
            })
            {
                info.ArgumentList.Add(arg);
            }
            using var process = Process.Start(info)!;
            var stderr = process.StandardError.ReadToEndAsync();
            _ = process.StandardOutput.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(120)))
            {
                process.Kill(entireProcessTree: true);
                return "chromium did not finish within 120 s";
            }
            return process.ExitCode == 0 && File.Exists(pdfPath) && new FileInfo(pdfPath).Length > 0
                ? null
                : $"chromium exited with {process.ExitCode}: {stderr.Result.Trim().Split('\n').LastOrDefault()}";
        }
        finally
        {
            try
            {
                profile.Delete(recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
