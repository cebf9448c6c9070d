using System.Globalization;
using GppfActors.Actors.Coordinator;
using GppfActors.Actors.Node;
using GppfActors.ClusterConfig.Node;
using GppfActors.Host.Training;

namespace GppfActors.Host.Logging;

/// <summary>
/// The run's events as structured log events (JSON mode): the same moments the terminal shows,
/// each with its values as properties (camelCase; per-task values as objects keyed by task), so a
/// log pipeline can filter and graph them without parsing text.
/// </summary>
internal sealed class RunEventLog(Serilog.ILogger log, ProgressView progress)
{
    public void Write(object e)
    {
        switch (e)
        {
            case LogLine line: log.Information("{message:l}", line.Message); break;
            case NodeLog line: log.Information("{message:l}", line.Line); break;
            case TrainingProgress p when progress.Advance(p) is { } line:
                log.ForContext("loss", line.Loss, destructureObjects: true)
                    .ForContext("epoch", line.Epoch).ForContext("step", line.Done)
                    .Information("step {done}/{maxSteps} eta {etaSeconds:0} s lr {lr:0.0000} tau {tau:0.000} {imagesPerSecond:0} img/s devices {devices}",
                        line.Done, line.MaxSteps, Math.Round(line.Eta.TotalSeconds), line.LearningRate, line.Tau, line.ImagesPerSecond, line.Devices);
                break;
            case StepSkipped s:
                log.ForContext("step", s.Step + 1).ForContext("epoch", s.Epoch).ForContext("nonFiniteTasks", s.NonFiniteTasks, destructureObjects: true)
                    .Warning("step {done} skipped on every device: {nonFiniteRanks} device(s) had non-finite loss or gradients; {consecutive} in a row, {totalSkipped} in total",
                        s.Step + 1, s.NonFiniteRanks, s.Consecutive, s.TotalSkipped);
                break;
            case EvaluationReport r:
                log.ForContext("step", r.Step).ForContext("metrics", r.Metrics, destructureObjects: true)
                    .ForContext("paths", Paths(r), destructureObjects: true).ForContext("failures", r.Failures, destructureObjects: true)
                    .Information("held-out metrics at step {evaluatedAt} ({tasks} task(s), {failed} failed)", r.Step, r.Metrics.Count, r.Failures.Count);
                break;
            case MembershipChanged m:
                log.ForContext("epoch", m.Epoch).Information("epoch {newEpoch}: {worldSize} device(s) - {reason:l}", m.Epoch, m.WorldSize, m.Reason);
                break;
            case NodeStatusChanged n: log.Warning("node {peer:l} {status:l}", n.Node, n.Status); break;
            case ReplicasVerified v:
                log.ForContext("step", v.Step).ForContext("devices", v.Devices, destructureObjects: true)
                    .Information("replicas identical: {replicas} device(s), sha256 {sha256:l}", v.NumReplicas, v.Sha256);
                break;
            case CheckpointSaved c:
                log.ForContext("step", c.Record.Step)
                    .Information("checkpoint step {checkpointStep} committed ({bytes} bytes, {directory:l})", c.Record.Step, c.Record.Bytes, c.Record.Directory);
                break;
            case CheckpointNotSaved n: log.ForContext("step", n.Step).Warning("checkpoint of step {checkpointStep} not saved: {reason:l}", n.Step, n.Reason); break;
            case TrainingFailed f: log.ForContext("step", f.Step).Error("training failed at step {failedAt}: {reason:l}", f.Step, f.Reason); break;
            case TrainingFinished f:
                log.ForContext("step", f.Step).ForContext("metrics", f.FinalMetrics, destructureObjects: true)
                    .ForContext("failures", f.EvaluationFailures, destructureObjects: true)
                    .Information("training finished after {steps} steps; final evaluation failed for {failed} task(s)", f.Step, f.EvaluationFailures.Count);
                break;
            case JobEnded j: log.Information("job ended: {summary:l}", j.Summary); break;
            case NodeRemoved r: log.Error("{reason:l}", r.Reason); break;
        }
    }

    // Each task's arg-max unit per layer, as the terminal's evaluation table shows it.
    private static Dictionary<string, string> Paths(EvaluationReport report) =>
        report.UnitProbabilities.ToDictionary(kv => kv.Key, kv => string.Concat(kv.Value.Select(l =>
            l.Count <= 1 ? "0" : l.Select((p, i) => (p, i)).MaxBy(x => x.p).i.ToString(CultureInfo.InvariantCulture))));
}
