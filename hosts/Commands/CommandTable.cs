using System.CommandLine;

namespace GppfActors.Host.Commands;

/// <summary>Every sub-command of <c>gppf</c>, in the order <c>--help</c> lists them.</summary>
internal static class CommandTable
{
    public static IEnumerable<Command> All() =>
    [
        TrainCommand.Create(),
        NodeCommand.Create(),
        InspectCommand.Create(),
        ExportCommand.Create(),
        VersionCommand.Create(),
        SynthCommand.Create(),
        GpuSelfTestCommand.Create(),
    ];

    /// <summary>
    /// True for invocations that must run even when LibTorch could not be loaded: the GPU self-test
    /// (which reports it as a failed check) and plain help.
    /// </summary>
    public static bool RunsWithoutLibTorch(IReadOnlyList<string> args) =>
        args.Count == 0 || args[0] is GpuSelfTestCommand.Name or "--help" or "-h" or "-?";
}
