namespace GppfActors.Tasks.Training;

/// <summary>
/// Seeds for per-step random generators, derived from (run seed, step, rank, purpose) by SplitMix64
/// mixing: the same inputs give the same seed on any thread or machine, and different purposes
/// (augmentation, shuffling, ...) get unrelated streams.
/// </summary>
public static class StepSeeds
{
    /// <summary>Purpose tag of the train step's batch-level augmentation (mixup/cutmix).</summary>
    public const ulong Augmentation = 0x6175676D656E74UL;   // "augment"

    /// <summary>The seed for <paramref name="purpose"/> at (<paramref name="seed"/>, <paramref name="step"/>, <paramref name="rank"/>).</summary>
    public static ulong For(ulong seed, long step, int rank, ulong purpose)
    {
        ulong h = Mix(seed ^ 0xBB67AE8584CAA73BUL);
        h = Mix(h ^ (ulong)step);
        h = Mix(h ^ (uint)rank);
        return Mix(h ^ purpose);
    }

    // SplitMix64 finaliser: a bijective mix with good avalanche.
    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
