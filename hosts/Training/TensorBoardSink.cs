using GppfActors.Actors.Coordinator;

namespace GppfActors.Host.Training;

/// <summary>
/// Writes training progress to TensorBoard event files: per-task losses and training metrics, LR,
/// tau, throughput, skipped (non-finite) steps, held-out metrics, and each task's unit-selection
/// probability per layer and unit. Each process writes a new file that starts with a restart marker
/// at its first step, so a resumed run continues the same curves without duplicate steps.
/// </summary>
internal sealed class TensorBoardSink : IDisposable
{
    private readonly EventFileWriter writer;

    public TensorBoardSink(string logDir, long startStep)
    {
        writer = new EventFileWriter(logDir);
        writer.Start(startStep);
    }

    public void Write(TrainingProgress p)
    {
        foreach (var (task, loss) in p.LossPerTask)
        {
            writer.Scalar($"loss/{task}", loss, p.Step);
        }
        foreach (var (name, value) in p.MetricsPerTask)
        {
            writer.Scalar($"train/{name}", value, p.Step);
        }
        writer.Scalar("schedule/lr", p.LearningRate, p.Step);
        writer.Scalar("schedule/tau", p.Tau, p.Step);
        writer.Scalar("throughput/images_per_second", p.Samples / Math.Max(1e-9, p.StepSeconds), p.Step);
        writer.Scalar("throughput/step_seconds", p.StepSeconds, p.Step);
        writer.Scalar("cluster/devices", p.WorldSize, p.Step);
    }

    public void Write(StepSkipped s) => writer.Scalar("train/nonfinite_steps_skipped_total", s.TotalSkipped, s.Step);

    public void Write(EvaluationReport report)
    {
        foreach (var (task, metrics) in report.Metrics)
        {
            foreach (var (name, value) in metrics)
            {
                writer.Scalar($"eval/{task}/{name}", value, report.Step);
            }
        }
        foreach (var (task, layers) in report.UnitProbabilities)
        {
            for (int l = 0; l < layers.Count; l++)
            {
                for (int k = 0; k < layers[l].Count; k++)
                {
                    writer.Scalar($"routing/{task}/layer{l:00}/unit{k}", layers[l][k], report.Step);
                }
            }
        }
    }

    public void Dispose() => writer.Dispose();
}
