namespace GppfActors.Actors.Sampling;

/// <summary>Counter-based random numbers: the same key always gives the same value, so draws replay exactly after a resume.</summary>
internal static class Counter
{
    public static ulong Hash(ulong seed, params long[] keys)
    {
        ulong h = Mix(seed ^ 0xD1B54A32D192ED03UL);
        foreach (var k in keys)
        {
            h = Mix(h ^ (ulong)k);
        }
        return h;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public static double Uniform(ulong seed, params long[] keys) => (Hash(seed, keys) >> 11) / (double)(1UL << 53);

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
