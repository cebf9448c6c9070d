using GppfActors.Tasks.Data;
using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Formats;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Tests.Support;

/// <summary>
/// Tiny in-memory batches with real signal for every family: on a noisy 32 x 32 image sits one bright
/// square (two for detection and instance segmentation) whose colour channel is its class; the targets follow from it (the
/// class; the square's box and mask; the square's pixels as class c + 1 on background 0 with the first row
/// ignored; a depth of 2 + 2c metres on the square and 8 m elsewhere with a few pixels unmeasured).
/// Deterministic from (seed, step).
/// </summary>
public static class TinyData
{
    public const int Size = 32;

    // Before any test builds a batch (see TorchThreads for why).
    static TinyData() => TorchThreads.LimitToOne();

    public const int NumColours = 3;

    public static TaskDefinition Task(TaskFamily family, int batchSize = 8) => family switch
    {
        TaskFamily.Classification => new TaskDefinition("tiny_cls", family, "memory:squares", NumColours, new InputSize(Size, Size), batchSize)
        {
            Classification = ClassificationOptions.NoMixing,
        },
        TaskFamily.Detection => new TaskDefinition("tiny_det", family, "memory:squares", NumColours, new InputSize(Size, Size), batchSize)
        {
            Detection = new DetectionOptions(FpnChannels: 16, NumTowerConvs: 1),
        },
        TaskFamily.SemanticSegmentation => new TaskDefinition("tiny_seg", family, "memory:squares", NumColours + 1, new InputSize(Size, Size), batchSize)
        {
            Segmentation = new SegmentationOptions(HeadChannels: 16, PoolScales: [1, 2]),
        },
        TaskFamily.Depth => new TaskDefinition("tiny_depth", family, "memory:squares", 0, new InputSize(Size, Size), batchSize)
        {
            Depth = new DepthOptions(HeadChannels: 16, MaxDepthMetres: 12),
        },
        TaskFamily.InstanceSegmentation => new TaskDefinition("tiny_inst", family, "memory:squares", NumColours, new InputSize(Size, Size), batchSize)
        {
            Detection = new DetectionOptions(FpnChannels: 16, NumTowerConvs: 1),
            InstanceSegmentation = new InstanceSegmentationOptions(BranchChannels: 16, NumBranchConvs: 1, MaxInstancesPerImage: 32),
        },
        _ => throw new ArgumentOutOfRangeException(nameof(family), family, "no tiny data for this family"),
    };

    public static TaskBatch Batch(TaskDefinition task, ulong seed, long step)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(seed * 7919 + (ulong)step);
        int b = task.BatchSize;
        var images = randn([b, 3, Size, Size], generator: g) * 0.1f;
        var labels = new long[b];
        var boxes = new List<Tensor>();
        var boxLabels = new List<Tensor>();
        var masks = zeros([b, Size, Size], int64);
        var depth = full([b, 1, Size, Size], 8f);
        int perImage = task.Family is TaskFamily.Detection or TaskFamily.InstanceSegmentation ? 2 : 1;
        var instanceMasks = new List<IReadOnlyList<CroppedMask>>();
        for (int i = 0; i < b; i++)
        {
            var imageBoxes = new List<float>();
            var imageLabels = new List<long>();
            var imageMasks = new List<CroppedMask>();
            for (int k = 0; k < perImage; k++)
            {
                int c = Draw(g, 0, NumColours);
                int side = Draw(g, 8, 15);
                // Detection squares go to opposite halves so they never overlap.
                int x = perImage == 1 ? Draw(g, 0, Size - side + 1) : k * (Size / 2) + Draw(g, 0, Size / 2 - Math.Min(side, Size / 2) + 1);
                int w = Math.Min(side, Size - x);
                int y = Draw(g, 0, Size - side + 1);
                images[i, c, y..(y + side), x..(x + w)] += 2f;
                masks[i, y..(y + side), x..(x + w)] = c + 1;
                imageMasks.Add(new CroppedMask(x, y, w, side, [.. Enumerable.Repeat((byte)1, w * side)]));
                depth[i, 0, y..(y + side), x..(x + w)] = 2f + 2f * c;
                imageBoxes.AddRange([x, y, x + w, y + side]);
                imageLabels.Add(c);
                labels[i] = c;
            }
            boxes.Add(tensor(imageBoxes.ToArray(), [perImage, 4]).DetachFromDisposeScope());
            boxLabels.Add(tensor(imageLabels.ToArray()).DetachFromDisposeScope());
            instanceMasks.Add(imageMasks);
        }
        masks[.., 0, ..] = (long)SegmentationOptions.IgnoreIndex;
        var unmeasured = rand([b, 1, Size, Size], generator: g).lt(0.1);
        depth = where(unmeasured, zeros_like(depth), depth);
        var batch = new TaskBatch
        {
            Images = images.DetachFromDisposeScope(),
            ClassTargets = tensor(labels).DetachFromDisposeScope(),
            Boxes = boxes,
            BoxLabels = boxLabels,
            InstanceMasks = instanceMasks,
            Masks = masks.DetachFromDisposeScope(),
            Depth = depth.DetachFromDisposeScope(),
            SampleIndices = Enumerable.Range(0, b).Select(i => step * b + i).ToArray(),
        };
        return batch;
    }

    private static int Draw(Generator g, int low, int high)
    {
        using var t = randint(low, high, [1], generator: g);
        return (int)t.item<long>();
    }
}
