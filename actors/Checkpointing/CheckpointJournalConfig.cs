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
}
