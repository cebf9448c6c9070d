using GppfActors.Actors.Coordinator;
using TorchSharp.Modules;
using static TorchSharp.torch.utils;

namespace GppfActors.Host.Training;

/// <summary>
/// Writes training progress to TensorBoard event files: per-task losses and training metrics, LR,
/// tau, throughput, held-out metrics, and each task's unit-selection probability per layer and unit.
/// </summary>
internal sealed class TensorBoardSink(string logDir) : IDisposable
{
    private readonly SummaryWriter writer = tensorboard.SummaryWriter(logDir, createRunName: false);

    public void Write(TrainingProgress p)
    {
        int step = checked((int)p.Step);
        foreach (var (task, loss) in p.LossPerTask)
        {
            writer.add_scalar($"loss/{task}", (float)loss, step);
        }
        foreach (var (name, value) in p.MetricsPerTask)
        {
            writer.add_scalar($"train/{name}", (float)value, step);
        }
        writer.add_scalar("schedule/lr", (float)p.LearningRate, step);
        writer.add_scalar("schedule/tau", (float)p.Tau, step);
        writer.add_scalar("throughput/images_per_second", (float)(p.Samples / Math.Max(1e-9, p.StepSeconds)), step);
        writer.add_scalar("throughput/step_seconds", (float)p.StepSeconds, step);
        writer.add_scalar("cluster/devices", p.WorldSize, step);
    }

    public void Write(EvaluationReport report)
    {
        int step = checked((int)report.Step);
        foreach (var (task, metrics) in report.Metrics)
        {
            foreach (var (name, value) in metrics)
            {
                writer.add_scalar($"eval/{task}/{name}", (float)value, step);
            }
        }
        foreach (var (task, layers) in report.UnitProbabilities)
        {
            for (int l = 0; l < layers.Count; l++)
            {
                for (int k = 0; k < layers[l].Count; k++)
                {
                    writer.add_scalar($"routing/{task}/layer{l:00}/unit{k}", (float)layers[l][k], step);
                }
            }
        }
    }

    public void Dispose()
    {
        // SummaryWriter writes each event as it is added; there is nothing to flush.
    }
}
