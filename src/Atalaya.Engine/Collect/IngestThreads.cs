using System.Collections.Concurrent;
using Atalaya.Engine.Storage;

namespace Atalaya.Engine.Collect;

/// <summary>
/// The threads that normalize and compress collected events (parse, validate, enrich: most of
/// ingest's CPU), at a lower scheduling priority than the rest of the process (<see cref="BackgroundPriority"/>). While
/// collectors send as fast as they can, a dashboard's read is then given the CPU as soon as it
/// wants it instead of queueing behind batches of events for its share; with nothing else to run,
/// normalization still takes every core it is allowed (docs/collector.md). Shared by every pipeline
/// of the process; <see cref="IngestOptions.NormalizeConcurrency"/> still bounds how many requests
/// normalize at once. Where the priority cannot be lowered (not Linux), the threads run at normal
/// priority and nothing else changes.
/// </summary>
internal static class IngestThreads
{
    private static readonly BlockingCollection<Action> Work = Start();

    /// <summary>Whether the threads run at the lowered priority (false where the OS refused or has no such call).</summary>
    public static bool Lowered { get; private set; }

    /// <summary>Runs <paramref name="work"/> on one of the threads; its result or exception comes back through the task.</summary>
    public static Task<T> RunAsync<T>(Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Work.Add(() =>
        {
            try
            {
                done.SetResult(work());
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        });
        return done.Task;
    }

    private static BlockingCollection<Action> Start()
    {
        var work = new BlockingCollection<Action>();
        for (var i = 0; i < Environment.ProcessorCount; i++)
        {
            var thread = new Thread(() =>
            {
                Lowered |= BackgroundPriority.TryLowerCurrentThread();
                foreach (var action in work.GetConsumingEnumerable())
                {
                    action();
                }
            })
            {
                IsBackground = true,
                Name = $"atalaya-normalize-{i}",
            };
            thread.Start();
        }
        return work;
    }
}
