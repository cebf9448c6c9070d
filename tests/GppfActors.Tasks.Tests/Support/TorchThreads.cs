using static TorchSharp.torch;

namespace GppfActors.Tasks.Tests.Support;

/// <summary>
/// One libtorch intra-op thread for every test that trains or builds batches. The test machine has 2 cores shared
/// with other jobs; libtorch's intra-op workers spin while waiting and made a tiny step 10-25x slower there
/// (measured: 22 ms vs 636 ms). The setting is process-wide, so whichever test comes first makes it, and a filtered
/// run that never touches <see cref="TinyData"/> gets it too.
/// </summary>
internal static class TorchThreads
{
    private static readonly Lazy<int> Limited = new(() =>
    {
        set_num_threads(1);
        return 1;
    });

    public static void LimitToOne() => _ = Limited.Value;
}
