using GppfActors.Model.Backbone;
using GppfActors.Model.Network;
using GppfActors.Tasks.Data;
using GppfActors.Tasks.Heads;
using GppfActors.Tasks.Losses;
using GppfActors.Tasks.Metrics;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Definitions;

/// <summary>
/// Detection with a one-stage FCOS head over a small FPN on the last stages: FCOS target
/// assignment, focal + GIoU + centerness losses; evaluation decodes (score threshold, top-k,
/// class-wise NMS) and reports COCO-style AP, AP50 and AP75.
/// </summary>
/// <remarks>
/// The paper's detection tasks use Mask R-CNN / Faster R-CNN; a one-stage head gives the same
/// backbone training signal (dense, multi-scale, box-level) at a fraction of the code and compute,
/// which suits this project's CPU-first scale. Instance segmentation (<see cref="InstanceSegmentationFamily"/>)
/// builds on this head with a CondInst-style dynamic mask head.
/// </remarks>
internal sealed class DetectionFamily(TaskDefinition task, BackboneConfig backbone) : ITaskFamily
{
    public TaskDefinition Task { get; } = task;

    private DetectionOptions Options => Task.Detection;

    public TaskHeadSpec CreateHeadSpec()
    {
        var strides = FcosLayout.LevelStrides(backbone, Options);
        return new(Task.Name, (channels, generator) => new FcosHead(channels, strides, Task.NumClasses, Options, generator));
    }

    public TrainingInput PrepareTraining(TaskBatch batch, Generator generator) => TrainingInput.Of(batch);

    public TaskLoss ComputeLoss(Tensor output, TrainingInput input)
    {
        var batch = input.Batch;
        var boxes = batch.Boxes ?? throw new ArgumentException($"{Task.Key}: a detection batch needs Boxes");
        var labels = batch.BoxLabels ?? throw new ArgumentException($"{Task.Key}: a detection batch needs BoxLabels");
        var layout = Layout(input.Images);
        CheckOutput(output, layout);
        var targets = FcosTargetAssigner.Assign(layout, boxes, labels, output.device);
        var terms = FcosLoss.Compute(output, targets, Task.NumClasses, Options);
        return new TaskLoss(terms.Total, [
            new NamedScalar("loss_cls", terms.Classification.detach()),
            new NamedScalar("loss_box", terms.Box.detach()),
            new NamedScalar("loss_ctr", terms.Centerness.detach()),
            new NamedScalar("num_pos", terms.NumPositives),
        ]);
    }

    public ITaskEvaluator CreateEvaluator() => new Evaluator(this);

    private FcosLayout Layout(Tensor images) =>
        FcosLayout.For(backbone, Options, new InputSize((int)images.shape[2], (int)images.shape[3]));

    private void CheckOutput(Tensor output, FcosLayout layout)
    {
        if (output.dim() != 3 || output.shape[1] != layout.NumLocations || output.shape[2] != Task.NumClasses + 5)
        {
            throw new ArgumentException(
                $"{Task.Key}: head output [{string.Join(", ", output.shape)}] does not match the layout for {layout.ImageSize} " +
                $"([B, {layout.NumLocations}, {Task.NumClasses + 5}]); was the head built for another backbone?");
        }
    }

    /// <summary>COCO box AP of a detection task.</summary>
    private sealed class Evaluator(DetectionFamily family) : ITaskEvaluator
    {
        private readonly CocoBoxEvaluator coco = new(family.Options.MaxDetections);

        public void Update(Tensor output, TaskBatch batch)
        {
            var boxes = batch.Boxes ?? throw new ArgumentException("a detection batch needs Boxes");
            var labels = batch.BoxLabels ?? throw new ArgumentException("a detection batch needs BoxLabels");
            var layout = family.Layout(batch.Images);
            family.CheckOutput(output, layout);
            var detections = FcosDecoder.Decode(output, layout, family.Task.NumClasses, family.Options);
            for (int b = 0; b < detections.Count; b++)
            {
                coco.AddImage(GroundTruth(boxes[b], labels[b]), detections[b]);
            }
        }

        public IReadOnlyDictionary<string, double> Report()
        {
            var report = coco.Report();
            return new Dictionary<string, double> { ["AP"] = report.AP, ["AP50"] = report.AP50, ["AP75"] = report.AP75 };
        }

        private static GroundTruthBox[] GroundTruth(Tensor boxes, Tensor labels)
        {
            if (labels.shape[0] == 0)
            {
                return [];                                                                  // data<T>() rejects empty tensors
            }
            using var scope = NewDisposeScope();
            var b = boxes.to_type(float64).cpu().data<double>().ToArray();                  // [n*4]
            var l = labels.cpu().data<long>().ToArray();                                    // [n]
            return l.Select((label, i) => new GroundTruthBox(new Box(b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]), (int)label)).ToArray();
        }
    }
}
