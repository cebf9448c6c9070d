using GppfActors.Model.Network;
using GppfActors.Model.Optim;
using GppfActors.Tasks.Definitions;
using GppfActors.Tasks.Tests.Support;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Tests.Training;

// Shapes: B batch, H x W image.

/// <summary>
/// The depth family keeps learning under the experiments' recipe (SGD, momentum 0.9, lr 0.05) when most ground
/// truth lies beyond the depth cap, as on the synthetic set (background 12-18 m, cap 10 m). A head of the form
/// sigmoid(x) * cap, trained towards depths past the cap, saturated there: its gradient vanished and every image got
/// the same depth. Here the cap is 5 m and the tiny data has 8 m background (most pixels), 6 m squares (also past
/// the cap) and 2 m and 4 m squares, the only measurements in range.
/// </summary>
public class DepthSgdTrainingSpecs(ITestOutputHelper output)
{
    private const double CapMetres = 5;

    private static readonly TaskDefinition Task = TinyData.Task(TaskFamily.Depth) with
    {
        Depth = new DepthOptions(HeadChannels: 16, MaxDepthMetres: CapMetres),
    };

    [Fact]
    public void Should_keep_learning_in_range_depths_when_most_ground_truth_lies_beyond_the_cap()
    {
        using var training = new TinyTraining(Task, learningRate: 0.05, optimizer: new OptimizerConfig(OptimizerKind.Sgd, Momentum: 0.9, WeightDecay: 1e-4));
        var losses = new List<double>();
        for (int step = 0; step < 80; step++)
        {
            var result = training.Step(step);
            Assert.True(double.IsFinite(result.Loss), $"step {step}: loss {result.Loss}");
            losses.Add(result.Loss);
        }
        double first = losses.Take(10).Average(), last = losses.TakeLast(10).Average();

        var (near, far, spread) = HeldOutPredictions(training.Replica.Network);

        output.WriteLine($"loss {first:F4} -> {last:F4}; held out: 2 m squares {near:F3} m, 4 m squares {far:F3} m, std over in-range pixels {spread:F3} m");
        Assert.True(last < 0.7 * first, $"the loss did not fall: mean of the first 10 steps {first:F4}, of the last 10 {last:F4}");
        // The in-range truth (2 m and 4 m) has a spread of about 1 m; a saturated head gives every pixel the cap.
        Assert.True(spread > 0.2, $"predictions over in-range pixels barely differ (std {spread:F4} m)");
        Assert.True(near < 0.8 * far, $"2 m squares predicted at {near:F3} m, 4 m squares at {far:F3} m: the order of the truth is not learned");
        Assert.True(far < 0.95 * CapMetres, $"4 m squares predicted at {far:F3} m, at the {CapMetres} m cap");
    }

    /// <summary>
    /// On held-out tiny batches in evaluation mode: the mean predicted depth over pixels measured at 2 m, over pixels
    /// measured at 4 m, and the standard deviation of the predictions over both.
    /// </summary>
    private static (double Near, double Far, double Spread) HeldOutPredictions(GppfNetwork network)
    {
        network.eval();
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var predicted = new List<Tensor>();
        var truth = new List<Tensor>();
        for (int i = 0; i < 2; i++)
        {
            using var batch = TinyData.Batch(Task, 99, i);
            predicted.Add(network.Forward(Task.Name, batch.Images, RouteRequest.Eval));      // [B, 1, H, W]
            truth.Add(batch.Depth!.clone());                                                 // [B, 1, H, W]
        }
        var p = cat(predicted, 0).reshape(-1);                                               // [2 B H W]
        var g = cat(truth, 0).reshape(-1);                                                   // [2 B H W]
        var nearMask = g.eq(2f);
        var farMask = g.eq(4f);
        var inRange = nearMask.logical_or(farMask);
        double near = p.masked_select(nearMask).mean().item<float>();
        double far = p.masked_select(farMask).mean().item<float>();
        double spread = p.masked_select(inRange).std().item<float>();
        return (near, far, spread);
    }
}
