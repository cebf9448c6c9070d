using System.Security.Cryptography;
using System.Text;

namespace GppfActors.Tasks.Tests.Support;

/// <summary>One SHA-256 over every file of a directory tree: relative paths (sorted, '/'-separated) and contents.</summary>
internal static class TreeHash
{
    public static string Of(string root)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var files = Directory.GetFiles(root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/'))
            .Order(StringComparer.Ordinal);
        foreach (var relative in files)
        {
            sha.AppendData(Encoding.UTF8.GetBytes(relative + "\n"));
            sha.AppendData(File.ReadAllBytes(Path.Combine(root, relative)));
        }
        return Convert.ToHexString(sha.GetHashAndReset());
    }
}
