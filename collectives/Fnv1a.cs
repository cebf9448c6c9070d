using System.Text;

namespace GppfActors.Collectives;

/// <summary>64-bit FNV-1a: a hash that is the same in every process and on every run, for values compared across processes.</summary>
internal static class Fnv1a
{
    public static ulong Hash(string text)
    {
        ulong hash = 14695981039346656037UL;
        foreach (byte b in Encoding.UTF8.GetBytes(text))
        {
            hash = (hash ^ b) * 1099511628211UL;
        }
        return hash;
    }
}
