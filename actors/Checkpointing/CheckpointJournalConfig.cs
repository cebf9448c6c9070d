using System.Text.Json;
using Akka.Configuration;
using Akka.Persistence.Sql;
using Microsoft.Data.Sqlite;

namespace GppfActors.Actors.Checkpointing;

/// <summary>
/// HOCON for the checkpoint journal's storage: Akka.Persistence.Sql on a SQLite file for one node.
/// A shared PostgreSQL journal for several nodes belongs here too, as a sibling of <see cref="Sqlite"/>.
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
        // HOCON quoted strings are JSON strings, so JSON escaping makes any path safe to embed.
        var hocon = $$"""
            akka.persistence {
              journal {
                plugin = "akka.persistence.journal.sql"
                sql {
                  connection-string = {{JsonSerializer.Serialize(connectionString)}}
                  provider-name = "{{SqliteProviderName}}"
                  parallelism = 1
                  auto-initialize = true
                }
              }
              snapshot-store.plugin = "akka.persistence.no-snapshot-store"
            }
            """;
        return ConfigurationFactory.ParseString(hocon).WithFallback(SqlPersistence.DefaultConfiguration);
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
}
