using GppfActors.Tasks.Data;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Tests.Support;

/// <summary>Exact comparison of two task batches, tensor by tensor.</summary>
internal static class BatchAssert
{
    public static void Identical(TaskBatch expected, TaskBatch actual)
    {
        Assert.Equal(expected.SampleIndices, actual.SampleIndices);
        Same(expected.Images, actual.Images);
        Same(expected.ClassTargets, actual.ClassTargets);
        Same(expected.Masks, actual.Masks);
        Same(expected.Depth, actual.Depth);
        Assert.Equal(expected.Boxes?.Count, actual.Boxes?.Count);
        for (var i = 0; i < (expected.Boxes?.Count ?? 0); i++)
        {
            Same(expected.Boxes![i], actual.Boxes![i]);
            Same(expected.BoxLabels![i], actual.BoxLabels![i]);
        }
    }

    /// <summary>Element-wise equality of two same-shaped tensors.</summary>
    public static bool AllEqual(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        return a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
    }

    private static void Same(Tensor? expected, Tensor? actual)
    {
        Assert.Equal(expected is null, actual is null);
        if (expected is not null)
        {
            Assert.Equal(expected.shape, actual!.shape);
            Assert.Equal(expected.dtype, actual.dtype);
            Assert.True(AllEqual(expected, actual), "tensors differ");
        }
    }
}
