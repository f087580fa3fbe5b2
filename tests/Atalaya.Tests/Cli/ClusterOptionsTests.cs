using System.CommandLine;
using Atalaya.Cli;
using Atalaya.Tests.Support;

namespace Atalaya.Tests.Cli;

/// <summary>
/// The command line's promise for a cluster: every command that reads or writes the hub's state
/// takes the same three options (<c>--clickhouse</c>, <c>--rabbitmq</c>, <c>--postgres</c>), so one
/// set of options, given to any of them, is never refused as unknown.
/// </summary>
public sealed class ClusterOptionsTests : IDisposable
{
    private readonly TempDirectory _root = new("atalaya-cluster-options");

    public void Dispose() => _root.Dispose();

    [Fact]
    public void Every_command_with_postgres_takes_the_other_two_and_the_named_ones_take_all_three()
    {
        var withPostgres = Walk(Commands.Root(), "atalaya").Where(c => Has(c.Command, "--postgres")).ToList();
        Assert.True(withPostgres.Count >= 20, string.Join(", ", withPostgres.Select(c => c.Path)));
        Assert.All(withPostgres, c => Assert.True(Has(c.Command, "--clickhouse") && Has(c.Command, "--rabbitmq"), c.Path));
        foreach (var named in new[]
        {
            "atalaya serve", "atalaya tokens create", "atalaya tokens list", "atalaya tokens revoke", "atalaya jobs run", "atalaya jobs list", "atalaya runs",
            "atalaya backfill", "atalaya report", "atalaya audit verify", "atalaya quality run", "atalaya quality show", "atalaya import", "atalaya fx import",
            "atalaya fx list", "atalaya privacy erase", "atalaya privacy export", "atalaya webhooks replay", "atalaya migrate",
        })
        {
            Assert.Contains(withPostgres, c => c.Path == named);
        }
    }

    [Fact]
    public async Task A_command_that_needs_only_postgres_accepts_the_other_two_and_goes_on_to_postgres()
    {
        var (exit, _, stderr) = await AtalayaProcess.RunAsync("runs", "--data", _root["cli"], "--postgres", "Host=127.0.0.1;Port=1;Username=atalaya",
            "--clickhouse", "http://127.0.0.1:1/atalaya", "--rabbitmq", "amqp://guest:guest@127.0.0.1:1/");
        Assert.Equal(2, exit);
        Assert.Contains("--postgres: PostgreSQL at 127.0.0.1:1", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("is not an option", stderr, StringComparison.Ordinal);
    }

    private static bool Has(Command command, string option) => command.Options.Any(o => o.Name == option);

    private static IEnumerable<(string Path, Command Command)> Walk(Command command, string path)
    {
        yield return (path, command);
        foreach (var sub in command.Subcommands)
        {
            foreach (var inner in Walk(sub, path + " " + sub.Name))
            {
                yield return inner;
            }
        }
    }
}
