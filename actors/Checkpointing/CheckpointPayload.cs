using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace GppfActors.Actors.Checkpointing;

/// <summary>
/// Everything an exact resume needs, already copied to host memory at a step boundary so training
/// can go on while a background task writes it; owns its tensors and disposes them.
/// </summary>
/// <remarks>
/// The tensors are detached from every dispose scope: the payload outlives the step that made it and
/// is usually disposed on another thread, where the step's (thread-static) scope does not exist.
/// </remarks>
public sealed class CheckpointPayload : IDisposable
{
    private readonly Dictionary<string, Tensor> _modelState;
    private readonly Dictionary<string, Tensor> _optimizerState;
    private bool _disposed;

    /// <summary>
    /// Takes ownership of CPU tensors that the caller already copied (see <see cref="CopyToHost"/>).
    /// Nothing is taken when an argument is refused, so the caller still owns the tensors then.
    /// </summary>
    /// <exception cref="ArgumentException">A tensor is not on the CPU, or a JSON string is not valid JSON.</exception>
    public CheckpointPayload(
        long step,
        long epoch,
        IReadOnlyDictionary<string, Tensor> modelState,
        IReadOnlyDictionary<string, Tensor> optimizerState,
        string scheduleStateJson,
        string samplerStateJson,
        string configJson,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        ArgumentNullException.ThrowIfNull(modelState);
        ArgumentNullException.ThrowIfNull(optimizerState);
        RequireCpu(modelState, nameof(modelState));
        RequireCpu(optimizerState, nameof(optimizerState));
        ScheduleStateJson = RequireJson(scheduleStateJson, nameof(scheduleStateJson));
        SamplerStateJson = RequireJson(samplerStateJson, nameof(samplerStateJson));
        ConfigJson = RequireJson(configJson, nameof(configJson));

        Step = step;
        Epoch = epoch;
        _modelState = new Dictionary<string, Tensor>(modelState, StringComparer.Ordinal);
        _optimizerState = new Dictionary<string, Tensor>(optimizerState, StringComparer.Ordinal);
        foreach (var tensor in _modelState.Values.Concat(_optimizerState.Values))
        {
            tensor.DetachFromDisposeScope();
        }
        Metadata = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>(), StringComparer.Ordinal);
    }

    /// <summary>The last completed training step.</summary>
    public long Step { get; }

    /// <summary>The membership epoch that step ran in.</summary>
    public long Epoch { get; }

    /// <summary>The model's state dict (parameters and buffers) under PyTorch keys, on the CPU.</summary>
    public IReadOnlyDictionary<string, Tensor> ModelState => NotDisposed(_modelState);

    /// <summary>The optimizer's state dict (momentum, Adam moments, step counts), on the CPU.</summary>
    public IReadOnlyDictionary<string, Tensor> OptimizerState => NotDisposed(_optimizerState);

    /// <summary>The schedule manager's state (LR and temperature schedules and their overrides).</summary>
    public string ScheduleStateJson { get; }

    /// <summary>The task sampler's state: per-task data cursors and RNG state.</summary>
    public string SamplerStateJson { get; }

    /// <summary>The resolved run config, stored with every checkpoint so a resume can check it.</summary>
    public string ConfigJson { get; }

    /// <summary>Free-form facts for people and tools (host, git revision, wall time); not needed to resume.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>
    /// Copies the given state to fresh CPU tensors that the new payload owns; the caller keeps and
    /// may go on mutating its own tensors, which is what lets training continue during the write.
    /// </summary>
    public static CheckpointPayload CopyToHost(
        long step,
        long epoch,
        IReadOnlyDictionary<string, Tensor> modelState,
        IReadOnlyDictionary<string, Tensor> optimizerState,
        string scheduleStateJson,
        string samplerStateJson,
        string configJson,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(modelState);
        ArgumentNullException.ThrowIfNull(optimizerState);
        // The scope frees the detach/cpu intermediates and, if a copy fails part way, the copies
        // made so far; the finished copies are detached from it by the constructor.
        using var scope = NewDisposeScope();
        return new CheckpointPayload(step, epoch, Copy(modelState), Copy(optimizerState), scheduleStateJson, samplerStateJson, configJson, metadata);
    }

    /// <summary>
    /// Copies a replica's model and optimizer state to host memory (see <see cref="CopyToHost"/>)
    /// after checking that every value is finite.
    /// </summary>
    /// <exception cref="NonFiniteStateException">The model or optimizer state holds NaN or infinite values.</exception>
    public static CheckpointPayload FromReplica(
        Model.Training.Replica replica,
        long step,
        long epoch,
        string scheduleStateJson,
        string samplerStateJson,
        string configJson,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(replica);
        // Frees the optimizer's state-dict copies; the payload's own copies are detached.
        using var scope = NewDisposeScope();
        var model = replica.Network.state_dict();
        var optimizer = replica.Optimizer.StateDict();
        var bad = Model.Checkpoints.FiniteCheck.NonFiniteKeys(model).Concat(Model.Checkpoints.FiniteCheck.NonFiniteKeys(optimizer)).ToList();
        if (bad.Count > 0)
        {
            throw new NonFiniteStateException(step, bad);
        }
        var facts = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>(), StringComparer.Ordinal)
        {
            ["backbone"] = replica.Network.Config.Name,
        };
        return CopyToHost(step, epoch, model, optimizer, scheduleStateJson, samplerStateJson, configJson, facts);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        foreach (var tensor in _modelState.Values.Concat(_optimizerState.Values))
        {
            tensor.Dispose();
        }
    }

    private static Dictionary<string, Tensor> Copy(IReadOnlyDictionary<string, Tensor> state)
    {
        var copy = new Dictionary<string, Tensor>(state.Count, StringComparer.Ordinal);
        foreach (var (name, tensor) in state)
        {
            // clone: cpu() of a CPU tensor is the same storage, which training would overwrite.
            copy.Add(name, tensor.detach().cpu().clone());
        }
        return copy;
    }

    private static void RequireCpu(IReadOnlyDictionary<string, Tensor> state, string parameterName)
    {
        foreach (var (name, tensor) in state)
        {
            ArgumentNullException.ThrowIfNull(tensor, parameterName);
            if (tensor.device_type != DeviceType.CPU)
            {
                throw new ArgumentException($"Tensor '{name}' is on {tensor.device}; a checkpoint payload holds host copies only (use CopyToHost)", parameterName);
            }
        }
    }

    private static string RequireJson(string json, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(json, parameterName);
        try
        {
            using var document = JsonDocument.Parse(json);
        }
        catch (JsonException exception)
        {
            throw new ArgumentException($"{parameterName} is not valid JSON: {exception.Message}", parameterName, exception);
        }
        // state.json embeds the value verbatim; whitespace around it is the one thing that would not
        // survive the round trip, so it is dropped here and the payload reads back exactly as held.
        return json.Trim();
    }

    private IReadOnlyDictionary<string, Tensor> NotDisposed(Dictionary<string, Tensor> state)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return state;
    }
}
