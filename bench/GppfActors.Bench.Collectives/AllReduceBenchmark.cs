using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text.Json;
using GppfActors.Collectives;

namespace GppfActors.Bench.Collectives;

/// <summary>
/// All-reduce bus bandwidth (2(n-1)/n x bytes / time, the bytes each link carries) of rings of
/// 2 and 3 worker processes, against the single-stream loopback TCP throughput of one socket
/// pair with large writes, measured round by round in the same run so machine drift hits both.
/// </summary>
internal static class AllReduceBenchmark
{
    private static readonly (long Bytes, int Iterations)[] Sizes = [(1L << 20, 20), (16L << 20, 6), (64L << 20, 3)];

    public static void Run(int rounds, TextWriter output)
    {
        output.WriteLine($"all-reduce bus bandwidth vs single-stream loopback TCP; {rounds} rounds, {Environment.ProcessorCount} cores");
        var rings = new Dictionary<int, List<Worker>>();
        foreach (int n in new[] { 2, 3 })
        {
            rings[n] = StartRing(n);
        }
        try
        {
            // Every ring measurement is paired with a stream measurement taken right before it,
            // and the ratio is taken within the pair: on a shared machine the load drifts by a
            // factor of two from one second to the next.
            var results = new Dictionary<(int N, long Bytes), List<(double Ms, double StreamGbps)>>();
            MeasureStream(64L << 20);   // warm-up
            for (int round = 1; round <= rounds; round++)
            {
                output.Write($"round {round}:");
                foreach (var (n, workers) in rings)
                {
                    foreach (var (bytes, iterations) in Sizes)
                    {
                        double stream = MeasureStream(256L << 20);
                        double ms = TimeAllReduce(workers, bytes, iterations);
                        results.TryAdd((n, bytes), []);
                        results[(n, bytes)].Add((ms, stream));
                        output.Write($" n={n} {bytes >> 20} MiB {ms:F1} ms (stream {stream:F2} GB/s);");
                    }
                }
                output.WriteLine();
            }
            output.WriteLine();
            output.WriteLine("| processes | size | all-reduce (ms) | bus bandwidth (GB/s) | one stream, same moment (GB/s) | ratio |");
            output.WriteLine("|---|---|---|---|---|---|");
            foreach (var ((n, bytes), list) in results)
            {
                double factor = 2.0 * (n - 1) / n * bytes / 1e9;
                double ms = Median(list.Select(x => x.Ms).ToList());
                double stream = Median(list.Select(x => x.StreamGbps).ToList());
                double ratio = Median(list.Select(x => factor / (x.Ms / 1000) / x.StreamGbps).ToList());
                output.WriteLine($"| {n} | {bytes >> 20} MiB | {ms:F1} | {factor / (ms / 1000):F2} | {stream:F2} | {ratio:F2} |");
            }
            output.WriteLine();
            output.WriteLine("medians over rounds; bus bandwidth = 2(n-1)/n x bytes / time (time: the slowest member's); ratio: median of the per-round ratios");
            output.WriteLine();
            foreach (var (n, workers) in rings)
            {
                // Latency of the small-payload path (SyncBN statistics are of this size).
                output.WriteLine($"n={n}: all-reduce of 100 float32 (small path), median of 200: {TimeAllReduce(workers, 400, 200) * 1000:F0} us");
            }
        }
        finally
        {
            foreach (var w in rings.Values.SelectMany(x => x))
            {
                w.Dispose();
            }
        }
    }

    // One socket pair on 127.0.0.1, 4 MiB writes on one thread, reads on another; GB/s (1e9).
    private static double MeasureStream(long totalBytes)
    {
        using var listener = new Socket(SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.Connect(listener.LocalEndPoint!);
        using var server = listener.Accept();
        var chunk = new byte[4 << 20];
        var writer = new Thread(() =>
        {
            for (long sent = 0; sent < totalBytes; sent += chunk.Length)
            {
                client.Send(chunk);
            }
        });
        var buffer = new byte[4 << 20];
        long started = Stopwatch.GetTimestamp();
        writer.Start();
        long received = 0;
        while (received < totalBytes)
        {
            received += server.Receive(buffer);
        }
        double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        writer.Join();
        return totalBytes / seconds / 1e9;
    }

    // Median over iterations of the slowest member's time.
    private static double TimeAllReduce(List<Worker> workers, long bytes, int iterations)
    {
        foreach (var w in workers)
        {
            w.Send($"run {bytes} {iterations}");
        }
        var perWorker = workers.Select(w => w.ReadLine("times ")["times ".Length..].Split(',')
            .Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray()).ToList();
        return Median(Enumerable.Range(0, iterations).Select(i => perWorker.Max(t => t[i])).ToList());
    }

    private static List<Worker> StartRing(int n)
    {
        var workers = Enumerable.Range(0, n).Select(r => new Worker($"ring{n}-member{r}")).ToList();
        var spec = new GroupSpec(1, 60, workers.Select((w, r) => new GroupMember(r, w.ProcessId, w.Endpoint)).ToList());
        foreach (var w in workers)
        {
            w.Send(JsonSerializer.Serialize(spec));
        }
        return workers;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    /// <summary>This program started again in worker mode.</summary>
    private sealed class Worker : IDisposable
    {
        private readonly Process _process;

        public Worker(string processId)
        {
            ProcessId = processId;
            var self = Environment.ProcessPath ?? "dotnet";
            var start = new ProcessStartInfo(self) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
            if (Path.GetFileNameWithoutExtension(self) == "dotnet")
            {
                start.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
            }
            start.ArgumentList.Add("worker");
            start.ArgumentList.Add(processId);
            _process = Process.Start(start) ?? throw new InvalidOperationException("worker did not start");
            Endpoint = ReadLine("endpoint ")["endpoint ".Length..];
        }

        public string ProcessId { get; }

        public string Endpoint { get; }

        public void Send(string line)
        {
            _process.StandardInput.WriteLine(line);
            _process.StandardInput.Flush();
        }

        public string ReadLine(string prefix)
        {
            while (_process.StandardOutput.ReadLine() is { } line)
            {
                if (line.StartsWith(prefix, StringComparison.Ordinal))
                {
                    return line;
                }
            }
            throw new InvalidOperationException($"worker {ProcessId} ended without a '{prefix}' line");
        }

        public void Dispose()
        {
            try
            {
                Send("quit");
                if (!_process.WaitForExit(10_000))
                {
                    _process.Kill();
                }
            }
            catch (IOException)
            {
                // Already gone.
            }
            _process.Dispose();
        }
    }
}
