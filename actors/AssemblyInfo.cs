using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("GppfActors.Actors.Tests")]
