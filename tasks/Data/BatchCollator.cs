using GppfActors.Tasks.Formats;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Data;

/// <summary>
/// Stacks augmented samples into a <see cref="TaskBatch"/>. Every tensor is detached from any dispose scope
/// the caller has open, because the batch outlives the step's scope until the caller disposes it.
/// </summary>
public static class BatchCollator
{
    public static TaskBatch Collate(IReadOnlyList<AugmentedSample> samples)
    {
        if (samples.Count == 0)
        {
            throw new ArgumentException("cannot collate an empty batch", nameof(samples));
        }
        int h = samples[0].Height, w = samples[0].Width, n = samples.Count;
        if (samples.Any(s => s.Width != w || s.Height != h))
        {
            throw new ArgumentException($"samples of one batch must share one size; found {string.Join(", ", samples.Select(s => $"{s.Width}x{s.Height}").Distinct())}");
        }
        var plane = h * w;
        var created = new List<Tensor>();
        try
        {
            var images = new float[n * 3 * plane];
            for (var i = 0; i < n; i++)
            {
                samples[i].Image.CopyTo(images, i * 3 * plane);
            }
            var imagesT = Keep(tensor(images, [n, 3, h, w]), created);

            Tensor? classTargets = null;
            if (samples.All(s => s.ClassLabel is not null))
            {
                classTargets = Keep(tensor(samples.Select(s => (long)s.ClassLabel!.Value).ToArray(), [n]), created);
            }

            List<Tensor>? boxes = null, boxLabels = null;
            if (samples.All(s => s.Boxes is not null))
            {
                boxes = [];
                boxLabels = [];
                foreach (var s in samples)
                {
                    var b = s.Boxes!;
                    var coords = b.SelectMany(x => new[] { x.X1, x.Y1, x.X2, x.Y2 }).ToArray();
                    boxes.Add(Keep(tensor(coords, [b.Count, 4]), created));
                    boxLabels.Add(Keep(tensor(b.Select(x => (long)x.Label).ToArray(), [b.Count]), created));
                }
            }

            // Instance masks stay cropped host objects; the loss expands the ones it trains on (MaskTargets.Expand).
            IReadOnlyList<CroppedMask>[]? instanceMasks = null;
            if (samples.All(s => s.InstanceMasks is not null))
            {
                instanceMasks = [.. samples.Select(s => s.InstanceMasks!)];
            }

            Tensor? masks = null;
            if (samples.All(s => s.Mask is not null))
            {
                var labels = new long[n * plane];
                for (var i = 0; i < n; i++)
                {
                    var m = samples[i].Mask!;
                    for (var p = 0; p < plane; p++)
                    {
                        labels[i * plane + p] = m[p];
                    }
                }
                masks = Keep(tensor(labels, [n, h, w]), created);
            }

            Tensor? depth = null;
            if (samples.All(s => s.Depth is not null))
            {
                var metres = new float[n * plane];
                for (var i = 0; i < n; i++)
                {
                    samples[i].Depth!.CopyTo(metres, i * plane);
                }
                depth = Keep(tensor(metres, [n, 1, h, w]), created);
            }

            return new TaskBatch
            {
                Images = imagesT,
                ClassTargets = classTargets,
                Boxes = boxes,
                BoxLabels = boxLabels,
                InstanceMasks = instanceMasks,
                Masks = masks,
                Depth = depth,
                SampleIndices = [.. samples.Select(s => s.SampleIndex)],
            };
        }
        catch
        {
            foreach (var t in created)
            {
                t.Dispose();
            }
            throw;
        }
    }

    private static Tensor Keep(Tensor t, List<Tensor> created)
    {
        created.Add(t);
        return t.DetachFromDisposeScope();
    }
}
