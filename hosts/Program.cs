using System.CommandLine;
using GppfActors.Host.Commands;

var root = new RootCommand("gppf: multi-task perception pre-training (GPPF) on an actor system");
foreach (var command in CommandTable.All())
{
    root.Subcommands.Add(command);
}
return root.Parse(args).Invoke();
