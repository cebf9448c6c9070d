using System.Runtime.InteropServices;

namespace GppfActors.Collectives.Native;

/// <summary>What <see cref="LibTorchLoader.Load"/> loaded, in order, and what it found out on the way.</summary>
/// <param name="Installation">Where LibTorch came from.</param>
/// <param name="Loaded">Absolute paths, in load order (LibTorch's libraries, then the wrapper).</param>
/// <param name="HasCudaLibraries">True when <c>libtorch_cuda.so</c> was there and loaded.</param>
/// <param name="VersionNote">Set when the installation's version is not the one the wrapper was built against but every import bound.</param>
public sealed record LibTorchRuntime(PyTorchInstallation Installation, IReadOnlyList<string> Loaded, bool HasCudaLibraries, string? VersionNote);

/// <summary>
/// Loads an installed PyTorch's LibTorch into the process before the first use of TorchSharp, for
/// builds with <c>-p:GppfTorch=system</c> (TorchSharp's package without LibTorch). Absolute paths,
/// dependencies first: once a library of a given soname is in the process, TorchSharp's own loader
/// (which asks for <c>torch_cuda</c> / <c>torch_cpu</c> and <c>LibTorchSharp</c> by name) and the
/// wrapper's DT_NEEDED entries are served by it. The wrapper itself is opened with immediate binding
/// (RTLD_NOW), so a LibTorch that lacks one of its 1,233 imported C++ symbols is refused here with
/// the linker's message instead of killing the process at the first call that needs the symbol.
/// </summary>
public static class LibTorchLoader
{
    /// <summary>LibTorch's libraries in load order; the CUDA ones are optional (a CPU-only PyTorch has none).</summary>
    public static IReadOnlyList<(string File, bool Cuda)> LoadOrder { get; } =
    [
        ("libc10.so", false),
        ("libtorch_cpu.so", false),
        ("libc10_cuda.so", true),
        ("libtorch_cuda.so", true),
        ("libtorch.so", false),
    ];

    /// <summary>TorchSharp's native wrapper.</summary>
    public const string WrapperFile = "libLibTorchSharp.so";

    /// <summary>
    /// PyTorch's library of dependencies (a pip wheel's CUDA libraries in <c>nvidia/*/lib</c>, OpenMP),
    /// which <c>import torch</c> opens with RTLD_GLOBAL before anything else; loaded first when present.
    /// </summary>
    public const string GlobalDepsFile = "libtorch_global_deps.so";

    /// <summary>
    /// The files to load from <paramref name="installation"/>, in order (<see cref="GlobalDepsFile"/>
    /// first where the installation has it, as <c>import torch</c> does); throws
    /// <see cref="LibTorchNotFoundException"/> naming the first missing CPU library. A missing CUDA
    /// library leaves out both CUDA ones (then the process runs on the CPU only).
    /// </summary>
    public static IReadOnlyList<string> Plan(PyTorchInstallation installation, out bool hasCuda)
    {
        hasCuda = LoadOrder.Where(l => l.Cuda).All(l => File.Exists(Path.Combine(installation.LibDir, l.File)));
        var files = new List<string>();
        string globalDeps = Path.Combine(installation.LibDir, GlobalDepsFile);
        if (File.Exists(globalDeps))
        {
            files.Add(globalDeps);
        }
        foreach (var (file, cuda) in LoadOrder)
        {
            string path = Path.Combine(installation.LibDir, file);
            if (cuda && !hasCuda)
            {
                continue;
            }
            if (!File.Exists(path))
            {
                throw new LibTorchNotFoundException($"{installation.Origin}: '{installation.LibDir}' has no {file}, which LibTorch needs");
            }
            files.Add(path);
        }
        return files;
    }

