using System.CommandLine;
using Atalaya.Engine.Audit;
using Atalaya.Engine.Postgres;
using Atalaya.Engine.Storage;

namespace Atalaya.Cli;

/// <summary><c>atalaya audit verify</c>: walks the hash chain of the audit log and reports the first broken link.</summary>
public static class AuditCommand
{
    public static Command Create()
    {
        var command = new Command("audit", "The tamper-evident audit log of reads and administrative changes.");
        var data = CommonOptions.Data();
        var postgres = CommonOptions.Postgres("Verify the audit chain");
        var verify = new Command("verify", "Check the audit log's hash chain; exit code 1 and the first broken entry if it was changed, deleted from or reordered.") { data, postgres };
        verify.SetAction(parse =>
        {
            AuditVerification result;
            if (parse.GetValue(postgres) is { } connectionString)
            {
                using var shared = CommonOptions.OpenPostgres(connectionString);
                if (shared is null)
                {
                    return 2;
                }
                try
                {
                    result = AuditLog.Verify(shared);
                }
                catch (StateUnavailableException e)
                {
                    return CommonOptions.Fail($"--postgres: {e.Message}. Start the server, or check Host and Port in the connection string.");
                }
            }
            else
            {
                var database = HubDatabase.Open(parse.GetValue(data)!);
                using var connection = database.Connect();
                result = AuditLog.Verify(connection);
            }
            if (result.Intact)
            {
                Console.WriteLine($"Audit log intact: {result.Checked:N0} entries, every link verified.");
                return 0;
            }
            // Exit code 1, not the usage-error 2 of CommonOptions.Fail: scripts and monitors tell "tampered" from "misused".
            Console.Error.WriteLine($"error: audit log broken at entry {result.BrokenAt}: {result.Problem}. {result.Checked - 1:N0} entries before it are intact.");
            return 1;
        });
        command.Add(verify);
        return command;
    }

    /// <summary>Records an administrative change made from the command line, in the cluster's chain when <paramref name="shared"/> is given.</summary>
    public static void Record(HubDatabase database, PostgresState? shared, string action, string details)
    {
        var entry = new AuditEntry(DateTimeOffset.UtcNow, $"cli:{Environment.UserName}", "cli", action, details, "{}", "{}", 1, 0);
        if (shared is null)
        {
            AuditLog.AppendNow(database, entry);
        }
        else
        {
            AuditLog.AppendNow(shared, entry);
        }
    }
}
