using System.CommandLine;
using GppfActors.Host.Commands;

// Output that goes to a file or a pipe (logs, CI, a supervisor) is read by machines and by grep:
// one line per message, never wrapped at the 80 columns Spectre assumes without a terminal.
if (Console.IsOutputRedirected)
{
    Spectre.Console.AnsiConsole.Profile.Width = 4096;
}

var root = new RootCommand("gppf: multi-task perception pre-training (GPPF) on an actor system");
foreach (var command in CommandTable.All())
{
    root.Subcommands.Add(command);
}
return root.Parse(args).Invoke();
