using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("GppfActors.Tasks.Tests")]
[assembly: InternalsVisibleTo("GppfActors.Bench.Loader")]
