using System.CommandLine;
using GppfActors.Host.Commands;
using GppfActors.Host.Gpu;

// Output that goes to a file or a pipe (logs, CI, a supervisor) is read by machines and by grep:
// one line per message, never wrapped at the 80 columns Spectre assumes without a terminal.
if (Console.IsOutputRedirected)
{
    Spectre.Console.AnsiConsole.Profile.Width = 4096;
}

// LibTorch before anything touches TorchSharp (builds made with -p:GppfTorch=system load it from an
// installed PyTorch). The self-test reports a failure here as its first check; every other command
// needs LibTorch and stops with the reason.
TorchStartup.Prepare(args);
if (TorchStartup.Failure is { } failure && !CommandTable.RunsWithoutLibTorch(args))
{
    Console.Error.WriteLine($"gppf: {failure}");
    return 2;
}

var root = new RootCommand("gppf: multi-task perception pre-training (GPPF) on an actor system");
root.Options.Add(TorchStartup.CreateOption());
foreach (var command in CommandTable.All())
{
    root.Subcommands.Add(command);
}
return root.Parse(args).Invoke();
