using System.Diagnostics;
using Npgsql;

namespace GppfActors.Testing;

/// <summary>
/// A real PostgreSQL server for the tests: the one named by <c>GPPF_TEST_POSTGRES</c> (a connection
/// string whose user may create databases), or else a throwaway server this test process starts
/// (<c>initdb</c> into a temporary folder, loopback only, a free port) and stops when it exits.
/// Run as root, the server runs as the <c>postgres</c> user (PostgreSQL refuses root).
/// </summary>
public sealed class PostgresServer
{
    private static readonly Lazy<PostgresServer> SharedServer = new(Start, LazyThreadSafetyMode.ExecutionAndPublication);

    private PostgresServer(string adminConnectionString) => AdminConnectionString = adminConnectionString;

    /// <summary>The server of this test process, started on first use.</summary>
    public static PostgresServer Shared => SharedServer.Value;

    /// <summary>A connection string to the server's maintenance database as a user that may create databases.</summary>
    public string AdminConnectionString { get; }

    /// <summary>Creates an empty database and returns a connection string to it.</summary>
    public string CreateDatabase()
    {
        string name = "gppf_" + Guid.NewGuid().ToString("N");
        using (var connection = new NpgsqlConnection(AdminConnectionString))
        {
            connection.Open();
            using var create = connection.CreateCommand();
            create.CommandText = $"CREATE DATABASE {name}";
            create.ExecuteNonQuery();
        }
        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name }.ConnectionString;
    }

    private static PostgresServer Start()
    {
        var given = Environment.GetEnvironmentVariable("GPPF_TEST_POSTGRES");
        if (!string.IsNullOrWhiteSpace(given))
        {
            return new PostgresServer(given);
        }
        var bin = FindBinaries();
        RemoveLeftovers();
        var root = Path.Combine(Path.GetTempPath(), "gppf-pg-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        bool asRoot = Environment.UserName == "root";
        if (asRoot)
        {
            Run("chown", ["postgres:postgres", root], asRoot: false);
        }
        int port = LoopbackPorts.Free();
        var data = Path.Combine(root, "data");
        Run(Path.Combine(bin, "initdb"), ["-D", data, "-A", "trust", "-U", "gppf", "-E", "UTF8", "--no-sync"], asRoot);
        Run(Path.Combine(bin, "pg_ctl"), ["-D", data, "-l", Path.Combine(root, "server.log"), "-w", "-t", "60",
            "-o", $"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", "start"], asRoot);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Run(Path.Combine(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"], asRoot);
                Directory.Delete(root, recursive: true);
            }
            catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException)
            {
                // The server dies with its folder in /tmp; nothing else depends on it.
            }
        };
        return new PostgresServer($"Host=127.0.0.1;Port={port};Username=gppf;Database=postgres;Pooling=false");
    }

    // A test process may be ended before its exit handler has removed the server's folder; folders
    // whose server no longer runs (no postmaster.pid, or its process is gone) are removed here.
    private static void RemoveLeftovers()
    {
        foreach (var dir in Directory.GetDirectories(Path.GetTempPath(), "gppf-pg-*"))
        {
            var pidFile = Path.Combine(dir, "data", "postmaster.pid");
            try
            {
                if (File.Exists(pidFile) && int.TryParse(File.ReadLines(pidFile).FirstOrDefault(), out int pid) && Directory.Exists($"/proc/{pid}"))
                {
                    continue;
                }
                Directory.Delete(dir, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Another user's, or in use: leave it.
            }
        }
    }

    private static string FindBinaries()
    {
        var versions = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out int v) ? v : 0).ToList()
            : [];
        if (versions.Count > 0)
        {
            return versions[0];
        }
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            if (File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl")))
            {
                return dir;
            }
        }
        throw new InvalidOperationException(
            "PostgreSQL server binaries (initdb, pg_ctl) not found: install PostgreSQL (apt-get install postgresql) or set GPPF_TEST_POSTGRES to a connection string");
    }

    private static void Run(string program, IReadOnlyList<string> arguments, bool asRoot)
    {
        var start = new ProcessStartInfo(asRoot ? "runuser" : program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (asRoot)
        {
            foreach (var a in new[] { "-u", "postgres", "--", program })
            {
                start.ArgumentList.Add(a);
            }
        }
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(120)))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{program} did not finish within 120 s");
        }
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} failed ({process.ExitCode}): {stdout.Result}{stderr.Result}");
        }
    }
}
