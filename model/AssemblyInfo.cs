using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("GppfActors.Model.Tests")]
