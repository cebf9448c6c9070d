using Akka.Configuration;
using GppfActors.Actors.Checkpointing;
using Microsoft.Data.Sqlite;

namespace GppfActors.Actors.Tests.Checkpointing;

/// <summary>The SQLite file a journal test runs on: its actor-system config, and direct reads of what is in it.</summary>
internal static class JournalDatabase
{
    /// <summary>The project's base config with the checkpoint journal on <paramref name="dbPath"/>.</summary>
    public static Config ConfigFor(string dbPath) => CheckpointJournalConfig.Sqlite(dbPath).WithFallback(ActorSystemConfig.Base);

    /// <summary>
    /// How many events of <paramref name="persistenceId"/> are in the file, read through a connection
    /// of its own, so it shows what is durable, not what the actor holds in memory.
    /// </summary>
    public static long CountEvents(string dbPath, string persistenceId)
    {
        var connectionString = new SqliteConnectionStringBuilder { DataSource = dbPath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString();
        using var connection = new SqliteConnection(connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        // Akka.Persistence.Sql's default table mapping: table "journal", column "persistence_id".
        command.CommandText = "SELECT COUNT(*) FROM journal WHERE persistence_id = $id";
        command.Parameters.AddWithValue("$id", persistenceId);
        return (long)command.ExecuteScalar()!;
    }
}
