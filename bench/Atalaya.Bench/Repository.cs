namespace Atalaya.Bench;

public static class Repository
{
    /// <summary>The folder holding Atalaya.slnx, searched upward from here and from the working directory.</summary>
    public static string Root()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "Atalaya.slnx")))
                {
                    return directory.FullName;
                }
            }
        }
        throw new InvalidOperationException("Run the benchmark from inside the repository (Atalaya.slnx not found).");
    }
}
