using System.Diagnostics;
using System.Text.RegularExpressions;

namespace GppfActors.Collectives.Native;

/// <summary>
/// Where an installed PyTorch keeps its native libraries: <c>torch/lib</c> (LibTorch's CPU and CUDA
/// libraries) and, for pip wheels, the <c>nvidia/*/lib</c> folders beside <c>torch</c> (CUDA runtime,
/// NCCL). Found from a folder the user names (<c>--torch-lib</c>, <c>GPPF_TORCH_LIB</c>) or by asking
/// <c>python3</c> where <c>import torch</c> comes from.
/// </summary>
/// <param name="LibDir">The folder holding <c>libtorch_cpu.so</c>.</param>
/// <param name="Version">LibTorch's version as the installation states it (e.g. <c>2.11.0+cu130</c>), or "unknown".</param>
/// <param name="Origin">How it was found, for messages (e.g. "--torch-lib", "python3 -c 'import torch'").</param>
public sealed partial record PyTorchInstallation(string LibDir, string Version, string Origin)
{
    /// <summary>The environment variable naming LibTorch's library folder.</summary>
    public const string EnvironmentVariable = "GPPF_TORCH_LIB";

    /// <summary>The LibTorch release TorchSharp 0.107's native wrapper was built against.</summary>
    public const string ExpectedVersion = "2.10.0";

    /// <summary>Python's site-packages folder when LibDir is <c>site-packages/torch/lib</c>, else null.</summary>
    public string? SitePackages
    {
        get
        {
            var torchDir = Directory.GetParent(Path.TrimEndingDirectorySeparator(LibDir));
            return torchDir is { Name: "torch", Parent: not null } ? torchDir.Parent.FullName : null;
        }
    }

    /// <summary>
    /// Folders that may hold the CUDA-side libraries that come with this PyTorch (libnccl, libcudart):
    /// LibDir itself, then every <c>site-packages/nvidia/*/lib</c> (pip's CUDA wheels, e.g.
    /// <c>nvidia/nccl/lib</c>), in name order.
    /// </summary>
    public IReadOnlyList<string> NativeSearchDirs()
    {
        var dirs = new List<string> { LibDir };
        if (SitePackages is { } site && Directory.Exists(Path.Combine(site, "nvidia")))
        {
            dirs.AddRange(Directory.GetDirectories(Path.Combine(site, "nvidia"))
                .Select(d => Path.Combine(d, "lib"))
                .Where(Directory.Exists)
                .OrderBy(d => d, StringComparer.Ordinal));
        }
        return dirs;
    }

    /// <summary>
    /// The first file in <see cref="NativeSearchDirs"/> whose name is <paramref name="baseName"/> or
    /// starts with <c>baseName.</c> (so <c>libcudart.so</c> finds <c>libcudart.so.13</c>); null if none.
    /// </summary>
    public string? FindLibrary(string baseName)
    {
        foreach (var dir in NativeSearchDirs())
        {
            string exact = Path.Combine(dir, baseName);
            if (File.Exists(exact))
            {
                return exact;
            }
            var versioned = Directory.GetFiles(dir, baseName + ".*").OrderBy(f => f, StringComparer.Ordinal).FirstOrDefault();
            if (versioned is not null)
            {
                return versioned;
            }
        }
        return null;
    }

    /// <summary>
    /// The installation to use: <paramref name="torchLibOption"/> (from <c>--torch-lib</c>) if given,
    /// else <see cref="EnvironmentVariable"/>, else what <c>python3</c> reports. Throws
    /// <see cref="LibTorchNotFoundException"/> naming every place tried and why it did not fit.
    /// </summary>
    public static PyTorchInstallation Locate(string? torchLibOption, Func<string, string?> environment, Func<PythonAnswer> askPython)
    {
        if (!string.IsNullOrWhiteSpace(torchLibOption))
        {
            return FromLibDir(torchLibOption, "--torch-lib");
        }
        if (environment(EnvironmentVariable) is { Length: > 0 } fromEnvironment)
        {
            return FromLibDir(fromEnvironment, EnvironmentVariable);
        }
        var answer = askPython();
        if (answer.TorchDir is null)
        {
            throw new LibTorchNotFoundException(
                $"no LibTorch found: --torch-lib and {EnvironmentVariable} are not set, and {answer.Problem}. " +
                $"Install PyTorch for python3 (pip install torch) or name its torch/lib folder with --torch-lib DIR.");
        }
        return FromLibDir(Path.Combine(answer.TorchDir, "lib"), "python3 -c 'import torch'");
    }

