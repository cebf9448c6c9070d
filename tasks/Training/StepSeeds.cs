using GppfActors.Model.Randomness;

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
        ulong h = SplitMix64.Next(seed ^ 0xBB67AE8584CAA73BUL);
        h = SplitMix64.Next(h ^ (ulong)step);
        h = SplitMix64.Next(h ^ (uint)rank);
        return SplitMix64.Next(h ^ purpose);
    }
}
