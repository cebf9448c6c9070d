using System.Reflection;

namespace GppfActors.Testing;

/// <summary>
/// Finds programs that a test project builds (through a ProjectReference whose output path the
/// project file records as assembly metadata) and the dotnet host that runs them.
/// </summary>
public static class BuiltPrograms
{
    /// <summary>The built assembly recorded under <paramref name="key"/> in <paramref name="testAssembly"/>'s metadata.</summary>
    public static string Find(Assembly testAssembly, string key)
    {
        var path = testAssembly.GetCustomAttributes<AssemblyMetadataAttribute>().SingleOrDefault(a => a.Key == key)?.Value;
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
        {
            throw new FileNotFoundException($"{key} was not built where the test project expects it ('{path}')");
        }
        return path;
    }

    /// <summary>The dotnet host: the SDK sets DOTNET_HOST_PATH for processes it starts (dotnet test among them).</summary>
    public static string DotnetHost()
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
        {
            return host;
        }
        var current = Environment.ProcessPath;
        return current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current : "dotnet";
    }
}
