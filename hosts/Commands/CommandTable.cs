using System.CommandLine;

namespace GppfActors.Host.Commands;

/// <summary>Every sub-command of <c>gppf</c>, in the order <c>--help</c> lists them.</summary>
internal static class CommandTable
{
    public static IEnumerable<Command> All() =>
    [
        TrainCommand.Create(),
        FinetuneCommand.Create(),
        NodeCommand.Create(),
        InspectCommand.Create(),
        ExportCommand.Create(),
        EvalCommand.Create(),
        AnalyzeCommand.Create(),
        VersionCommand.Create(),
        SynthCommand.Create(),
        DatasetsCommand.Create(),
        GpuSelfTestCommand.Create(),
    ];

    /// <summary>
    /// True for invocations that must run even when LibTorch could not be loaded: the GPU self-test
    /// (which reports it as a failed check) and plain help.
    /// </summary>
    public static bool RunsWithoutLibTorch(IReadOnlyList<string> args)
    {
        for (int i = 0; i < args.Count; i++)
        {
            if (args[i] == Gpu.TorchStartup.TorchLibOptionName)
            {
                i++; // its value
                continue;
            }
            if (args[i].StartsWith(Gpu.TorchStartup.TorchLibOptionName + "=", StringComparison.Ordinal))
            {
                continue;
            }
            // The first other word decides: the self-test or a request for help.
            return args[i] is GpuSelfTestCommand.Name or "--help" or "-h" or "-?";
        }
        return true; // no command: help
    }
}
