using GppfActors.Collectives.Native;
using Xunit;

namespace GppfActors.Collectives.Tests;

/// <summary>
/// Finding and loading an installed PyTorch's LibTorch for -p:GppfTorch=system builds: where it is
/// looked for, what is loaded in which order, which version is read, and the immediate-binding
/// check of TorchSharp's wrapper (against the LibTorch this test process runs on, and against files
/// that cannot bind).
/// </summary>
public sealed class LibTorchLoaderSpecs : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("gppf-torchlib-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>A pip-style layout: site-packages/torch/{lib, version.py} and site-packages/nvidia/*/lib.</summary>
    private string PipTorch(string version, bool cuda, params string[] nvidiaLibs)
    {
        string site = Path.Combine(_root, "site-packages");
        string lib = Directory.CreateDirectory(Path.Combine(site, "torch", "lib")).FullName;
        foreach (string file in new[] { "libc10.so", "libtorch_cpu.so", "libtorch.so" }.Concat(cuda ? ["libc10_cuda.so", "libtorch_cuda.so"] : []))
        {
            File.WriteAllText(Path.Combine(lib, file), "");
        }
        File.WriteAllText(Path.Combine(site, "torch", "version.py"), $"from typing import Optional\n\n__version__ = '{version}'\ndebug = False\ncuda: Optional[str] = '13.0'\n");
        foreach (string relative in nvidiaLibs)
        {
            string path = Path.Combine(site, "nvidia", relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, "");
        }
        return lib;
    }

    private static PyTorchInstallation.PythonAnswer NoPython() => new(null, "'python3 -c \"import torch\"' failed (ModuleNotFoundError: No module named 'torch')");

    [Fact]
    public void Should_prefer_the_option_then_the_environment_variable_then_python()
    {
        string lib = PipTorch("2.11.0+cu130", cuda: true);
        bool asked = false;
        PyTorchInstallation.PythonAnswer Ask()
        {
            asked = true;
            return new(Path.GetDirectoryName(lib), "");
        }
        var fromOption = PyTorchInstallation.Locate(lib, _ => "/nonexistent", Ask);
        Assert.Equal("--torch-lib", fromOption.Origin);
        var fromEnvironment = PyTorchInstallation.Locate(null, name => name == "GPPF_TORCH_LIB" ? lib : null, Ask);
        Assert.Equal("GPPF_TORCH_LIB", fromEnvironment.Origin);
        Assert.False(asked);
        var fromPython = PyTorchInstallation.Locate(null, _ => null, Ask);
        Assert.True(asked);
        Assert.Equal(lib, fromPython.LibDir);
        Assert.Equal("2.11.0+cu130", fromPython.Version);
    }

    [Fact]
    public void Should_say_what_was_tried_and_what_to_do_when_no_pytorch_is_found()
    {
        var error = Assert.Throws<LibTorchNotFoundException>(() => PyTorchInstallation.Locate(null, _ => null, NoPython));
        Assert.Contains("GPPF_TORCH_LIB", error.Message);
        Assert.Contains("No module named 'torch'", error.Message);
        Assert.Contains("--torch-lib", error.Message);
        var notThere = Assert.Throws<LibTorchNotFoundException>(() => PyTorchInstallation.Locate(Path.Combine(_root, "missing"), _ => null, NoPython));
        Assert.Contains("does not exist", notThere.Message);
        var notTorch = Assert.Throws<LibTorchNotFoundException>(() => PyTorchInstallation.Locate(_root, _ => null, NoPython));
        Assert.Contains("libtorch_cpu.so", notTorch.Message);
    }

    [Fact]
    public void Should_report_a_real_python_without_torch_as_a_problem_not_a_crash()
    {
        var answer = PyTorchInstallation.AskPython(Path.Combine(_root, "no-such-python"));
        Assert.Null(answer.TorchDir);
        Assert.Contains("could not be started", answer.Problem);
    }

    [Fact]
    public void Should_load_dependencies_first_and_the_cuda_libraries_only_when_both_are_there()
    {
        string lib = PipTorch("2.11.0+cu130", cuda: true);
        var plan = LibTorchLoader.Plan(PyTorchInstallation.FromLibDir(lib, "test"), out bool hasCuda);
        Assert.True(hasCuda);
        Assert.Equal(["libc10.so", "libtorch_cpu.so", "libc10_cuda.so", "libtorch_cuda.so", "libtorch.so"], plan.Select(Path.GetFileName));
        File.Delete(Path.Combine(lib, "libc10_cuda.so"));
        var cpuOnly = LibTorchLoader.Plan(PyTorchInstallation.FromLibDir(lib, "test"), out hasCuda);
        Assert.False(hasCuda);
        Assert.Equal(["libc10.so", "libtorch_cpu.so", "libtorch.so"], cpuOnly.Select(Path.GetFileName));
        File.Delete(Path.Combine(lib, "libtorch.so"));
        var error = Assert.Throws<LibTorchNotFoundException>(() => LibTorchLoader.Plan(PyTorchInstallation.FromLibDir(lib, "test"), out _));
        Assert.Contains("libtorch.so", error.Message);
    }

    [Fact]
    public void Should_load_pytorchs_global_dependencies_first_when_the_installation_has_them()
    {
        string lib = PipTorch("2.11.0+cu130", cuda: true);
        File.WriteAllText(Path.Combine(lib, LibTorchLoader.GlobalDepsFile), "");
        var plan = LibTorchLoader.Plan(PyTorchInstallation.FromLibDir(lib, "test"), out _);
        Assert.Equal(["libtorch_global_deps.so", "libc10.so", "libtorch_cpu.so", "libc10_cuda.so", "libtorch_cuda.so", "libtorch.so"], plan.Select(Path.GetFileName));
    }

    [Fact]
    public void Should_refuse_global_dependencies_that_do_not_load_naming_the_file_and_the_linkers_reason()
    {
        string lib = PipTorch("2.11.0+cu130", cuda: true);
        File.WriteAllText(Path.Combine(lib, LibTorchLoader.GlobalDepsFile), "not a shared object");
        var error = Assert.Throws<LibTorchBindingException>(() => LibTorchLoader.Load(PyTorchInstallation.FromLibDir(lib, "test"), AppContext.BaseDirectory));
        Assert.Contains(Path.Combine(lib, LibTorchLoader.GlobalDepsFile), error.Message);
        Assert.Contains("nvidia", error.Message);
        Assert.Null(LibTorchLoader.Current);   // nothing was loaded, nothing recorded
    }

    [Fact]
    public void Should_read_the_version_from_version_py_or_a_libtorch_archives_build_version()
    {
        string lib = PipTorch("2.10.0+cu128", cuda: false);
        Assert.Equal("2.10.0+cu128", PyTorchInstallation.ReadVersion(lib));
        Assert.True(PyTorchInstallation.IsExpectedVersion("2.10.0+cu128"));
        Assert.False(PyTorchInstallation.IsExpectedVersion("2.11.0+cu130"));
        string archive = Directory.CreateDirectory(Path.Combine(_root, "libtorch", "lib")).FullName;
        File.WriteAllText(Path.Combine(_root, "libtorch", "build-version"), "2.10.0+cpu\n");
        Assert.Equal("2.10.0+cpu", PyTorchInstallation.ReadVersion(archive));
        Assert.Equal("unknown", PyTorchInstallation.ReadVersion(Directory.CreateDirectory(Path.Combine(_root, "bare", "lib")).FullName));
    }

    [Fact]
    public void Should_find_nccl_and_the_cuda_runtime_in_pips_nvidia_folders()
    {
        string lib = PipTorch("2.11.0+cu130", cuda: true, "nccl/lib/libnccl.so.2", "cuda_runtime/lib/libcudart.so.13");
        var installation = PyTorchInstallation.FromLibDir(lib, "test");
        Assert.Equal(Path.Combine(_root, "site-packages", "nvidia", "nccl", "lib", "libnccl.so.2"), installation.FindLibrary("libnccl.so"));
        Assert.Equal(Path.Combine(_root, "site-packages", "nvidia", "cuda_runtime", "lib", "libcudart.so.13"), installation.FindLibrary("libcudart.so"));
        Assert.Null(installation.FindLibrary("libcublasLt.so"));
        // A copy in torch/lib comes first.
        File.WriteAllText(Path.Combine(lib, "libnccl.so.2"), "");
        Assert.Equal(Path.Combine(lib, "libnccl.so.2"), installation.FindLibrary("libnccl.so"));
    }

    [Fact]
    public void Should_bind_every_import_of_the_wrapper_against_the_libtorch_it_was_built_for()
    {
        // The wrapper beside the tests, opened with RTLD_NOW | RTLD_GLOBAL against TorchSharp-cpu's
        // LibTorch 2.10: the check must find it and pass quietly. (This process loaded the wrapper
        // already, lazily, at start-up, so the linker does not resolve its imports again here; the
        // refusal below is what shows a failed open is reported.)
        string wrapper = LibTorchLoader.FindWrapper(AppContext.BaseDirectory);
        Assert.Equal("libLibTorchSharp.so", Path.GetFileName(wrapper));
        Assert.True(File.Exists(wrapper), wrapper);
        var installation = new PyTorchInstallation(Path.GetDirectoryName(wrapper)!, "2.10.0+cpu", "test");
        var exception = Record.Exception(() => LibTorchLoader.CheckBinding(wrapper, installation));
        Assert.Null(exception);
    }

    [Fact]
    public void Should_refuse_a_wrapper_that_does_not_bind_naming_the_version_found_and_expected()
    {
        string notElf = Path.Combine(_root, "libLibTorchSharp.so");
        File.WriteAllText(notElf, "not a shared object");
        var installation = new PyTorchInstallation(_root, "2.11.0+cu130", "python3 -c 'import torch'");
        var error = Assert.Throws<LibTorchBindingException>(() => LibTorchLoader.CheckBinding(notElf, installation));
        Assert.Contains("found 2.11.0+cu130", error.Message);
        Assert.Contains("expects LibTorch 2.10.0", error.Message);
        Assert.Contains(notElf, error.Message); // the linker's own message names the file
        Assert.Contains("runtimes/linux-x64/native", Assert.Throws<LibTorchNotFoundException>(() => LibTorchLoader.FindWrapper(Path.Combine(_root, "none"))).Message);
    }
}
