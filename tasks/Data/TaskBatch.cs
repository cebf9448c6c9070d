using GppfActors.Tasks.Formats;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Data;

/// <summary>
/// One device's batch of one task, as the loader hands it to the train step. Images are always
/// [B, 3, H, W] float32, normalised; which targets are set depends on the task family. The batch
/// owns its tensors (they are detached from every dispose scope) until it is disposed.
/// </summary>
public sealed class TaskBatch : IDisposable
{
    /// <summary>Normalised images, [B, 3, H, W] float32.</summary>
    public required Tensor Images { get; init; }

    /// <summary>Classification: class indices [B] int64, or soft targets [B, K] float32 after mixup/cutmix.</summary>
    public Tensor? ClassTargets { get; init; }

    /// <summary>Detection: per image, boxes [n, 4] float32 as (x1, y1, x2, y2) in input pixels.</summary>
    public IReadOnlyList<Tensor>? Boxes { get; init; }

    /// <summary>Detection: per image, box class indices [n] int64.</summary>
    public IReadOnlyList<Tensor>? BoxLabels { get; init; }

    /// <summary>
    /// Instance segmentation: per image, one mask per box of <see cref="Boxes"/>, each cropped to its window in input
    /// pixels. Host objects, not tensors: the loss expands only the masks of boxes it trains on, at the logits'
    /// resolution and on the predictions' device (<c>InstanceMaskLoss.Compute</c> through <c>MaskTargets.Expand</c>);
    /// evaluation expands them to whole-image masks.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<CroppedMask>>? InstanceMasks { get; init; }

    /// <summary>Semantic segmentation: class per pixel [B, H, W] int64, 255 = ignore.</summary>
    public Tensor? Masks { get; init; }

    /// <summary>Depth: metres per pixel [B, 1, H, W] float32, 0 = no measurement.</summary>
    public Tensor? Depth { get; init; }

    /// <summary>Dataset indices of the samples, in batch order.</summary>
    public required IReadOnlyList<long> SampleIndices { get; init; }

    /// <summary>Number of samples.</summary>
    public int Count => SampleIndices.Count;

    /// <summary>
    /// The batch on <paramref name="device"/> (a GPU), as a new batch that owns its copies (the caller
    /// disposes both); null when <paramref name="device"/> is the CPU, where the batch already is. The
    /// instance masks are shared, not copied: they are immutable host objects that the loss expands and moves
    /// to the device itself.
    /// </summary>
    public TaskBatch? CopyTo(Device device)
    {
        if (device.type == TorchSharp.DeviceType.CPU)
        {
            return null;
        }
        // From page-locked memory the copy is queued on the device's stream and the host goes on; the
        // caching host allocator keeps the pinned block until the copy has read it, so disposing this
        // batch right after is safe.
        bool pinned = IsPinned;
        return Copy(t => t.to(device, non_blocking: pinned), pinned: false);
    }

    /// <summary>True when the tensors are in page-locked host memory (<see cref="Pinned"/>).</summary>
    public bool IsPinned { get; private init; }

    /// <summary>A copy of this batch in page-locked host memory (needs CUDA); the caller disposes both.</summary>
    public TaskBatch Pinned() => Copy(t => t.pin_memory(), pinned: true);

    // A new batch of copy(t) for every tensor, owning them (all released if one copy fails); the
    // instance masks are host objects and are shared.
    private TaskBatch Copy(Func<Tensor, Tensor> copy, bool pinned)
    {
        var made = new List<Tensor>();
        Tensor One(Tensor t)
        {
            var c = copy(t).DetachFromDisposeScope();
            made.Add(c);
            return c;
        }
        IReadOnlyList<Tensor>? All(IReadOnlyList<Tensor>? list) => list is null ? null : [.. list.Select(One)];
        try
        {
            return new TaskBatch
            {
                Images = One(Images),
                ClassTargets = ClassTargets is null ? null : One(ClassTargets),
                Boxes = All(Boxes),
                BoxLabels = All(BoxLabels),
                InstanceMasks = InstanceMasks,
                Masks = Masks is null ? null : One(Masks),
                Depth = Depth is null ? null : One(Depth),
                SampleIndices = SampleIndices,
                IsPinned = pinned,
            };
        }
        catch
        {
            made.ForEach(t => t.Dispose());
            throw;
        }
    }

    public void Dispose()
    {
        Images.Dispose();
        ClassTargets?.Dispose();
        Masks?.Dispose();
        Depth?.Dispose();
        foreach (var t in Boxes ?? [])
        {
            t.Dispose();
        }
        foreach (var t in BoxLabels ?? [])
        {
            t.Dispose();
        }
    }
}
