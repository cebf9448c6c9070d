using TorchSharp;

namespace GppfActors.Collectives;

/// <summary>
/// How one dtype's tensors of a call are cut into ring passes: a large tensor is reduced in its
/// own memory, in windows of at most a bucket; runs of smaller tensors are packed together into
/// buckets. Every rank derives the same plan from the tensor sizes (which the operation's
/// signature carries), so every rank runs the same passes.
/// </summary>
internal static class ReducePlan
{
    /// <summary>One pass: elements [Start, Start + Count) of the concatenation; Tensor is set when they lie in that one tensor.</summary>
    public sealed record Window(long Start, long Count, torch.Tensor? Tensor, long TensorOffset);

    public static List<Window> Of(IReadOnlyList<torch.Tensor> tensors, int elementSize, int bucketBytes, int directMinBytes)
    {
        long bucketElements = bucketBytes / elementSize;
        var windows = new List<Window>();
        long offset = 0;
        long packedStart = 0;
        long packedCount = 0;
        foreach (var t in tensors)
        {
            long n = t.numel();
            if (n * elementSize >= directMinBytes)
            {
                FlushPacked();
                for (long s = 0; s < n; s += bucketElements)
                {
                    windows.Add(new Window(offset + s, Math.Min(bucketElements, n - s), t, s));
                }
                packedStart = offset + n;
            }
            else
            {
                if (packedCount == 0)
                {
                    packedStart = offset;
                }
                packedCount += n;
                if (packedCount >= bucketElements)
                {
                    FlushPacked();
                    packedStart = offset + n;
                }
            }
            offset += n;
        }
        FlushPacked();
        return windows;

        void FlushPacked()
        {
            for (long s = 0; s < packedCount; s += bucketElements)
            {
                windows.Add(new Window(packedStart + s, Math.Min(bucketElements, packedCount - s), null, 0));
            }
            packedCount = 0;
        }
    }
}
