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
    ];
}
