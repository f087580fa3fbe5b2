using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace Atalaya.Tests.Robustness;

/// <summary>
/// docs/collector.md: "A 2xx means every accepted event is durable: a crash after the response loses
/// nothing", and event_id is the dedupe key. A real hub takes concurrent batches (new ids, ids
/// re-sent by other writers, whole batches retried after a crash) and is SIGKILLed at a random
/// moment, again and again. After every restart each acknowledged event is stored exactly once,
/// an unacknowledged one at most once, the database passes <c>PRAGMA integrity_check</c>, and the
/// hub accepts again. Deterministic by seed except for where the kill lands.
/// </summary>
[Collection(RobustnessCollection.Name)]
public sealed class CrashDurabilityTests(ITestOutputHelper output)
{
    private const int Seed = 424_242;
    private const int Crashes = 20;
    private const int Writers = 4;

    [Fact]
    public async Task Acknowledged_events_survive_twenty_SIGKILLs_under_concurrent_ingest_exactly_once()
    {
        using var budget = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var total = Stopwatch.StartNew();
        await using var hub = await ChildHub.LaunchAsync("crash", budget.Token);
        var random = new Random(Seed);
        var ledger = new Ledger();
        var interruptedRounds = 0;
        var roundsWithAcks = 0;
        for (var round = 1; round <= Crashes; round++)
        {
            var delay = random.Next(100, 801);
            var ingest = await IngestUntilKilledAsync(hub, ledger, round, delay, random.Next(), budget.Token);
            var restart = Stopwatch.StartNew();
            await hub.StartAsync(budget.Token);
            var restartTime = restart.Elapsed;
            var check = await VerifyAsync(hub, ledger, budget.Token);
            var problems = ingest.Problems.Concat(check.Problems).ToList();
            if (problems.Count == 0)
            {
                problems.AddRange(await ProbeAsync(hub, ledger, round, budget.Token));
            }
            output.WriteLine(
                $"round {round,2}: kill after {delay} ms; batches acked {ingest.AckedBatches}, cut off {ingest.CutOffBatches}, " +
                $"retried {ingest.RetriedBatches}; events acked so far {ledger.AcknowledgedCount:N0}, stored {check.StoredRows:N0}; " +
                $"restart {restartTime.TotalMilliseconds:N0} ms, check {check.Elapsed.TotalMilliseconds:N0} ms");
            if (problems.Count > 0)
            {
                Assert.Fail($"After SIGKILL #{round} (kill {delay} ms into ingest, seed {Seed}) the hub broke its durability contract:\n  "
                    + string.Join("\n  ", problems.Take(40)) + (problems.Count > 40 ? $"\n  … and {problems.Count - 40} more" : "")
                    + $"\nData folder kept at {hub.DataDir}. Hub log tail:\n{hub.LogTail()}");
            }
            interruptedRounds += ingest.CutOffBatches > 0 ? 1 : 0;
            roundsWithAcks += ingest.AckedBatches > 0 ? 1 : 0;
        }
        output.WriteLine($"{Crashes} crashes in {total.Elapsed.TotalSeconds:N1} s; {ledger.AcknowledgedCount:N0} events acknowledged, {ledger.SentCount:N0} sent.");

        // The test proves nothing unless kills landed mid-request and acknowledgements happened.
        Assert.True(interruptedRounds >= Crashes / 2, $"Only {interruptedRounds} of {Crashes} kills cut off a request in flight.");
        Assert.True(roundsWithAcks >= Crashes / 2, $"Only {roundsWithAcks} of {Crashes} rounds had an acknowledged batch before the kill.");
        hub.MarkPassed();
    }

    private static async Task<IngestRound> IngestUntilKilledAsync(ChildHub hub, Ledger ledger, int round, int delay, int seed, CancellationToken cancellationToken)
    {
        using var client = hub.CreateClient(TimeSpan.FromSeconds(30));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var killed = new KillFlag();
        var writers = Enumerable.Range(0, Writers)
            .Select(w => Task.Run(() => WriteAsync(client, hub.WriteKey, ledger, new Random(seed + w), round, w, killed, stop.Token), CancellationToken.None))
            .ToArray();
        await Task.Delay(delay, cancellationToken);
        killed.Value = true;
        await hub.KillAsync();
        await stop.CancelAsync();
        var results = await Task.WhenAll(writers);
        return new IngestRound(
            results.Sum(r => r.AckedBatches),
            results.Sum(r => r.CutOffBatches),
            results.Sum(r => r.RetriedBatches),
            [.. results.SelectMany(r => r.Problems)]);
    }

