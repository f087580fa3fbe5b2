using System.Globalization;

namespace Atalaya.Tests.Support;

/// <summary>A process's threads as Linux shows them under <c>/proc/PID/task/TID</c>.</summary>
internal static class ProcessThreads
{
    /// <summary>
    /// The nice value of each thread of process <paramref name="pid"/> (<c>self</c> for this one)
    /// whose name starts with <paramref name="namePrefix"/>: <c>comm</c> is the name cut to 15 bytes,
    /// field 19 of <c>stat</c> the nice value. A thread that ends between the listing and the read
    /// is left out: a process's other threads (the thread pool's, the runtime's) come and go, and a
    /// run on a loaded machine met one that had gone.
    /// </summary>
    public static List<int> Nices(string pid, string namePrefix)
    {
        var nices = new List<int>();
        foreach (var task in Directory.GetDirectories($"/proc/{pid}/task"))
        {
            try
            {
                if (!File.ReadAllText(Path.Combine(task, "comm")).Trim().StartsWith(namePrefix, StringComparison.Ordinal))
                {
                    continue;
                }
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                // The name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
                nices.Add(int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[19 - 3], CultureInfo.InvariantCulture));
            }
            catch (IOException)
            {
                // The thread ended meanwhile (its folder is gone: DirectoryNotFoundException, an IOException).
            }
        }
        return nices;
    }
}
