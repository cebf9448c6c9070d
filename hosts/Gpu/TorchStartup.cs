using System.CommandLine;
using GppfActors.Collectives.Native;

namespace GppfActors.Host.Gpu;

/// <summary>
/// Makes LibTorch ready before any command touches TorchSharp. In a <c>-p:GppfTorch=system</c> build
/// it locates an installed PyTorch (<c>--torch-lib DIR</c>, <c>GPPF_TORCH_LIB</c>, else
/// <c>python3</c>) and loads its LibTorch with every import of the wrapper bound; in the other builds
/// TorchSharp's package brings LibTorch and there is nothing to do. Runs once, from Program, on the
/// raw arguments: the option must act before parsing builds commands whose defaults may use torch.
/// </summary>
internal static class TorchStartup
{
    /// <summary>The option's name; accepted by every sub-command.</summary>
    public const string TorchLibOptionName = "--torch-lib";

    /// <summary>True in builds that take LibTorch from an installed PyTorch.</summary>
    public const bool IsSystemTorchBuild =
#if GPPF_SYSTEM_TORCH
        true;
#else
        false;
#endif

    /// <summary>The build mode as <c>-p:GppfTorch</c> names it.</summary>
    public const string BuildMode =
#if GPPF_SYSTEM_TORCH
        "system";
#elif GPPF_CUDA
        "cuda";
#else
        "cpu";
#endif

    /// <summary>What was loaded (system builds, after a successful <see cref="Prepare"/>).</summary>
    public static LibTorchRuntime? Runtime { get; private set; }

    /// <summary>Why LibTorch is not usable, one line; null when it is.</summary>
    public static string? Failure { get; private set; }

    /// <summary>The recursive <c>--torch-lib</c> option, so that the parser accepts what <see cref="Prepare"/> already read.</summary>
    public static Option<string> CreateOption() => new(TorchLibOptionName)
    {
        Description = "LibTorch's library folder (a PyTorch installation's torch/lib) for builds made with -p:GppfTorch=system; default: $GPPF_TORCH_LIB, else python3's torch",
        Recursive = true,
    };

    /// <summary>Locates and loads LibTorch as the build requires; sets <see cref="Failure"/> instead of throwing.</summary>
    public static void Prepare(IReadOnlyList<string> args)
    {
        string? torchLib = ValueOf(args, TorchLibOptionName);
#if GPPF_SYSTEM_TORCH
        try
        {
            var installation = PyTorchInstallation.Locate(torchLib, Environment.GetEnvironmentVariable, () => PyTorchInstallation.AskPython());
            Runtime = LibTorchLoader.Load(installation, AppContext.BaseDirectory);
        }
        catch (Exception e) when (e is LibTorchNotFoundException or LibTorchBindingException)
        {
            Failure = e.Message;
        }
#else
        if (torchLib is not null)
        {
            Failure = $"{TorchLibOptionName}: this build brings its own LibTorch (build mode {BuildMode}); a LibTorch of an installed PyTorch is used only by builds made with -p:GppfTorch=system";
        }
#endif
    }

    /// <summary>The value of <paramref name="name"/> in <c>name VALUE</c> or <c>name=VALUE</c> form; null when absent.</summary>
    public static string? ValueOf(IReadOnlyList<string> args, string name)
    {
        for (int i = 0; i < args.Count; i++)
        {
            if (args[i] == name)
            {
                return i + 1 < args.Count ? args[i + 1] : "";
            }
            if (args[i].StartsWith(name + "=", StringComparison.Ordinal))
            {
                return args[i][(name.Length + 1)..];
            }
        }
        return null;
    }
}
