using System.CommandLine;
using System.Reflection;
using GppfActors.Host.Gpu;
using TorchSharp;

namespace GppfActors.Host.Commands;

/// <summary><c>gppf version</c>: the program's version and the tensor library it runs on.</summary>
internal static class VersionCommand
{
    public static Command Create()
    {
        var command = new Command("version", "Print the gppf version and the LibTorch build it uses");
        command.SetAction(_ =>
        {
            var version = typeof(VersionCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
            Console.WriteLine($"gppf {version.Split('+')[0]}");
            Console.WriteLine($"libtorch {torch.__version__} ({(torch.cuda.is_available() ? $"CUDA, {torch.cuda.device_count()} device(s)" : "CPU")})");
            Console.WriteLine($"build {TorchStartup.BuildMode}");
            if (TorchStartup.Runtime is { } runtime)
            {
                Console.WriteLine($"libtorch from {runtime.Installation.LibDir} ({runtime.Installation.Origin}, version {runtime.Installation.Version})");
            }
            return 0;
        });
        return command;
    }
}
