using Akka.Configuration;
using GppfActors.Actors.Checkpointing;

namespace GppfActors.ClusterConfig.Jobs;

/// <summary>
/// Where a job's checkpoint journal lives (<c>checkpoint.journal</c>): the SQLite file
/// <c>journal.db</c> in the run folder (one machine), or a PostgreSQL database whose connection
/// string comes from the environment variable named by <c>checkpoint.journal_connection_env</c>
/// (so no password lands in a job file, a resolved config or a log).
/// </summary>
public sealed class JournalStore
{
    private readonly string? connectionString;

    private JournalStore(string kind, string description, Config config, string? connectionString, string? sqlitePath)
    {
        Kind = kind;
        Description = description;
        Config = config;
        this.connectionString = connectionString;
        SqlitePath = sqlitePath;
    }

    /// <summary><see cref="CheckpointSection.SqliteJournal"/> or <see cref="CheckpointSection.PostgreSqlJournal"/>.</summary>
    public string Kind { get; }

    /// <summary>How messages name the journal: the file, or the server and database (never the password).</summary>
    public string Description { get; }

    /// <summary>The journal's HOCON for the actor system.</summary>
    public Config Config { get; }

    /// <summary>The SQLite file, when the journal is one.</summary>
    public string? SqlitePath { get; }

    /// <summary>The journal of <paramref name="job"/>.</summary>
    /// <exception cref="ArgumentException">The connection string's variable is not set; the message names the key and the variable.</exception>
    public static JournalStore For(JobConfig job)
    {
        if (job.Checkpoint.Journal == CheckpointSection.PostgreSqlJournal)
        {
            var variable = job.Checkpoint.JournalConnectionEnv;
            var connection = Environment.GetEnvironmentVariable(variable);
            if (string.IsNullOrWhiteSpace(connection))
            {
                throw new ArgumentException(
                    $"checkpoint.journal is postgresql, but the environment variable {variable} (checkpoint.journal_connection_env) that should hold its connection string is not set");
            }
            return new JournalStore(CheckpointSection.PostgreSqlJournal, CheckpointJournalConfig.DescribePostgreSql(connection),
                CheckpointJournalConfig.PostgreSql(connection), connection, null);
        }
        var path = Path.Combine(Path.GetFullPath(job.Checkpoint.Dir), "journal.db");
        return new JournalStore(CheckpointSection.SqliteJournal, $"checkpoint journal '{path}'", CheckpointJournalConfig.Sqlite(path), null, path);
    }

    /// <summary>Checks the journal can be opened and written; throws <see cref="IOException"/> naming it otherwise.</summary>
    public void Verify()
    {
        if (SqlitePath is not null)
        {
            CheckpointJournalConfig.VerifySqlite(SqlitePath);
        }
        else
        {
            CheckpointJournalConfig.VerifyPostgreSql(connectionString!);
        }
    }

    /// <summary>
    /// The journal's persistence id for the run in <paramref name="folder"/>. A SQLite file belongs
    /// to its run folder, so the job's name is enough; a PostgreSQL database may hold many runs (of
    /// the same job too), so the run folder's own id is added.
    /// </summary>
    public string PersistenceId(JobConfig job, RunFolder folder) =>
        SqlitePath is not null
            ? CheckpointJournal.PersistenceIdFor(job.Name)
            : $"{CheckpointJournal.PersistenceIdFor(job.Name)}@{folder.Identity.RunId}";
}