    private static async Task<IngestRound> WriteAsync(HttpClient client, string writeKey, Ledger ledger, Random random, int round, int writer, KillFlag killed, CancellationToken stop)
    {
        var problems = new List<string>();
        int acked = 0, cutOff = 0, retried = 0, next = 0;
        while (!stop.IsCancellationRequested)
        {
            List<string> ids;
            List<string>? failed = null;
            var retry = random.Next(3) == 0 && ledger.TryTakeFailedBatch(out failed);
            if (retry && failed is not null)
            {
                ids = failed;
                retried++;
            }
            else
            {
                var size = random.Next(1, 201);
                var batch = new HashSet<string>(StringComparer.Ordinal);
                if (random.Next(5) == 0)
                {
                    batch.UnionWith(ledger.Sample(random, random.Next(1, Math.Min(size, 20) + 1)));
                }
                while (batch.Count < size)
                {
                    batch.Add($"crash-r{round:00}-w{writer}-{next++:00000}");
                }
                ids = [.. batch];
            }
            var acknowledgedBefore = ledger.MarkSent(ids);
            var (body, contentType, gzip) = Encode(ids, random);
            using var request = CollectorClient.Request("api/events", body, contentType, "Bearer " + writeKey, gzip ? "gzip" : null);
            try
            {
                using var response = await client.SendAsync(request, stop);
                var text = await response.Content.ReadAsStringAsync(stop);
                var status = (int)response.StatusCode;
                if (status is >= 200 and < 300)
                {
                    ledger.Acknowledge(ids);
                    acked++;
                    var answer = CollectorClient.Parse(text);
                    if (answer is null || !answer.Success || answer.Rejected != 0 || answer.Accepted + answer.Duplicates != ids.Count)
                    {
                        problems.Add($"{ids.Count} valid events ({(retry ? "a retried batch" : "a new batch")}) answered {status} {CollectorClient.Snippet(text)}");
                    }
                    else if (answer.Duplicates < acknowledgedBefore)
                    {
                        problems.Add($"a batch re-sending {acknowledgedBefore} already acknowledged ids reported only {answer.Duplicates} duplicates "
                            + $"({answer.Accepted} accepted): dedupe forgot acknowledged events. Ids: {string.Join(", ", ids.Take(5))}…");
                    }
                    else
                    {
                        ledger.CountAccepted(answer.Accepted);
                    }
                }
                else if (status is 429 or 503)
                {
                    ledger.Failed(ids);
                    cutOff++;
                }
                else
                {
                    ledger.Failed(ids);
                    problems.Add($"{ids.Count} valid events answered {status}: {CollectorClient.Snippet(text)}");
                }
            }
            catch (Exception ex) when (CollectorClient.IsConnectionFailure(ex))
            {
                ledger.Failed(ids);
                cutOff++;
                if (!killed.Value && !stop.IsCancellationRequested)
                {
                    problems.Add($"the connection failed while the hub was up ({ex.GetType().Name}: {ex.Message})");
                }
                break;
            }
        }
        return new IngestRound(acked, cutOff, retried, problems);
    }

    private static (byte[] Body, string ContentType, bool Gzip) Encode(List<string> ids, Random random)
    {
        var events = ids.Select(EventFor).ToList();
        var roll = random.Next(100);
        byte[] body;
        string contentType;
        if (roll < 25)
        {
            body = SampleEvents.Ndjson(events);
            contentType = "application/x-ndjson";
        }
        else if (roll < 35 && events.Count == 1)
        {
            body = SampleEvents.Utf8(events[0]);
            contentType = "application/json";
        }
        else
        {
            body = SampleEvents.Utf8(new JsonArray([.. events]));
            contentType = "application/json";
        }
        var gzip = random.Next(100) < 15;
        return (gzip ? SampleEvents.Gzip(body) : body, contentType, gzip);
    }

