using GppfActors.Tasks.Data;
using Xunit;

namespace GppfActors.Tasks.Tests.Data;

public class SeedMixerSpecs
{
    [Fact]
    public void Should_give_the_recorded_stream_when_seeded_with_a_fixed_tuple()
    {
        // Golden values: if these change, every synthetic data set and every augmentation replay changes,
        // so SyntheticDatasetWriter.GeneratorVersion must be bumped with them.
        var random = SeedMixer.CreateRandom(1, 2, 3);

        Assert.Equal(GoldenMix, SeedMixer.Mix(1, 2, 3));
        Assert.Equal(GoldenDraws, new[] { random.Next(1000), random.Next(1000), random.Next(1000) });
    }

    [Fact]
    public void Should_separate_streams_when_any_part_or_the_order_of_parts_differs()
    {
        var mixes = new[]
        {
            SeedMixer.Mix(1, 2, 3), SeedMixer.Mix(1, 2, 4), SeedMixer.Mix(1, 3, 2), SeedMixer.Mix(2, 2, 3),
            SeedMixer.Mix(1, 2), SeedMixer.Mix(1, 2, 3, 0), SeedMixer.Mix(0), SeedMixer.Mix(),
        };

        Assert.Equal(mixes.Length, mixes.Distinct().Count());
    }

    // The mix was cross-checked against an independent Python implementation of the same SplitMix64 chain.
    private const ulong GoldenMix = 8946099157182655218;

    private static readonly int[] GoldenDraws = [956, 361, 437];
}