    /// <summary>The installation whose LibTorch libraries are in <paramref name="libDir"/>; throws if <c>libtorch_cpu.so</c> is not there.</summary>
    public static PyTorchInstallation FromLibDir(string libDir, string origin)
    {
        string full = Path.GetFullPath(libDir);
        if (!Directory.Exists(full))
        {
            throw new LibTorchNotFoundException($"{origin}: the folder '{full}' does not exist");
        }
        if (!File.Exists(Path.Combine(full, "libtorch_cpu.so")))
        {
            throw new LibTorchNotFoundException($"{origin}: '{full}' holds no libtorch_cpu.so; name the torch/lib folder of a PyTorch installation (or a LibTorch's lib folder)");
        }
        return new PyTorchInstallation(full, ReadVersion(full), origin);
    }

    /// <summary>
    /// LibTorch's version from the files an installation carries: PyTorch's <c>torch/version.py</c>
    /// (<c>__version__ = '2.11.0+cu130'</c>), or a LibTorch archive's <c>build-version</c> beside
    /// <c>lib</c>; "unknown" if neither says.
    /// </summary>
    public static string ReadVersion(string libDir)
    {
        var parent = Directory.GetParent(Path.TrimEndingDirectorySeparator(libDir))?.FullName;
        if (parent is null)
        {
            return "unknown";
        }
        string versionPy = Path.Combine(parent, "version.py");
        if (File.Exists(versionPy))
        {
            var match = VersionAssignment().Match(File.ReadAllText(versionPy));
            if (match.Success)
            {
                return match.Groups["v"].Value;
            }
        }
        string buildVersion = Path.Combine(parent, "build-version");
        if (File.Exists(buildVersion) && File.ReadAllText(buildVersion).Trim() is { Length: > 0 } text)
        {
            return text;
        }
        return "unknown";
    }

    /// <summary>True when <paramref name="version"/> (e.g. "2.10.0+cu128") is the release the wrapper was built against.</summary>
    public static bool IsExpectedVersion(string version) =>
        version.Split('+')[0] == ExpectedVersion;

    [GeneratedRegex(@"^__version__\s*=\s*['""](?<v>[^'""]+)['""]", RegexOptions.Multiline)]
    private static partial Regex VersionAssignment();

    /// <summary>What <c>python3</c> said about <c>import torch</c>: the package folder, or why there is none.</summary>
    public sealed record PythonAnswer(string? TorchDir, string Problem);

    /// <summary>Runs <c>python3 -c "import torch, os; print(os.path.dirname(torch.__file__))"</c> with a 60 s bound.</summary>
    public static PythonAnswer AskPython(string python = "python3")
    {
        var start = new ProcessStartInfo(python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("import torch, os; print(os.path.dirname(torch.__file__))");
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("no process");
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return new PythonAnswer(null, $"'{python}' could not be started ({e.Message})");
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
            {
                process.Kill(entireProcessTree: true);
                return new PythonAnswer(null, $"'{python} -c \"import torch\"' did not finish within 60 s");
            }
            string output = stdout.GetAwaiter().GetResult().Trim();
            if (process.ExitCode != 0 || output.Length == 0)
            {
                string lastLine = stderr.GetAwaiter().GetResult().Trim().Split('\n').LastOrDefault()?.Trim() ?? "";
                return new PythonAnswer(null, $"'{python} -c \"import torch\"' failed ({(lastLine.Length > 0 ? lastLine : $"exit code {process.ExitCode}")})");
            }
            return new PythonAnswer(output.Split('\n').Last().Trim(), "");
        }
    }
}

/// <summary>No LibTorch could be found or loaded; the message names what was tried and what to do.</summary>
public sealed class LibTorchNotFoundException(string message) : Exception(message);