    /// <summary>The event for an id is always the same, so a retry re-sends exactly what was sent.</summary>
    private static JsonObject EventFor(string id)
    {
        var hash = StableHash(id);
        var timestamp = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero).AddSeconds(hash % 86_400).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'");
        var node = (hash / 86_400 % 4) switch
        {
            0 => SampleEvents.PageView(id),
            1 => SampleEvents.Custom(id),
            2 => SampleEvents.Purchase(id),
            _ => SampleEvents.Template("add_to_cart").Build(id),
        };
        node["timestamp"] = timestamp;
        node["session_id"] = "s-" + (hash % 97);
        return node;
    }

    private static uint StableHash(string text)
    {
        var hash = 2_166_136_261u;
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            hash = (hash ^ b) * 16_777_619u;
        }
        return hash;
    }

    private static async Task<Verification> VerifyAsync(ChildHub hub, Ledger ledger, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        var problems = new List<string>();
        await using var db = hub.OpenDatabaseReadOnly();
        await using (var integrity = db.CreateCommand())
        {
            integrity.CommandText = "PRAGMA integrity_check";
            var lines = new List<string>();
            await using var reader = await integrity.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                lines.Add(reader.GetString(0));
            }
            if (lines is not ["ok"])
            {
                problems.Add("PRAGMA integrity_check: " + string.Join(" | ", lines.Take(10)));
            }
        }
        var stored = new Dictionary<string, long>(StringComparer.Ordinal);
        long rows = 0;
        await using (var count = db.CreateCommand())
        {
            count.CommandText = "SELECT event_id, count(*) FROM raw_events GROUP BY event_id";
            await using var reader = await count.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var id = reader.IsDBNull(0) ? "(null)" : reader.GetString(0);
                var n = reader.GetInt64(1);
                stored[id] = n;
                rows += n;
            }
        }
        var (sent, acknowledged, acceptedTotal) = ledger.Snapshot();
        foreach (var (id, n) in stored)
        {
            if (n > 1)
            {
                problems.Add($"event_id {id} is stored {n} times ({(acknowledged.Contains(id) ? "acknowledged" : "never acknowledged")})");
            }
            if (!sent.Contains(id))
            {
                problems.Add($"event_id {id} is stored but was never sent");
            }
        }
        var lost = acknowledged.Where(id => !stored.ContainsKey(id)).ToList();
        if (lost.Count > 0)
        {
            problems.Add($"{lost.Count} acknowledged events are missing after the crash, e.g. {string.Join(", ", lost.Order(StringComparer.Ordinal).Take(10))}");
        }
        if (rows < acceptedTotal)
        {
            problems.Add($"the hub reported {acceptedTotal:N0} events accepted in 2xx answers but raw_events holds {rows:N0}");
        }
        return new Verification(rows, watch.Elapsed, problems);
    }

    private static async Task<List<string>> ProbeAsync(ChildHub hub, Ledger ledger, int round, CancellationToken cancellationToken)
    {
        var id = $"crash-probe-r{round:00}";
        ledger.MarkSent([id]);
        using var client = hub.CreateClient(TimeSpan.FromSeconds(30));
        using var request = CollectorClient.Request("api/events", SampleEvents.Utf8(SampleEvents.PageView(id)), "application/json", "Bearer " + hub.WriteKey);
        using var response = await client.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        var answer = CollectorClient.Parse(text);
        if ((int)response.StatusCode != 200 || answer is not { Success: true, Accepted: 1 })
        {
            return [$"after the restart a valid event answered {(int)response.StatusCode}: {CollectorClient.Snippet(text)}"];
        }
        ledger.Acknowledge([id]);
        ledger.CountAccepted(1);
        return [];
    }

    private sealed record IngestRound(int AckedBatches, int CutOffBatches, int RetriedBatches, List<string> Problems);

    private sealed record Verification(long StoredRows, TimeSpan Elapsed, List<string> Problems);

    private sealed class KillFlag
    {
        private volatile bool _value;

        public bool Value
        {
            get => _value;
            set => _value = value;
        }
    }

    /// <summary>What was sent, what was acknowledged, and the batches cut off by a crash (to retry).</summary>
    private sealed class Ledger
    {
        private readonly Lock _lock = new();
        private readonly List<string> _sentOrder = [];
        private readonly HashSet<string> _sent = new(StringComparer.Ordinal);
        private readonly HashSet<string> _acknowledged = new(StringComparer.Ordinal);
        private readonly ConcurrentQueue<List<string>> _failed = new();
        private long _accepted;

        public int AcknowledgedCount
        {
            get
            {
                lock (_lock)
                {
                    return _acknowledged.Count;
                }
            }
        }

        public int SentCount
        {
            get
            {
                lock (_lock)
                {
                    return _sent.Count;
                }
            }
        }

        /// <summary>Records ids as sent and returns how many of them were already acknowledged.</summary>
        public int MarkSent(IEnumerable<string> ids)
        {
            lock (_lock)
            {
                var acknowledged = 0;
                foreach (var id in ids)
                {
                    if (_sent.Add(id))
                    {
                        _sentOrder.Add(id);
                    }
                    acknowledged += _acknowledged.Contains(id) ? 1 : 0;
                }
                return acknowledged;
            }
        }

        public void Acknowledge(IEnumerable<string> ids)
        {
            lock (_lock)
            {
                _acknowledged.UnionWith(ids);
            }
        }

        public void CountAccepted(int accepted) => Interlocked.Add(ref _accepted, accepted);

        public void Failed(List<string> ids) => _failed.Enqueue(ids);

        public bool TryTakeFailedBatch(out List<string>? ids) => _failed.TryDequeue(out ids);

        public List<string> Sample(Random random, int count)
        {
            lock (_lock)
            {
                return _sentOrder.Count == 0 ? [] : [.. Enumerable.Range(0, count).Select(_ => _sentOrder[random.Next(_sentOrder.Count)])];
            }
        }

        public (HashSet<string> Sent, HashSet<string> Acknowledged, long Accepted) Snapshot()
        {
            lock (_lock)
            {
                return (new HashSet<string>(_sent, StringComparer.Ordinal), new HashSet<string>(_acknowledged, StringComparer.Ordinal), Interlocked.Read(ref _accepted));
            }
        }
    }
}
