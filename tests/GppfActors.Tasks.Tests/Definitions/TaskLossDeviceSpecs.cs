using GppfActors.Model.Backbone;
using GppfActors.Tasks.Data;
using GppfActors.Tasks.Definitions;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Tests.Definitions;

/// <summary>
/// A loss's training statistics live on the output's device: the trainer stacks them into one
/// tensor, which libtorch refuses across devices. The meta device stands in for a GPU (no data,
/// but the same device checks).
/// </summary>
public class TaskLossDeviceSpecs
{
    [Fact]
    public void Should_make_every_classification_statistic_on_the_output_device()
    {
        using var scope = NewDisposeScope();
        var task = new TaskDefinition("shapes_cls", TaskFamily.Classification, "data/cls", 5, new InputSize(32, 32), 4, 1.0);
        var family = TaskFamilies.For(task, BackboneConfig.Tiny());
        var batch = new TaskBatch
        {
            Images = empty([4, 3, 32, 32], device: META),
            ClassTargets = zeros([4], int64, META),
            SampleIndices = [0, 1, 2, 3],
        };
        var output = empty([4, 5], device: META).requires_grad_();

        var loss = family.ComputeLoss(output, TrainingInput.Of(batch));

        Assert.All(loss.Metrics, m => Assert.Equal(TorchSharp.DeviceType.META, m.Value.device_type));
        var stacked = stack(loss.Metrics.Select(m => m.Value.detach().to_type(float64).reshape(1)).ToArray());   // as TaskTrainer does
        Assert.Equal([loss.Metrics.Count, 1], stacked.shape);
    }
}
