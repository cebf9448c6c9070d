using System.Text.Json;
using Akka.Configuration;
using Akka.Persistence.Sql;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace GppfActors.Actors.Checkpointing;

/// <summary>
/// HOCON for the checkpoint journal's storage: Akka.Persistence.Sql on a SQLite file for one
/// machine, or on a PostgreSQL database that several machines reach.
/// </summary>
public static class CheckpointJournalConfig
{
    /// <summary>Linq2db's name for the Microsoft.Data.Sqlite provider.</summary>
    public const string SqliteProviderName = "SQLite.MS";

    /// <summary>
    /// Journal on the SQLite file <paramref name="dbPath"/> (created with its tables on first use),
    /// with Akka.Persistence.Sql's defaults as fallback.
    /// </summary>
    /// <remarks>
    /// SQLite allows one writer at a time, so the plugin writes with parallelism 1, and the file must
    /// never be shared between nodes. No snapshot store: the journal holds one small event per
    /// checkpoint, so replaying it is cheap, and the default local snapshot store would write a
    /// <c>snapshots</c> folder into the working directory.
    /// </remarks>
    /// <exception cref="DirectoryNotFoundException">The folder that should hold the file does not exist.</exception>
    public static Config Sqlite(string dbPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dbPath);
        var fullPath = Path.GetFullPath(dbPath);
        var folder = Path.GetDirectoryName(fullPath)!;
        if (!Directory.Exists(folder))
        {
            // SQLite would fail later, on the first write, with a less helpful "unable to open database file".
            throw new DirectoryNotFoundException($"The checkpoint journal's folder '{folder}' does not exist");
        }
        var connectionString = new SqliteConnectionStringBuilder { DataSource = fullPath }.ToString();
        return SqlJournal(connectionString, SqliteProviderName, "parallelism = 1");
    }

    /// <summary>Linq2db's name for the Npgsql provider (PostgreSQL 15 dialect, which later servers accept).</summary>
    public const string PostgreSqlProviderName = "PostgreSQL.15";

    /// <summary>
    /// Journal on the PostgreSQL database of <paramref name="connectionString"/> (tables created on
    /// first use), with Akka.Persistence.Sql's defaults as fallback. Several runs may share one
    /// database: each run's events carry its own persistence id.
    /// </summary>
    public static Config PostgreSql(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return SqlJournal(connectionString, PostgreSqlProviderName, "");
    }

    /// <summary>Where a PostgreSQL connection string points, without its password: for messages and logs.</summary>
    public static string DescribePostgreSql(string connectionString)
    {
        try
        {
            var b = new NpgsqlConnectionStringBuilder(connectionString);
            return $"PostgreSQL journal {b.Host}:{b.Port}/{b.Database ?? b.Username} (user {b.Username})";
        }
        catch (ArgumentException)
        {
            return "PostgreSQL journal (connection string not understood)";
        }
    }

    /// <summary>
    /// Checks that the PostgreSQL journal database can be reached and written (a temporary table),
    /// so that a wrong address, password or permission is reported at start-up naming the server
    /// (never the password) instead of as a time-out of the journal actor's recovery.
    /// </summary>
    /// <exception cref="IOException">The database cannot be used; the message says where and why.</exception>
    public static void VerifyPostgreSql(string connectionString)
    {
        string where = DescribePostgreSql(connectionString);
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, Timeout = 10 };
            using var connection = new NpgsqlConnection(builder.ConnectionString);
            connection.Open();
            using var write = connection.CreateCommand();
            write.CommandText = "CREATE TEMPORARY TABLE gppf_journal_check (x int); DROP TABLE gppf_journal_check;";
            write.ExecuteNonQuery();
        }
        catch (Exception e) when (e is NpgsqlException or ArgumentException or InvalidOperationException or TimeoutException)
        {
            throw new IOException($"{where} cannot be used: {e.Message}", e);
        }
    }

    /// <summary>
    /// Checks that the SQLite journal file can be opened, is a sound database and can be written
    /// (no other process holds a write lock), so that a bad journal is reported naming the file at
    /// start-up instead of as a time-out of the journal actor's recovery.
    /// </summary>
    /// <exception cref="IOException">The file cannot be used; the message names it and says why.</exception>
    public static void VerifySqlite(string dbPath)
    {
        var fullPath = Path.GetFullPath(dbPath);
        try
        {
            using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = fullPath, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString());
            connection.Open();
            using (var check = connection.CreateCommand())
            {
                check.CommandText = "PRAGMA quick_check";
                var result = check.ExecuteScalar() as string;
                if (result != "ok")
                {
                    throw new IOException($"checkpoint journal '{fullPath}' is damaged (SQLite quick_check: {result})");
                }
            }
            using var write = connection.CreateCommand();
            write.CommandText = "BEGIN IMMEDIATE; ROLLBACK;";
            write.ExecuteNonQuery();
        }
        catch (SqliteException e)
        {
            throw new IOException($"checkpoint journal '{fullPath}' cannot be used: {e.Message}", e);
        }
    }

    // Akka.Persistence.Sql's journal on one connection (tables created on first use) with the
    // plugin's defaults as fallback. HOCON quoted strings are JSON strings, so JSON escaping makes
    // any connection string safe to embed.
    private static Config SqlJournal(string connectionString, string provider, string extra)
    {
        var hocon = $$"""
            akka.persistence {
              journal {
                plugin = "akka.persistence.journal.sql"
                sql {
                  connection-string = {{JsonSerializer.Serialize(connectionString)}}
                  provider-name = "{{provider}}"
                  auto-initialize = true
                  {{extra}}
                }
              }
              snapshot-store.plugin = "akka.persistence.no-snapshot-store"
            }
            """;
        return ConfigurationFactory.ParseString(hocon).WithFallback(SqlPersistence.DefaultConfiguration);
    }
}
