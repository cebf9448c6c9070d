using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("GppfActors.Tasks.Tests")]
