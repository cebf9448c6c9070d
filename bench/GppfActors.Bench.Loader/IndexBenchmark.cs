using System.Diagnostics;
using System.Runtime.InteropServices;
using GppfActors.Tasks.Formats;

namespace GppfActors.Bench.Loader;

/// <summary>
/// Measures what indexing a large image folder costs: generates ROOT/tree/&lt;class&gt;/*.png (one tiny valid PNG,
/// written once per file), lists it with and without the index cache, reports time and managed bytes per sample,
/// and deletes the tree again, also when a step fails.
/// </summary>
internal static partial class IndexBenchmark
{
    // A 1x1 grey PNG (67 bytes): every file is a decodable image, and the tree costs one block per file.
    private static readonly byte[] TinyPng = Convert.FromBase64String(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==");

    public static void Run(IndexBenchOptions options, TextWriter output)
    {
        var work = Path.GetFullPath(options.WorkDir);
        if (Directory.Exists(work) && Directory.EnumerateFileSystemEntries(work).Any())
        {
            throw new ArgumentException($"--index-tree {work}: the folder exists and is not empty; the benchmark deletes what it makes, so give it a new one");
        }
        var tree = Path.Combine(work, "tree");
        var cache = Path.Combine(work, "run", "data-index");
        try
        {
            Measure(options, tree, cache, output);
        }
        finally
        {
            var clock = Stopwatch.StartNew();
            if (Directory.Exists(work))
            {
                Directory.Delete(work, recursive: true);
            }
            output.WriteLine($"deleted {work} in {clock.Elapsed.TotalSeconds:F1} s");
        }
    }

    private static void Measure(IndexBenchOptions options, string tree, string cache, TextWriter output)
    {
        var numFiles = (long)options.NumClasses * options.FilesPerClass;
        output.WriteLine($"index benchmark: {options.NumClasses} classes x {options.FilesPerClass} files = {numFiles:N0} images under {tree}, " +
            $"{Environment.ProcessorCount} cores, server GC {System.Runtime.GCSettings.IsServerGC}");
        var clock = Stopwatch.StartNew();
        Generate(tree, options);
        output.WriteLine($"generate: {clock.Elapsed.TotalSeconds:F1} s ({TinyPng.Length}-byte PNG, names like n00000000_0.png, " +
            (options.HardLinks ? "one file per class and the rest hard links to it)" : "a file each)"));
        // A data set in use has been on disk for a while; a folder written within the settle time is never cached.
        Thread.Sleep(FolderSettle);

        var cold = DropPageCache();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        clock.Restart();
        var index = ImageFolderIndex.Open(tree);
        var listSeconds = clock.Elapsed.TotalSeconds;
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        var held = GC.GetTotalMemory(forceFullCollection: true) - before;
        output.WriteLine($"list ({(cold ? "page cache dropped first" : "page cache warm: could not drop it")}): {listSeconds:F2} s, {index.Count:N0} samples, " +
            $"{(double)held / index.Count:F1} bytes/sample held ({held / 1e6:F1} MB), {(double)allocated / index.Count:F0} bytes/sample allocated while listing");

        var first = RgbImageFile.Read(index.PathOf(0));
        output.WriteLine($"sample 0: {index.PathOf(0)}, label {index.LabelOf(0)}, decodes to {first.Width}x{first.Height}");

        clock.Restart();
        var again = ImageFolderIndex.Open(tree);
        output.WriteLine($"list again (page cache warm): {clock.Elapsed.TotalSeconds:F2} s");
        GC.KeepAlive(again);

        // The representation this index replaced: a record with the full path string per sample.
        before = GC.GetTotalMemory(forceFullCollection: true);
        var records = new List<ImageFolderSample>();
        for (var i = 0; i < index.Count; i++)
        {
            records.Add(index.Sample(i));
        }
        var recordBytes = GC.GetTotalMemory(forceFullCollection: true) - before;
        output.WriteLine($"for comparison, a List<ImageFolderSample> with full paths: {(double)recordBytes / records.Count:F1} bytes/sample ({recordBytes / 1e6:F1} MB)");
        records = null;
        GC.KeepAlive(records);

        clock.Restart();
        var written = ImageFolderIndex.Open(tree, cache);
        var writeSeconds = clock.Elapsed.TotalSeconds;
        var cacheFile = Directory.GetFiles(cache).Single();
        output.WriteLine($"list and write the cache: {writeSeconds:F2} s, {new FileInfo(cacheFile).Length / 1e6:F1} MB ({Path.GetFileName(cacheFile)})");

        cold = DropPageCache();
        clock.Restart();
        var cached = ImageFolderIndex.Open(tree, cache);
        var loadSeconds = clock.Elapsed.TotalSeconds;
        if (!cached.FromCache || cached.Count != index.Count || cached.PathOf(cached.Count - 1) != index.PathOf(index.Count - 1))
        {
            throw new InvalidOperationException("the cached index does not match the listing");
        }
        output.WriteLine($"load the cache ({(cold ? "page cache dropped first" : "page cache warm")}): {loadSeconds:F2} s (checks {options.NumClasses + 1} directory times)");
        output.WriteLine($"process peak working set: {Process.GetCurrentProcess().PeakWorkingSet64 / 1e6:F0} MB");
        GC.KeepAlive(index);
        GC.KeepAlive(written);
    }

    private static readonly TimeSpan FolderSettle = TimeSpan.FromSeconds(2.5);

    private static void Generate(string tree, IndexBenchOptions options)
    {
        Parallel.For(0, options.NumClasses, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, c =>
        {
            var dir = Directory.CreateDirectory(Path.Combine(tree, $"n{c:D8}")).FullName;
            var firstFile = Path.Combine(dir, $"n{c:D8}_0.png");
            File.WriteAllBytes(firstFile, TinyPng);
            for (var f = 1; f < options.FilesPerClass; f++)
            {
                var path = Path.Combine(dir, $"n{c:D8}_{f}.png");
                if (!options.HardLinks)
                {
                    File.WriteAllBytes(path, TinyPng);
                }
                else if (Link(firstFile, path) != 0)
                {
                    throw new IOException($"cannot hard-link {path} (errno {Marshal.GetLastPInvokeError()})");
                }
            }
        });
    }

    // A directory entry per file and no inode or data block: the listing reads directory entries only, so it costs
    // the same, while making and deleting the tree is far quicker. ext4 allows 65,000 links to one inode.
    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Link(string existing, string created);

    /// <summary>Writes dirty pages back and drops the page, dentry and inode caches (Linux, root only); false when not allowed.</summary>
    private static bool DropPageCache()
    {
        try
        {
            using (var sync = Process.Start(new ProcessStartInfo("sync") { UseShellExecute = false }))
            {
                sync?.WaitForExit();
            }
            File.WriteAllText("/proc/sys/vm/drop_caches", "3");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