    /// <summary>
    /// The wrapper shipped with this program: beside it, or under <c>runtimes/linux-x64/native</c>
    /// (a build without a runtime identifier); throws if neither has it.
    /// </summary>
    public static string FindWrapper(string appDir)
    {
        string[] candidates =
        [
            Path.Combine(appDir, WrapperFile),
            Path.Combine(appDir, "runtimes", "linux-x64", "native", WrapperFile),
        ];
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new LibTorchNotFoundException($"TorchSharp's native wrapper {WrapperFile} is not in '{appDir}' nor its runtimes/linux-x64/native folder; the program's files are incomplete");
    }

    /// <summary>
    /// Opens <paramref name="wrapperPath"/> with every import resolved now; throws
    /// <see cref="LibTorchBindingException"/> with the linker's message, the LibTorch version found and
    /// the one expected when a symbol or version does not bind.
    /// </summary>
    public static void CheckBinding(string wrapperPath, PyTorchInstallation installation)
    {
        if (DynamicLinker.TryOpen(wrapperPath, DynamicLinker.Now | DynamicLinker.Global, out string? error) == IntPtr.Zero)
        {
            throw new LibTorchBindingException(
                $"TorchSharp's wrapper {wrapperPath} does not bind against the LibTorch in {installation.LibDir} " +
                $"(found {installation.Version} via {installation.Origin}; TorchSharp 0.107 expects LibTorch {PyTorchInstallation.ExpectedVersion}): {error}. " +
                "Use a PyTorch whose LibTorch is " + PyTorchInstallation.ExpectedVersion + ", or build TorchSharp's native wrapper against this PyTorch.");
        }
    }

    /// <summary>What <see cref="Load"/> loaded in this process (null before, and in builds that bring their own LibTorch).</summary>
    public static LibTorchRuntime? Current { get; private set; }

    /// <summary>Loads <paramref name="installation"/>'s LibTorch and the wrapper from <paramref name="appDir"/>, checking that every import binds.</summary>
    public static LibTorchRuntime Load(PyTorchInstallation installation, string appDir)
    {
        var files = Plan(installation, out bool hasCuda);
        foreach (string file in files)
        {
            if (Path.GetFileName(file) == GlobalDepsFile)
            {
                // As torch/__init__.py's _load_global_deps: its DT_NEEDED entries bring in the CUDA
                // libraries of pip's nvidia packages (found through its RUNPATH), so that libtorch_cuda
                // and the libraries they open later by name find them already loaded.
                if (DynamicLinker.TryOpen(file, DynamicLinker.Lazy | DynamicLinker.Global, out string? error) == IntPtr.Zero)
                {
                    throw new LibTorchBindingException($"{file} (LibTorch {installation.Version} via {installation.Origin}) does not load: {error}. " +
                        "It names the libraries PyTorch needs (on a CUDA wheel: pip's nvidia-* packages); install the missing one or reinstall PyTorch.");
                }
                continue;
            }
            try
            {
                NativeLibrary.Load(file);
            }
            catch (DllNotFoundException e)
            {
                throw new LibTorchBindingException($"{file} (LibTorch {installation.Version} via {installation.Origin}) does not load: {e.Message}");
            }
        }
        string wrapper = FindWrapper(appDir);
        CheckBinding(wrapper, installation);
        string? note = PyTorchInstallation.IsExpectedVersion(installation.Version) ? null
            : installation.Version == "unknown"
                ? $"the LibTorch in {installation.LibDir} does not state its version (no torch/version.py or build-version); every import of the wrapper bound"
                : $"LibTorch {installation.Version} is not the {PyTorchInstallation.ExpectedVersion} TorchSharp 0.107 was built against; every import of its wrapper bound, so it runs, but results are not verified with it";
        return Current = new LibTorchRuntime(installation, [.. files, wrapper], hasCuda, note);
    }
}

/// <summary>The LibTorch found does not serve TorchSharp's wrapper (a missing symbol or library version).</summary>
public sealed class LibTorchBindingException(string message) : Exception(message);
