using GppfActors.Model.Backbone;
using GppfActors.Model.Network;
using GppfActors.Tasks.Data;
using GppfActors.Tasks.Heads;
using GppfActors.Tasks.Losses;
using GppfActors.Tasks.Metrics;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Definitions;

/// <summary>
/// Instance segmentation in the CondInst style: the detection family's FCOS head and losses, plus per
/// positive location a dynamic mask head whose parameters that location predicts, trained with dice
/// loss against its box's mask. Evaluation decodes detections as detection does and gives each kept
/// one its mask (probability at least the threshold, upsampled to the input); reports COCO mask AP
/// (AP, AP50, AP75) and box AP (box_AP, box_AP50, box_AP75).
/// </summary>
/// <remarks>
/// CondInst rather than Mask R-CNN's RoIAlign mask head: the TorchVision .NET package (0.107) has no
/// roi_align, the dynamic head needs no RoI sampling or proposals and sits directly on the one-stage
/// detection head the project already has, and its masks are predicted at a fixed stride over the
/// whole image, so they follow the augmentation's warp as the boxes do with nothing to re-align.
/// </remarks>
internal sealed class InstanceSegmentationFamily(TaskDefinition task, BackboneConfig backbone) : ITaskFamily
{
    public TaskDefinition Task { get; } = task;

    private DetectionOptions Detection => Task.Detection;

    private InstanceSegmentationOptions Mask => Task.InstanceSegmentation;

    public TaskHeadSpec CreateHeadSpec()
    {
        var strides = FcosLayout.LevelStrides(backbone, Detection);
        return new(Task.Name, (channels, generator) => new CondInstHead(channels, strides, Task.NumClasses, Detection, Mask, generator));
    }

    public TrainingInput PrepareTraining(TaskBatch batch, Generator generator) => TrainingInput.Of(batch);

    public TaskLoss ComputeLoss(Tensor output, TrainingInput input)
    {
        var batch = input.Batch;
        var boxes = batch.Boxes ?? throw new ArgumentException($"{Task.Key}: an instance segmentation batch needs Boxes");
        var labels = batch.BoxLabels ?? throw new ArgumentException($"{Task.Key}: an instance segmentation batch needs BoxLabels");
        var masks = batch.InstanceMasks ?? throw new ArgumentException($"{Task.Key}: an instance segmentation batch needs InstanceMasks");
        var layout = Layout(input.Images);
        var (detection, parameters, features) = layout.Split(output);
        var targets = FcosTargetAssigner.Assign(layout.Detection, boxes, labels, output.device);
        var terms = FcosLoss.Compute(detection, targets, Task.NumClasses, Detection);
        var (mask, numInstances) = InstanceMaskLoss.Compute(layout, parameters, features, masks, targets);
        return new TaskLoss(terms.Total + Mask.MaskLossWeight * mask, [
            new NamedScalar("loss_cls", terms.Classification.detach()),
            new NamedScalar("loss_box", terms.Box.detach()),
            new NamedScalar("loss_ctr", terms.Centerness.detach()),
            new NamedScalar("loss_mask", mask.detach()),
            new NamedScalar("num_pos", terms.NumPositives),
            new NamedScalar("num_mask", tensor((float)numInstances, device: output.device)),
        ]);
    }

    public ITaskEvaluator CreateEvaluator() => new Evaluator(this);

    private InstanceMaskLayout Layout(Tensor images) => new(
        FcosLayout.For(backbone, Detection, new InputSize((int)images.shape[2], (int)images.shape[3])), Task.NumClasses, Mask, Detection.SizeRangeScale);

    /// <summary>COCO mask AP and box AP of an instance segmentation task.</summary>
    private sealed class Evaluator(InstanceSegmentationFamily family) : ITaskEvaluator
    {
        private readonly CocoMaskEvaluator masks = new(family.Detection.MaxDetections);
        private readonly CocoBoxEvaluator boxes = new(family.Detection.MaxDetections);

        public void Update(Tensor output, TaskBatch batch)
        {
            var gtBoxes = batch.Boxes ?? throw new ArgumentException("an instance segmentation batch needs Boxes");
            var gtLabels = batch.BoxLabels ?? throw new ArgumentException("an instance segmentation batch needs BoxLabels");
            var gtMasks = batch.InstanceMasks ?? throw new ArgumentException("an instance segmentation batch needs InstanceMasks");
            var layout = family.Layout(batch.Images);
            var decoded = InstanceMaskDecoder.Decode(output, layout, family.Detection);
            for (int b = 0; b < decoded.Count; b++)
            {
                var labels = Labels(gtLabels[b]);
                var truth = gtMasks[b].Select(m => m.ToBinaryMask((int)batch.Images.shape[3], (int)batch.Images.shape[2])).ToArray();
                masks.AddImage([.. truth.Select((m, i) => (m, labels[i]))], [.. decoded[b].Select(d => (d.Mask, d.Detection.Label, d.Detection.Score))]);
                boxes.AddImage(GroundTruthBoxes(gtBoxes[b], labels), [.. decoded[b].Select(d => d.Detection)]);
            }
        }

        public IReadOnlyDictionary<string, double> Report()
        {
            var mask = masks.Report();
            var box = boxes.Report();
            return new Dictionary<string, double>
            {
                ["AP"] = mask.AP,
                ["AP50"] = mask.AP50,
                ["AP75"] = mask.AP75,
                ["box_AP"] = box.AP,
                ["box_AP50"] = box.AP50,
                ["box_AP75"] = box.AP75,
            };
        }

        private static int[] Labels(Tensor labels) =>
            labels.shape[0] == 0 ? [] : [.. labels.cpu().data<long>().ToArray().Select(l => (int)l)];   // data<T>() rejects empty tensors

        private static GroundTruthBox[] GroundTruthBoxes(Tensor boxes, int[] labels)
        {
            if (labels.Length == 0)
            {
                return [];
            }
            using var scope = NewDisposeScope();
            var b = boxes.to_type(float64).cpu().data<double>().ToArray();                  // [n*4]
            return [.. labels.Select((label, i) => new GroundTruthBox(new Box(b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]), label))];
        }
    }
}
